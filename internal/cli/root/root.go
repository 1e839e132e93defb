// Package root assembles the goimmich command tree and runs it: global
// flags, error printing and exit codes.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/internal/cli/apicmd"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/completion"
	"github.com/goimmich/goimmich/internal/cli/demo"
	"github.com/goimmich/goimmich/internal/cli/download"
	"github.com/goimmich/goimmich/internal/cli/export"
	"github.com/goimmich/goimmich/internal/cli/fakeserver"
	"github.com/goimmich/goimmich/internal/cli/login"
	"github.com/goimmich/goimmich/internal/cli/logout"
	"github.com/goimmich/goimmich/internal/cli/server"
	"github.com/goimmich/goimmich/internal/cli/upload"
	"github.com/goimmich/goimmich/internal/cli/version"
	"github.com/goimmich/goimmich/internal/cli/whoami"
)

// NewCmdRoot returns the goimmich command with every subcommand.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "goimmich <command> [flags]",
		Short: "Upload to and download from Immich, and call any of its API operations",
		Long: `goimmich is a single-binary client for Immich, the self-hosted photo and
video server: upload folders (the official CLI's flags), download originals,
thumbnails and albums, and call any API operation.

Try it with no server at hand:  goimmich demo

Credentials: --url and --key, else IMMICH_INSTANCE_URL and IMMICH_API_KEY,
else the profile saved by "goimmich login", else the official Immich CLI's
auth.yml.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version.Resolve(f.Version),
	}
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetIn(f.IOStreams.In)
	cmd.SetVersionTemplate("goimmich {{.Version}}\n")
	// -V, as the official CLI's (cobra would take -v).
	cmd.Flags().BoolP("version", "V", false, "Print goimmich's version")
	pf := cmd.PersistentFlags()
	pf.StringVarP(&f.FlagURL, "url", "u", "", "Immich server URL (env IMMICH_INSTANCE_URL)")
	pf.StringVarP(&f.FlagKey, "key", "k", "", "Immich API key (env IMMICH_API_KEY)")
	pf.StringVar(&f.Profile, "profile", "", "Saved profile to use (env GOIMMICH_PROFILE; default: the current one)")
	pf.StringVar(&f.ConfigDirectory, "config-directory", "", "Folder of the official CLI's auth.yml (env IMMICH_CONFIG_DIR; default ~/.config/immich)")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: err}
	})

	cmd.AddCommand(
		login.NewCmdLogin(f, nil),
		logout.NewCmdLogout(f, nil),
		whoami.NewCmdWhoami(f, nil),
		server.NewCmdServer(f, nil),
		apicmd.NewCmdAPI(f, nil),
		version.NewCmdVersion(f, nil),
		completion.NewCmdCompletion(f, nil),
		upload.NewCmdUpload(f, nil),
		download.NewCmdDownload(f, nil),
		export.NewCmdExport(f, nil),
		fakeserver.NewCmdFakeServer(f, nil),
		demo.NewCmdDemo(f, nil),
	)
	cmd.CompletionOptions.DisableDefaultCmd = true
	return cmd
}

// Main runs goimmich with args (without the program name) and returns the
// exit code. SIGINT and SIGTERM cancel the command's context: commands stop
// cleanly and report what they did.
func Main(f *cmdutil.Factory, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, f, args)
}

// Run is Main with a given context.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	cmd := NewCmdRoot(f)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	code := cmdutil.ExitFailure
	var exit *cmdutil.ExitError
	if errors.As(err, &exit) {
		code = exit.Code
		if exit.Err == nil {
			return code
		}
	}
	msg := f.Redact(err.Error())
	fmt.Fprintf(f.IOStreams.ErrOut, "goimmich: %s\n", msg)
	var flagErr *cmdutil.FlagError
	if errors.As(err, &flagErr) {
		fmt.Fprintln(f.IOStreams.ErrOut, "Run with --help for usage.")
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(f.IOStreams.ErrOut, "Interrupted.")
	}
	return code
}
