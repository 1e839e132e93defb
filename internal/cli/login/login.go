// Package login is "goimmich login URL KEY": check an API key against a
// server and save both in our config file (mode 0600).
package login

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/config"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
)

// Options is one run of "login".
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	URL     string
	Key     string // "-" reads it from standard input
	Profile string
}

// NewCmdLogin returns the "login" command. runF, when set, replaces loginRun
// (tests).
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	return &cobra.Command{
		Use:     "login URL KEY",
		Aliases: []string{"login-key"},
		Short:   "Check an API key and save it for later commands",
		Long: `Check that KEY is a valid API key at the Immich server URL (GET /users/me),
then save both, with mode 0600, in goimmich's config file (in the user
config folder, e.g. ~/.config/goimmich/config.yml) under the profile named
by --profile ("default" otherwise).

Give KEY as - to read it from standard input, so it stays out of your shell
history. Create a key in Immich under Account Settings > API Keys.`,
		Example: `  goimmich login https://photos.example.com 7Zp…
  pass immich/key | goimmich login http://nas:2283 -
  goimmich --profile work login https://work.example.com -`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.URL, opts.Key, opts.Profile = args[0], args[1], f.Profile
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
}

func loginRun(ctx context.Context, opts *Options) error {
	key := opts.Key
	if key == "-" {
		line, err := bufio.NewReader(opts.IO.In).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the API key from standard input: %w", err)
		}
		key = strings.TrimSpace(line)
	}
	if key == "" {
		return cmdutil.FlagErrorf("empty API key; create one in Immich under Account Settings > API Keys")
	}
	c, err := opts.Factory.NewClient(opts.URL, key)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	me, err := cmdutil.CheckLogin(ctx, c)
	if err != nil {
		return err
	}
	paths, err := opts.Factory.ConfigPaths()
	if err != nil {
		return err
	}
	profile := opts.Profile
	if profile == "" {
		profile = config.DefaultProfile
	}
	if err := config.SetProfile(paths.Ours, profile, opts.URL, key); err != nil {
		return errors.Join(errors.New("the key works but could not be saved"), err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Logged in to %s as %s <%s>; saved as profile %q in %s\n",
		opts.URL, me.Name, me.Email, profile, paths.Ours)
	return nil
}
