// Package export is "goimmich export": an incremental, verified copy of the
// library (or of albums, or of a search) in a folder, kept up to date by
// re-runs, on top of wrapper.Client.Export.
package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/wrapper"
)

// Options is one run of "export".
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory

	Output        string
	Albums        []string
	Search        string
	Layout        string
	Sidecar       string
	MirrorDeletes bool
	Concurrency   int
	JSON          bool
	NoProgress    bool
}

// NewCmdExport returns the "export" command.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "export -o DIR",
		Short: "Keep a folder an up-to-date, verified copy of the library or of albums",
		Long: `Export the originals of the whole library of the key's user (timeline,
archive and hidden; not the locked folder), of albums (--album, by name or
id, repeatable) or of a metadata search (--search, a MetadataSearchDto as
JSON, @FILE or - for standard input) into the --output folder, in folders
made by --layout, a Go template over the asset:

  {{.Year}} {{.Month}} {{.Day}}  capture date ("2024", "03", "07")
  {{.Album}}                     album name (the first --album holding it,
                                 else its first album by name)
  {{.Name}} {{.Stem}} {{.Ext}}   original name, without extension, extension
  {{.ID}} {{.Type}}              asset id, IMAGE/VIDEO/AUDIO/OTHER

A re-run brings the folder up to date: only new assets and assets whose
checksum changed are downloaded; a file whose layout path changed (album
renamed, date corrected) is moved, not fetched; an asset never has two
copies. State is kept in DIR/.goimmich-export/state.json. Two assets with
the same path get "NAME~ID8.ext", stable across runs. Files are SHA-1
verified, placed only when complete, never replaced, and get the capture
time as modification time. A live photo's motion part is placed beside its
still.

--sidecar xmp writes NAME.ext.xmp (description, rating, favourite, tags,
GPS, capture time); --sidecar json the asset's JSON. --mirror-deletes moves
files of assets gone from the server (or from the chosen albums) into
DIR/.trash/DATE/; nothing is ever deleted.

Exit codes: 0 up to date, 1 could not start (bad layout, flags, folder,
album, key or server), 2 some assets failed or interrupted (run again).`,
		Example: `  goimmich export -o /mnt/nas/photos
  goimmich export -o backup --layout '{{.Year}}/{{.Month}}-{{.Day}}/{{.Name}}' --sidecar xmp
  goimmich export -o albums --album "Trip 2024" --album 7d3e… --layout '{{.Album}}/{{.Name}}'
  goimmich export -o paris --search '{"city":"Paris"}' --mirror-deletes -j > result.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output == "" {
				return cmdutil.FlagErrorf("give the folder to export into with -o DIR")
			}
			switch wrapper.ExportSidecar(opts.Sidecar) {
			case wrapper.ExportSidecarNone, wrapper.ExportSidecarXMP, wrapper.ExportSidecarJSON:
			default:
				return cmdutil.FlagErrorf("--sidecar %q: want xmp or json", opts.Sidecar)
			}
			if opts.Concurrency < 1 {
				return cmdutil.FlagErrorf("--concurrency must be at least 1")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return exportRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Output, "output", "o", "", "Folder to keep the copy in (created if missing)")
	fl.StringArrayVar(&opts.Albums, "album", nil, "Export this album (name or id; repeatable)")
	fl.StringVar(&opts.Search, "search", "", "Export what a metadata search finds: JSON, @FILE or -")
	fl.StringVar(&opts.Layout, "layout", wrapper.DefaultExportLayout, "Path of each file under the folder (Go template)")
	fl.StringVar(&opts.Sidecar, "sidecar", "", "Write a metadata file beside each original: xmp or json")
	_ = cmd.RegisterFlagCompletionFunc("sidecar", cobra.FixedCompletions([]string{"xmp", "json"}, cobra.ShellCompDirectiveNoFileComp))
	fl.BoolVar(&opts.MirrorDeletes, "mirror-deletes", false, "Move files of assets gone from the server into DIR/.trash/DATE/")
	fl.IntVarP(&opts.Concurrency, "concurrency", "c", wrapper.DefaultExportConcurrency, "Number of files downloaded at once")
	fl.BoolVarP(&opts.JSON, "json-output", "j", false, "Print only the ExportResult JSON on standard output")
	fl.BoolVar(&opts.NoProgress, "no-progress", false, "Don't show progress (bars on a terminal, a status line every 10s otherwise)")
	return cmd
}

func exportRun(ctx context.Context, opts *Options) error {
	cmdutil.FrugalGC()
	search, err := readSearch(opts)
	if err != nil {
		return err
	}
	c, _, err := opts.Factory.Connect(ctx)
	if err != nil {
		return err
	}
	eopts := wrapper.ExportOptions{
		Albums: opts.Albums, Search: search, Layout: opts.Layout, Sidecar: wrapper.ExportSidecar(opts.Sidecar),
		MirrorDeletes: opts.MirrorDeletes, Concurrency: opts.Concurrency,
	}
	var prog iostreams.Progress
	if !opts.NoProgress {
		prog = opts.IO.NewProgress(iostreams.DefaultStatusInterval)
		eopts.Progress = prog
	}
	res, err := c.Export(ctx, opts.Output, eopts)
	if prog != nil {
		prog.Wait()
	}
	if res == nil {
		if errors.Is(err, wrapper.ErrBadLayout) {
			return cmdutil.FlagErrorf("--layout: %v", err)
		}
		if ctx.Err() != nil {
			// Interrupted while listing: nothing changed; run again.
			return &cmdutil.ExitError{Code: cmdutil.ExitPartial, Err: err}
		}
		return err
	}
	if opts.JSON {
		if werr := cmdutil.WriteJSON(opts.IO.Out, res); werr != nil {
			return werr
		}
	}
	for _, f := range res.Failed {
		fmt.Fprintf(opts.IO.ErrOut, "  failed: %s\n", f.Error)
	}
	fmt.Fprintf(opts.IO.ErrOut, "%d downloaded, %d unchanged, %d moved, %d trashed, %d failed, in %s\n",
		res.Downloaded, res.Unchanged, res.Moved, res.Trashed, len(res.Failed), opts.Output)
	if err != nil {
		fmt.Fprintln(opts.IO.ErrOut, "Interrupted: run the same command again to finish.")
	}
	if len(res.Failed) > 0 || err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial}
	}
	return nil
}

// readSearch parses --search into a MetadataSearchDto; unknown fields are
// an error, so a typo does not silently export the whole library.
func readSearch(opts *Options) (*api.MetadataSearchDto, error) {
	if opts.Search == "" {
		return nil, nil
	}
	raw, _, err := cmdutil.ReadArg(opts.IO.In, "--search", opts.Search)
	if err != nil {
		return nil, err
	}
	var dto api.MetadataSearchDto
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&dto); err != nil {
		return nil, cmdutil.FlagErrorf("--search is not a MetadataSearchDto as JSON (e.g. {\"city\":\"Paris\"}): %v", err)
	}
	return &dto, nil
}
