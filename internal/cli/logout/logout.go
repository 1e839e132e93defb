// Package logout is "goimmich logout": forget a saved profile.
package logout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/config"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
)

// Options is one run of "logout".
type Options struct {
	IO      *iostreams.IOStreams
	Paths   func() (config.Paths, error)
	Profile string
}

// NewCmdLogout returns the "logout" command.
func NewCmdLogout(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Paths: f.ConfigPaths}
	return &cobra.Command{
		Use:   "logout",
		Short: "Remove the saved URL and API key of a profile",
		Long: `Remove the saved URL and API key of the current profile (or --profile) from
goimmich's config file. The official Immich CLI's auth.yml is never
touched: remove it with "immich logout".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Profile = f.Profile
			if runF != nil {
				return runF(opts)
			}
			return logoutRun(opts)
		},
	}
}

func logoutRun(opts *Options) error {
	paths, err := opts.Paths()
	if err != nil {
		return err
	}
	removed, err := config.RemoveProfile(paths.Ours, opts.Profile)
	if err != nil {
		return err
	}
	name := opts.Profile
	if name == "" {
		name = "current"
	}
	if removed {
		fmt.Fprintf(opts.IO.ErrOut, "Removed the %s profile from %s\n", name, paths.Ours)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "No %s profile saved in %s; nothing to do\n", name, paths.Ours)
	}
	if paths.Official != "" {
		if _, err := os.Stat(paths.Official); err == nil {
			fmt.Fprintf(opts.IO.ErrOut, "Note: the official CLI's %s still holds a key, which goimmich uses when it has none of its own; remove it with \"immich logout\"\n", paths.Official)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
