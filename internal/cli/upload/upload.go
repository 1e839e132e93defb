// Package upload is "goimmich upload": files and folders into Immich, with
// the official CLI's flag names, meanings and exit codes.
package upload

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/wrapper"
)

// Options is one run of "upload".
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory

	Paths            []string
	Recursive        bool
	Ignore           []string
	SkipHash         bool
	IncludeHidden    bool
	AlbumPerFolder   bool
	AlbumName        string
	Visibility       string
	DryRun           bool
	Concurrency      int
	JSON             bool
	Delete           bool
	DeleteDuplicates bool
	NoProgress       bool
	RestoreTrashed   bool
	NoCache          bool
	// SkipServerDeleted: see wrapper.UploadOptions.SkipServerDeleted.
	SkipServerDeleted bool
	// RecheckAfter: see wrapper.HashCacheOptions.RecheckAfter.
	RecheckAfter time.Duration
	Watch        WatchFlags // --watch and its options (watch.go)
}

// NewCmdUpload returns the "upload" command. runF, when set, replaces
// uploadRun (tests).
func NewCmdUpload(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "upload [paths...]",
		Short: "Upload files and folders (the official CLI's flags)",
		Long: `Upload files and folders to Immich, each file exactly once: files are
hashed (SHA-1) and checked with the server in batches, so what it already
has is not sent again, and a re-run only reports duplicates.

Flags have the official Immich CLI's names and meanings, and can be set by
its environment variables too (IMMICH_RECURSIVE, IMMICH_IGNORE_PATHS,
IMMICH_SKIP_HASH, IMMICH_INCLUDE_HIDDEN, IMMICH_AUTO_CREATE_ALBUM,
IMMICH_ALBUM_NAME, IMMICH_VISIBILITY, IMMICH_DRY_RUN,
IMMICH_UPLOAD_CONCURRENCY, IMMICH_JSON_OUTPUT, IMMICH_DELETE_ASSETS,
IMMICH_DELETE_DUPLICATES, IMMICH_PROGRESS_BAR=false); a flag on the command
line wins. Without --recursive only the files directly in each folder are
taken.

A re-run does not read unchanged files again: their checksums come from
the hash cache (in the user cache folder; --no-cache turns it off). It still
asks the server about every file, so an asset deleted there is uploaded
again. --recheck-after 24h trusts instead what the server confirmed within
the last 24 hours: a nightly run over a large, unchanged library then asks
the server nothing about those files.

Exit codes: 0 every file uploaded or already on the server; 1 the run could
not start (bad URL, wrong key, server down: the message says which and what
to do); 2 the run finished but some files failed (or it was interrupted:
Ctrl-C stops cleanly and reports what was done).

With --json-output (-j) standard output holds only the UploadResult JSON:
{"uploaded": [...], "rejected": [...], "failed": [...], "stats": {...}}.
Progress bars are drawn on a terminal only; otherwise a one-line summary
goes to standard error.`,
		Example: `  goimmich upload -r ~/Pictures/2024
  goimmich upload -r -A "Holidays" -c 8 /mnt/phone/DCIM
  goimmich upload -r -j . > result.json
  goimmich upload -r -i '**/@eaDir/**' -i '*.tmp' /volume1/photo`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("give at least one file or folder to upload")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if err := applyEnv(cmd, f.Getenv); err != nil {
				return err
			}
			if opts.Visibility != "" {
				switch api.AssetVisibility(opts.Visibility) {
				case api.AssetVisibilityArchive, api.AssetVisibilityHidden, api.AssetVisibilityLocked, api.AssetVisibilityTimeline:
				default:
					return cmdutil.FlagErrorf("--visibility %q: want archive, timeline, hidden or locked", opts.Visibility)
				}
			}
			if opts.Concurrency < 1 {
				return cmdutil.FlagErrorf("--concurrency must be at least 1")
			}
			if opts.SkipServerDeleted && (opts.NoCache || opts.SkipHash) {
				return cmdutil.FlagErrorf("--skip-server-deleted needs the hash cache's memory of past uploads: drop --no-cache and --skip-hash")
			}
			switch {
			case opts.RecheckAfter < 0:
				return cmdutil.FlagErrorf("--recheck-after %s: want a duration of 0 or more, such as 24h", opts.RecheckAfter)
			case opts.RecheckAfter > 0 && (opts.NoCache || opts.SkipHash):
				return cmdutil.FlagErrorf("--recheck-after needs the hash cache's memory of past uploads: drop --no-cache and --skip-hash")
			case opts.RecheckAfter > 0 && (opts.Delete || opts.DeleteDuplicates):
				return cmdutil.FlagErrorf("--recheck-after can't be used with --delete or --delete-duplicates: a local file is deleted only on the server's word of this run")
			case opts.RecheckAfter > 0 && opts.RestoreTrashed:
				return cmdutil.FlagErrorf("--recheck-after can't be used with --restore-trashed: only the server's answer of this run says which assets are in the trash")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.Watch.Enabled {
				return watchRun(cmd.Context(), opts)
			}
			return uploadRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Recursive, "recursive", "r", false, "Walk folders recursively")
	fl.StringArrayVarP(&opts.Ignore, "ignore", "i", nil, "Glob of paths to skip, doublestar syntax (repeatable)")
	fl.BoolVar(&opts.SkipHash, "skip-hash", false, "Don't hash files before upload (the server still refuses duplicates)")
	fl.BoolVarP(&opts.IncludeHidden, "include-hidden", "H", false, "Include hidden files and folders")
	fl.BoolVarP(&opts.AlbumPerFolder, "album", "a", false, "Add assets to albums named after their folder, created when missing")
	fl.StringVarP(&opts.AlbumName, "album-name", "A", "", "Add all assets to this album, created when missing")
	fl.StringVar(&opts.Visibility, "visibility", "", "Visibility of new assets: timeline, archive, hidden or locked")
	_ = cmd.RegisterFlagCompletionFunc("visibility", cobra.FixedCompletions([]string{"archive", "timeline", "hidden", "locked"}, cobra.ShellCompDirectiveNoFileComp))
	fl.BoolVarP(&opts.DryRun, "dry-run", "n", false, "Ask the server what would happen; upload, create and delete nothing")
	fl.IntVarP(&opts.Concurrency, "concurrency", "c", wrapper.DefaultUploadConcurrency, "Number of files uploaded at once")
	fl.BoolVarP(&opts.JSON, "json-output", "j", false, "Print only the UploadResult JSON on standard output")
	fl.BoolVar(&opts.Delete, "delete", false, "Delete local files once the server confirmed their upload")
	fl.BoolVar(&opts.DeleteDuplicates, "delete-duplicates", false, "Delete local files the server confirmed it already has")
	fl.BoolVar(&opts.NoProgress, "no-progress", false, "Don't show progress (bars on a terminal, a status line every 10s otherwise)")
	fl.BoolVar(&opts.RestoreTrashed, "restore-trashed", false, "Restore from the trash the server's assets that local files duplicate")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "Don't use the local cache of file checksums: read and hash every file")
	fl.BoolVar(&opts.SkipServerDeleted, "skip-server-deleted", false, "Don't upload again files whose asset was deleted for good on the server since it confirmed them")
	fl.DurationVar(&opts.RecheckAfter, "recheck-after", 0, "Trust the hash cache's server confirmations younger than this (e.g. 24h): unchanged files confirmed since are reported as duplicates without asking the server (0: ask about every file)")
	addWatchFlags(fl, &opts.Watch)
	return cmd
}

// envFlags maps the official CLI's environment variables to our flags.
var envFlags = []struct{ env, flag string }{
	{"IMMICH_RECURSIVE", "recursive"},
	{"IMMICH_IGNORE_PATHS", "ignore"},
	{"IMMICH_SKIP_HASH", "skip-hash"},
	{"IMMICH_INCLUDE_HIDDEN", "include-hidden"},
	{"IMMICH_AUTO_CREATE_ALBUM", "album"},
	{"IMMICH_ALBUM_NAME", "album-name"},
	{"IMMICH_VISIBILITY", "visibility"},
	{"IMMICH_DRY_RUN", "dry-run"},
	{"IMMICH_UPLOAD_CONCURRENCY", "concurrency"},
	{"IMMICH_JSON_OUTPUT", "json-output"},
	{"IMMICH_DELETE_ASSETS", "delete"},
	{"IMMICH_DELETE_DUPLICATES", "delete-duplicates"},
	{"IMMICH_WATCH_CHANGES", "watch"},
}

// applyEnv sets each flag not given on the command line from the official
// CLI's environment variable, when set.
func applyEnv(cmd *cobra.Command, getenv func(string) string) error {
	if getenv == nil {
		return nil
	}
	for _, ef := range envFlags {
		v := getenv(ef.env)
		if v == "" || cmd.Flags().Changed(ef.flag) {
			continue
		}
		if err := cmd.Flags().Set(ef.flag, v); err != nil {
			return cmdutil.FlagErrorf("%s=%q: %v", ef.env, v, err)
		}
	}
	// The official CLI's --no-progress is IMMICH_PROGRESS_BAR=false.
	if v := getenv("IMMICH_PROGRESS_BAR"); v != "" && !cmd.Flags().Changed("no-progress") {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return cmdutil.FlagErrorf("IMMICH_PROGRESS_BAR=%q: want true or false", v)
		}
		if err := cmd.Flags().Set("no-progress", strconv.FormatBool(!on)); err != nil {
			return err
		}
	}
	return nil
}

// uploadRun connects, checks the login and uploads once (uploadOnce).
func uploadRun(ctx context.Context, opts *Options) error {
	cmdutil.FrugalGC()
	c, _, err := opts.Factory.Connect(ctx)
	if err != nil {
		return err
	}
	return uploadOnce(ctx, c, opts)
}

// uploadOnce is one upload of opts.Paths with c: it draws progress on a
// terminal, prints the result, and returns an *cmdutil.ExitError with code
// 2 when files failed (or ctx ended). It can be called again with the same
// Client and Options.
//
// Its memory does not grow with the number of files: the library hands
// over each file's outcome (UploadOptions.OnFile), the summary is counted
// as they come, and with -j the result's lists are spooled to temporary
// files and copied to standard output at the end.
func uploadOnce(ctx context.Context, c *wrapper.Client, opts *Options) error {
	uo := libraryOptions(opts)
	sink, err := newOutcomes(opts.JSON)
	if err != nil {
		return err
	}
	defer sink.close()
	uo.OnFile = sink.add
	var prog iostreams.Progress
	if !opts.NoProgress {
		prog = opts.IO.NewProgress(iostreams.DefaultStatusInterval)
		uo.Progress = prog
	}
	res, err := c.Upload(ctx, opts.Paths, uo)
	if prog != nil {
		prog.Wait()
	}
	if err != nil {
		return err
	}
	interrupted := ctx.Err() != nil
	if opts.JSON {
		if err := cmdutil.WriteJSONLists(opts.IO.Out, res, sink.lists); err != nil {
			return err
		}
	}
	printCounted(opts, res, sink, interrupted)
	if res.Stats.Failed > 0 || interrupted || len(res.DeleteErrors) > 0 || albumFailed(res) {
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial}
	}
	return nil
}

// outcomes takes the files' outcomes from Upload one by one: it counts
// what the summary shows, keeps the first failures it lists, and, for -j,
// spools the result's lists (uploaded, rejected, failed) to temporary
// files.
type outcomes struct {
	duplicates, otherRejected int
	failed                    []wrapper.FailedFile // the first maxListed+1
	lists                     map[string]*cmdutil.JSONList
}

func newOutcomes(spool bool) (*outcomes, error) {
	o := &outcomes{}
	if !spool {
		return o, nil
	}
	o.lists = map[string]*cmdutil.JSONList{}
	for _, name := range []string{"uploaded", "rejected", "failed"} {
		l, err := cmdutil.NewJSONList("")
		if err != nil {
			o.close()
			return nil, err
		}
		o.lists[name] = l
	}
	return o, nil
}

// add takes one outcome (UploadOptions.OnFile). A spool that cannot be
// written fails the JSON output at the end (WriteJSONLists).
func (o *outcomes) add(fo wrapper.FileOutcome) {
	var entry any
	switch fo.Status {
	case wrapper.FileUploaded:
		if o.lists != nil {
			u := fo.UploadedFile()
			entry = &u
		}
	case wrapper.FileRejected:
		if fo.Reason == wrapper.RejectDuplicate {
			o.duplicates++
		} else {
			o.otherRejected++
		}
		if o.lists != nil {
			r := fo.RejectedFile()
			entry = &r
		}
	default:
		f := fo.FailedFile()
		if len(o.failed) <= maxListed {
			o.failed = append(o.failed, f)
		}
		entry = &f
	}
	if o.lists != nil {
		_ = o.lists[string(fo.Status)].Add(entry)
	}
}

// close removes the spools.
func (o *outcomes) close() {
	for _, l := range o.lists {
		_ = l.Close()
	}
}

// libraryOptions maps the command's flags to wrapper.UploadOptions; the
// command, unlike the library, keeps a hash cache unless told not to.
func libraryOptions(opts *Options) wrapper.UploadOptions {
	uo := wrapper.UploadOptions{
		Ignore:             opts.Ignore,
		IncludeHidden:      opts.IncludeHidden,
		NonRecursive:       !opts.Recursive, // the official CLI's default
		SkipDuplicateCheck: opts.SkipHash,
		Concurrency:        opts.Concurrency,
		AlbumName:          opts.AlbumName,
		AlbumPerFolder:     opts.AlbumPerFolder,
		DeleteUploaded:     opts.Delete,
		DeleteDuplicates:   opts.DeleteDuplicates,
		RestoreTrashed:     opts.RestoreTrashed,
		SkipServerDeleted:  opts.SkipServerDeleted,
		DryRun:             opts.DryRun,
		Visibility:         api.AssetVisibility(opts.Visibility),
	}
	if !opts.NoCache && !opts.SkipHash {
		uo.HashCache.Path = hashCachePath(opts.Factory)
		uo.HashCache.RecheckAfter = opts.RecheckAfter
	}
	return uo
}

// hashCachePath is where the command keeps its hash cache: the configured
// place, else the library's default; "" (no cache) when neither is known.
func hashCachePath(f *cmdutil.Factory) string {
	if paths, err := f.ConfigPaths(); err == nil && paths.HashCache != "" {
		return paths.HashCache
	}
	p, _ := wrapper.DefaultHashCachePath()
	return p
}

func albumFailed(res *wrapper.UploadResult) bool {
	for _, a := range res.Albums {
		if a.Error != "" || len(a.Failed) > 0 {
			return true
		}
	}
	return false
}

// maxListed bounds the failures listed on standard error.
const maxListed = 20

// printSummary writes the one-line summary and the failures of a result
// whose lists are filled (no OnFile) on standard error.
func printSummary(opts *Options, res *wrapper.UploadResult, interrupted bool) {
	o := &outcomes{}
	for _, r := range res.Rejected {
		o.add(wrapper.FileOutcome{Path: r.Filepath, Status: wrapper.FileRejected, Reason: r.Reason})
	}
	o.failed = res.Failed[:min(len(res.Failed), maxListed+1)]
	printCounted(opts, res, o, interrupted)
}

// printCounted writes the one-line summary and the failures o counted on
// standard error.
func printCounted(opts *Options, res *wrapper.UploadResult, o *outcomes, interrupted bool) {
	w := opts.IO.ErrOut
	verb := "uploaded"
	if res.DryRun {
		verb = "would upload"
	}
	parts := []string{fmt.Sprintf("%s %d (%s)", verb, res.Stats.Uploaded, humanBytes(res.Stats.BytesUploaded))}
	parts = append(parts, fmt.Sprintf("%d already on the server", o.duplicates))
	if o.otherRejected > 0 {
		parts = append(parts, fmt.Sprintf("%d unsupported", o.otherRejected))
	}
	parts = append(parts, fmt.Sprintf("%d failed", res.Stats.Failed))
	line := fmt.Sprintf("%d files: %s in %.1fs", res.Stats.Total, strings.Join(parts, ", "), float64(res.Stats.DurationMS)/1000)
	if res.DryRun {
		line += " (dry run: nothing changed)"
	}
	if interrupted {
		line += " (interrupted: the rest was not attempted)"
	}
	fmt.Fprintln(w, line)
	for i, f := range o.failed {
		if i == maxListed {
			fmt.Fprintf(w, "  … and %d more failures (use -j for the full list)\n", res.Stats.Failed-maxListed)
			break
		}
		if interrupted && errors.Is(f.Err, context.Canceled) {
			continue
		}
		fmt.Fprintf(w, "  failed: %s: %s\n", f.Filepath, f.Error)
	}
	for _, a := range res.Albums {
		if a.Error != "" {
			fmt.Fprintf(w, "  album %q: %s\n", a.Name, a.Error)
		}
	}
	for _, d := range res.DeleteErrors {
		fmt.Fprintf(w, "  not deleted: %s: %s\n", d.Filepath, d.Error)
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
