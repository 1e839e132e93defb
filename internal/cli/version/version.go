// Package version is "goimmich version": goimmich's own version and the
// Immich release whose API it was generated from.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/internal/cli/apicmd"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
)

// Options is one run of "version".
type Options struct {
	IO      *iostreams.IOStreams
	Version string
}

// NewCmdVersion returns the "version" command. runF, when set, replaces
// versionRun (tests).
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Version: f.Version}
	return &cobra.Command{
		Use:   "version",
		Short: "Print goimmich's version and the pinned Immich release",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

// Resolve returns v, or the module version and VCS revision the binary was
// built from when v is empty or "dev".
func Resolve(v string) string {
	if v != "" && v != "dev" {
		return v
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

func versionRun(opts *Options) error {
	fmt.Fprintf(opts.IO.Out, "goimmich %s (%s, %s/%s)\nImmich API %s (pinned OpenAPI spec)\n",
		Resolve(opts.Version), runtime.Version(), runtime.GOOS, runtime.GOARCH, apicmd.ImmichVersion)
	return nil
}
