// Package version is "goimmich version": goimmich's release, the commit and
// date it was built from, and the Immich release whose API it was generated
// from.
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

// commit and date are set by the release build (.goreleaser.yaml):
//
//	-X github.com/goimmich/goimmich/internal/cli/version.commit=FULL_SHA
//	-X github.com/goimmich/goimmich/internal/cli/version.date=RFC3339
//
// with the release itself in main.version. Builds without them (go install,
// go build) fall back to the build information the Go toolchain records.
var commit, date string

// Info is what a goimmich binary knows of how it was built.
type Info struct {
	// Release is the version: the tag of a release build, the module
	// version of "go install ...@v1.2.3", else "dev" (with the commit when
	// known: "dev-0123456789ab").
	Release string
	// Commit is the full VCS revision, empty when unknown.
	Commit string
	// Date is when that commit was made (or the release built), RFC 3339,
	// empty when unknown.
	Date string
	// Modified is true when the binary was built from a tree with
	// uncommitted changes.
	Modified bool
}

// Current returns the running binary's Info: release (main.version, set by
// the release build) and the commit and date the release build set, each
// filled from runtime/debug.ReadBuildInfo when not set.
func Current(release string) Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(release, commit, date, bi)
}

// resolve fills what the release build did not set from bi (nil when the
// binary has no build information).
func resolve(release, commit, date string, bi *debug.BuildInfo) Info {
	in := Info{Release: release, Commit: commit, Date: date}
	if in.Release == "dev" {
		in.Release = ""
	}
	if bi == nil {
		if in.Release == "" {
			in.Release = "dev"
		}
		return in
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if in.Commit == "" {
				in.Commit = s.Value
			}
		case "vcs.time":
			if in.Date == "" {
				in.Date = s.Value
			}
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	if in.Release == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		in.Release = bi.Main.Version
	}
	if in.Release == "" {
		in.Release = "dev"
		if in.Commit != "" {
			in.Release += "-" + in.Commit[:min(12, len(in.Commit))]
			if in.Modified {
				in.Release += "-dirty"
			}
		}
	}
	return in
}

// Resolve returns the release string of Current(v): v, or what the Go
// toolchain recorded when v is empty or "dev".
func Resolve(v string) string { return Current(v).Release }

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

func versionRun(opts *Options) error {
	in := Current(opts.Version)
	commit, date := in.Commit, in.Date
	if commit == "" {
		commit = "unknown"
	} else if in.Modified {
		commit += " (modified)"
	}
	if date == "" {
		date = "unknown"
	}
	fmt.Fprintf(opts.IO.Out, "goimmich %s\ncommit %s\ndate %s\n%s %s/%s\nImmich API %s (pinned OpenAPI spec)\n",
		in.Release, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH, apicmd.ImmichVersion)
	return nil
}
