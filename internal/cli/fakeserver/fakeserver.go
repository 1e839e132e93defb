// Package fakeserver is "goimmich fake-server": the immichtest fake Immich
// server as a standalone process, for trying goimmich (or any Immich client)
// without a real server.
package fakeserver

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
)

// Options is one run of "fake-server".
type Options struct {
	IO   *iostreams.IOStreams
	Addr string
	Data string
	Spec string
	// Ready, when set, is called with the running server (tests).
	Ready func(*immichtest.Server)
}

// NewCmdFakeServer returns the "fake-server" command.
func NewCmdFakeServer(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "fake-server",
		Short: "Run a fake Immich server (immichtest) until Ctrl-C",
		Long: `Run immichtest, the fake Immich server goimmich is tested against, as a
standalone server on a loopback address. It checks every request and answer
against the Immich OpenAPI spec, keeps everything in memory (uploaded files
in --data DIR if given) and starts with one admin user.

It prints its URL and API key on standard output as two lines,
IMMICH_INSTANCE_URL=... and IMMICH_API_KEY=..., ready to export in a shell
or read from a script; other goimmich commands then use them. It stops on
Ctrl-C (SIGINT) or SIGTERM.`,
		Example: `  goimmich fake-server
  goimmich fake-server --addr 127.0.0.1:2283 --data /tmp/immich-data
  goimmich fake-server --spec immich-openapi-specs-2.3.1.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return fakeServerRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:2283", "Address to listen on (port 0 picks a free one)")
	cmd.Flags().StringVar(&opts.Data, "data", "", "Store uploaded files in this folder instead of memory")
	cmd.Flags().StringVar(&opts.Spec, "spec", "", "Immich OpenAPI spec (JSON) to validate against instead of the pinned one")
	return cmd
}

// Start starts an immichtest server with the options; it turns the
// server's panics (address in use, unreadable spec) into errors.
func Start(addr, data, spec string) (s *immichtest.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starting the fake server: %v", r)
		}
	}()
	var o []immichtest.Option
	if addr != "" {
		o = append(o, immichtest.WithAddr(addr))
	}
	if data != "" {
		o = append(o, immichtest.WithDataDir(data))
	}
	if spec != "" {
		o = append(o, immichtest.WithSpecFile(spec))
	}
	return immichtest.NewServer(o...), nil
}

func fakeServerRun(ctx context.Context, opts *Options) error {
	s, err := Start(opts.Addr, opts.Data, opts.Spec)
	if err != nil {
		return fmt.Errorf("%w (is another server on %s? choose another --addr, or port 0)", err, opts.Addr)
	}
	defer s.Close()
	fmt.Fprintf(opts.IO.Out, "IMMICH_INSTANCE_URL=%s\nIMMICH_API_KEY=%s\n", s.URL(), s.APIKey())
	fmt.Fprintf(opts.IO.ErrOut, "Fake Immich %s server running at %s (admin %s / %s). Ctrl-C stops it.\n",
		s.SpecVersion(), s.URL(), immichtest.DefaultEmail, immichtest.DefaultPassword)
	if f, ok := opts.IO.Out.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	if opts.Ready != nil {
		opts.Ready(s)
	}
	<-ctx.Done()
	fmt.Fprintln(opts.IO.ErrOut, "Stopping the fake server.")
	return nil
}
