package upload

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/wrapper"
)

// parse runs the upload command's flag parsing with args and returns the
// Options its run would get, or the parsing error.
func parse(t *testing.T, env map[string]string, args ...string) (*Options, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	cache := t.TempDir()
	f := &cmdutil.Factory{IOStreams: ios, Getenv: func(k string) string {
		if k == "XDG_CACHE_HOME" {
			return cache
		}
		return env[k]
	}}
	var got *Options
	cmd := NewCmdUpload(f, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	err := cmd.Execute()
	return got, err
}

// The flags reach the library's options: no -r is NonRecursive (the
// official CLI's default), the command keeps a hash cache unless told not
// to, and --skip-server-deleted is passed on.
func TestFlagsToLibraryOptions(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		env   map[string]string
		check func(wrapper.UploadOptions) bool
	}{
		{[]string{"dir"}, nil, func(u wrapper.UploadOptions) bool {
			return u.NonRecursive && strings.HasSuffix(u.HashCache.Path, filepath.Join("goimmich", "hashes.db")) && !u.SkipServerDeleted
		}},
		{[]string{"-r", "--skip-server-deleted", "dir"}, nil, func(u wrapper.UploadOptions) bool {
			return !u.NonRecursive && u.SkipServerDeleted && u.HashCache.Path != ""
		}},
		{[]string{"dir"}, map[string]string{"IMMICH_RECURSIVE": "true"}, func(u wrapper.UploadOptions) bool { return !u.NonRecursive }},
		{[]string{"--no-cache", "dir"}, nil, func(u wrapper.UploadOptions) bool { return u.HashCache.Path == "" }},
		{[]string{"--recheck-after", "24h", "dir"}, nil, func(u wrapper.UploadOptions) bool {
			return u.HashCache.Path != "" && u.HashCache.RecheckAfter == 24*time.Hour
		}},
		{[]string{"dir"}, nil, func(u wrapper.UploadOptions) bool { return u.HashCache.RecheckAfter == 0 }},
		{[]string{"--skip-hash", "dir"}, nil, func(u wrapper.UploadOptions) bool { return u.HashCache.Path == "" && u.SkipDuplicateCheck }},
	} {
		o, err := parse(t, tc.env, tc.args...)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if u := libraryOptions(o); !tc.check(u) {
			t.Fatalf("%q (env %v): options %+v", tc.args, tc.env, u)
		}
	}
}

// --recheck-after is a flag error, naming the conflict, when negative, without
// the cache, and with the options that need the server's answer of this
// run.
func TestRecheckAfterConflicts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--recheck-after", "-1h"}, "want a duration of 0 or more"},
		{[]string{"--recheck-after", "1h", "--no-cache"}, "drop --no-cache and --skip-hash"},
		{[]string{"--recheck-after", "1h", "--skip-hash"}, "drop --no-cache and --skip-hash"},
		{[]string{"--recheck-after", "1h", "--delete"}, "with --delete or --delete-duplicates"},
		{[]string{"--recheck-after", "1h", "--delete-duplicates"}, "with --delete or --delete-duplicates"},
		{[]string{"--recheck-after", "1h", "--restore-trashed"}, "with --restore-trashed"},
	} {
		o, err := parse(t, nil, append(tc.args, "dir")...)
		var fe *cmdutil.FlagError
		if o != nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%q: options %v, err %v; want a flag error saying %q", tc.args, o, err, tc.want)
		}
	}
}

// --skip-server-deleted needs the cache: with --no-cache or --skip-hash it
// is a flag error naming the remedy, before anything runs.
func TestSkipServerDeletedNeedsCache(t *testing.T) {
	for _, flag := range []string{"--no-cache", "--skip-hash"} {
		o, err := parse(t, nil, "--skip-server-deleted", flag, "dir")
		var fe *cmdutil.FlagError
		if o != nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), "drop --no-cache and --skip-hash") {
			t.Fatalf("%s: options %v, err %v", flag, o, err)
		}
	}
}
