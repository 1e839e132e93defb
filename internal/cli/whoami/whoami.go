// Package whoami is "goimmich whoami": the user the API key belongs to.
package whoami

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
)

// Options is one run of "whoami".
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	JSON    bool
}

// NewCmdWhoami returns the "whoami" command.
func NewCmdWhoami(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the server and user the credentials belong to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return whoamiRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "Print the user as JSON (UserAdminResponseDto)")
	return cmd
}

func whoamiRun(ctx context.Context, opts *Options) error {
	c, creds, err := opts.Factory.Client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	me, err := cmdutil.CheckLogin(ctx, c)
	if err != nil {
		return fmt.Errorf("%w (credentials from %s)", err, creds.Source)
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, me)
	}
	role := "user"
	if me.IsAdmin {
		role = "admin"
	}
	fmt.Fprintf(opts.IO.Out, "%s <%s> (%s, id %s)\nserver %s\ncredentials from %s\n", me.Name, me.Email, role, me.Id, creds.URL, creds.Source)
	return nil
}
