// Package download is "goimmich download": originals, thumbnails, videos or
// zip archives of assets chosen by id, by album or by a search, streamed to
// disk by the wrapper's download helpers and their safety rules.
package download

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/wrapper"
)

// Options is one run of "download".
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory

	IDs         []string
	Albums      []string
	Search      string
	Output      string
	Size        string
	Video       bool
	Archive     bool
	Overwrite   bool
	SkipVerify  bool
	ShareKey    string
	Slug        string
	Concurrency int
	JSON        bool
	NoProgress  bool
}

// Item is one asset's outcome, as printed by --json.
type Item struct {
	ID   string `json:"id,omitempty"`
	Path string `json:"path,omitempty"`
	// Outcome is "downloaded", "renamed" (downloaded under a numbered
	// name) or "present" (a file there already held these bytes).
	Outcome wrapper.Status `json:"outcome,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// NewCmdDownload returns the "download" command.
func NewCmdDownload(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "download [ASSET_ID...]",
		Short: "Download originals, thumbnails, videos or zip archives of assets",
		Long: `Download assets given by id, by album (--album) or by a metadata search
(--search, a MetadataSearchDto as JSON, @FILE or - for standard input) into
the --output folder.

By default the original files are downloaded and verified against the
server's SHA-1 checksum. --size thumbnail|preview|fullsize downloads that
rendition instead, --video the encoded video, --archive one zip of all
(split by the server's size limit).

Files are written as NAME.part and renamed only when complete and verified;
nothing is written outside the output folder; an existing file is never
overwritten (unless --overwrite): the same content is kept, different
content gets "NAME (1).ext".

Exit codes: 0 all downloaded, 1 could not start, 2 some failed.`,
		Example: `  goimmich download 4f1b… 9a2c… -o ./restore
  goimmich download --album 7d3e… -o ./album
  goimmich download --search '{"city":"Paris","takenAfter":"2024-01-01T00:00:00Z"}' -o paris
  goimmich download --album 7d3e… --archive -o .
  goimmich download 4f1b… --size preview`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IDs = args
			if len(opts.IDs) == 0 && len(opts.Albums) == 0 && opts.Search == "" {
				return cmdutil.FlagErrorf("give asset ids, --album ID or --search JSON")
			}
			n := 0
			for _, b := range []bool{opts.Size != "", opts.Video, opts.Archive} {
				if b {
					n++
				}
			}
			if n > 1 {
				return cmdutil.FlagErrorf("--size, --video and --archive exclude each other")
			}
			switch api.AssetMediaSize(opts.Size) {
			case "", api.AssetMediaSizeThumbnail, api.AssetMediaSizePreview, api.AssetMediaSizeFullsize:
			default:
				return cmdutil.FlagErrorf("--size %q: want thumbnail, preview or fullsize", opts.Size)
			}
			if opts.Concurrency < 1 {
				return cmdutil.FlagErrorf("--concurrency must be at least 1")
			}
			for _, id := range append(append([]string{}, opts.IDs...), opts.Albums...) {
				if _, err := uuid.Parse(id); err != nil {
					return cmdutil.FlagErrorf("%q is not an asset or album id (a UUID)", id)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return downloadRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Albums, "album", nil, "Download the assets of this album (id; repeatable)")
	fl.StringVar(&opts.Search, "search", "", "Download the assets a metadata search finds: JSON, @FILE or -")
	fl.StringVarP(&opts.Output, "output", "o", ".", "Folder to write into (created if missing)")
	fl.StringVar(&opts.Size, "size", "", "Download a rendition instead of the original: thumbnail, preview or fullsize")
	_ = cmd.RegisterFlagCompletionFunc("size", cobra.FixedCompletions([]string{"thumbnail", "preview", "fullsize"}, cobra.ShellCompDirectiveNoFileComp))
	fl.BoolVar(&opts.Video, "video", false, "Download the encoded video (video/playback) instead of the original")
	fl.BoolVar(&opts.Archive, "archive", false, "Download one zip archive of all the assets")
	fl.BoolVar(&opts.Overwrite, "overwrite", false, "Replace existing files of the same name")
	fl.BoolVar(&opts.SkipVerify, "skip-verify", false, "Don't compare originals with the server's checksum")
	fl.StringVar(&opts.ShareKey, "share-key", "", "Access through a shared link with this key")
	fl.StringVar(&opts.Slug, "slug", "", "Access through a shared link with this slug")
	fl.IntVarP(&opts.Concurrency, "concurrency", "c", 4, "Number of files downloaded at once")
	fl.BoolVarP(&opts.JSON, "json-output", "j", false, "Print a JSON list of {id, path, error} on standard output")
	fl.BoolVar(&opts.NoProgress, "no-progress", false, "Don't show progress (bars on a terminal, a status line every 10s otherwise)")
	return cmd
}

func downloadRun(ctx context.Context, opts *Options) error {
	cmdutil.FrugalGC()
	search, err := readSearch(opts)
	if err != nil {
		return err
	}
	c, _, err := opts.Factory.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	ids, err := collectIDs(ctx, c, opts, search)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No assets matched; nothing downloaded.")
		if opts.JSON {
			fmt.Fprintln(opts.IO.Out, "[]")
		}
		return nil
	}
	dopts := wrapper.DownloadOptions{Key: opts.ShareKey, Slug: opts.Slug, Overwrite: opts.Overwrite, SkipVerify: opts.SkipVerify}
	var prog iostreams.Progress
	if !opts.NoProgress {
		prog = opts.IO.NewProgress(iostreams.DefaultStatusInterval)
		files := len(ids)
		if opts.Archive {
			files = 1
		}
		dopts.Progress = &growingTotal{Progress: prog, files: files}
	}
	var items []Item
	if opts.Archive {
		items = downloadArchive(ctx, c, ids, opts.Output, dopts)
	} else {
		items = downloadEach(ctx, c, ids, opts, dopts)
	}
	if prog != nil {
		prog.Wait()
	}
	return report(ctx, opts, items)
}

// downloadArchive downloads ids as zip archives.
func downloadArchive(ctx context.Context, c *wrapper.Client, ids []uuid.UUID, dir string, dopts wrapper.DownloadOptions) []Item {
	var items []Item
	zips, err := c.DownloadArchiveToDir(ctx, ids, dir, dopts)
	for _, z := range zips {
		items = append(items, Item{Path: z.Path, Outcome: z.Outcome})
	}
	if err != nil {
		items = append(items, Item{Error: err.Error()})
	}
	return items
}

// downloadEach downloads each of ids, opts.Concurrency at a time; one
// failure does not stop the others.
func downloadEach(ctx context.Context, c *wrapper.Client, ids []uuid.UUID, opts *Options, dopts wrapper.DownloadOptions) []Item {
	items := make([]Item, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i, id := range ids {
		g.Go(func() error {
			var res wrapper.DownloadResult
			var err error
			switch {
			case opts.Size != "":
				res, err = c.ViewAssetToFile(gctx, id, opts.Output, api.AssetMediaSize(opts.Size), dopts)
			case opts.Video:
				res, err = c.PlayAssetVideoToFile(gctx, id, opts.Output, dopts)
			default:
				res, err = c.DownloadAssetToFile(gctx, id, opts.Output, dopts)
			}
			it := Item{ID: id.String(), Path: res.Path, Outcome: res.Outcome}
			if err != nil {
				it.Error = err.Error()
			}
			items[i] = it // each goroutine writes its own element
			return nil
		})
	}
	_ = g.Wait()
	return items
}

// report prints the items (paths, or JSON) on standard output and the
// failures and a summary on standard error, and returns the exit status.
func report(ctx context.Context, opts *Options, items []Item) error {
	counts := map[wrapper.Status]int{}
	failed := 0
	for _, it := range items {
		if it.Error != "" {
			failed++
		} else {
			counts[it.Outcome]++
		}
	}
	if opts.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, items); err != nil {
			return err
		}
	} else {
		for _, it := range items {
			if it.Error == "" {
				fmt.Fprintln(opts.IO.Out, it.Path)
			}
		}
	}
	for _, it := range items {
		if it.Error != "" {
			fmt.Fprintf(opts.IO.ErrOut, "  failed: %s\n", it.Error)
		}
	}
	downloaded := counts[wrapper.StatusDownloaded] + counts[wrapper.StatusRenamed]
	fmt.Fprintf(opts.IO.ErrOut, "%d downloaded, %d already present, %d failed, into %s\n", downloaded, counts[wrapper.StatusPresent], failed, opts.Output)
	if n := counts[wrapper.StatusRenamed]; n > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%d saved under a numbered name (\"NAME (1).ext\"): a different file held the name\n", n)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(opts.IO.ErrOut, "Interrupted: the rest was not downloaded.")
	}
	if failed > 0 || ctx.Err() != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial}
	}
	return nil
}

// readSearch parses --search into a JSON object.
func readSearch(opts *Options) (map[string]any, error) {
	if opts.Search == "" {
		return nil, nil
	}
	raw, _, err := cmdutil.ReadArg(opts.IO.In, "--search", opts.Search)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, cmdutil.FlagErrorf("--search is not a JSON object (a MetadataSearchDto, e.g. {\"city\":\"Paris\"}): %v", err)
	}
	return m, nil
}

// searchPageSize is the page size asked of POST /search/metadata.
const searchPageSize = 1000

// collectIDs returns the asset ids to download, in order, without repeats.
func collectIDs(ctx context.Context, c *wrapper.Client, opts *Options, search map[string]any) ([]uuid.UUID, error) {
	seen := map[uuid.UUID]bool{}
	var ids []uuid.UUID
	add := func(id uuid.UUID) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, s := range opts.IDs {
		add(uuid.MustParse(s))
	}
	queries := []map[string]any{}
	for _, a := range opts.Albums {
		queries = append(queries, map[string]any{"albumIds": []string{a}})
	}
	if search != nil {
		queries = append(queries, search)
	}
	share := url.Values{}
	if opts.ShareKey != "" {
		share.Set("key", opts.ShareKey)
	}
	if opts.Slug != "" {
		share.Set("slug", opts.Slug)
	}
	for _, q := range queries {
		page := 1
		for {
			q["page"], q["size"] = page, searchPageSize
			body, err := json.Marshal(q)
			if err != nil {
				return nil, err
			}
			r, err := searchAssets(ctx, c, share, body)
			if err != nil {
				return nil, fmt.Errorf("finding the assets to download: %w", err)
			}
			if r.JSON200 == nil {
				return nil, errors.New("finding the assets to download: the server's answer holds no assets")
			}
			for _, a := range r.JSON200.Assets.Items {
				add(uuid.UUID(a.Id))
			}
			next := r.JSON200.Assets.NextPage
			if next == nil || *next == "" {
				break
			}
			n, err := strconv.Atoi(*next)
			if err != nil || n <= page {
				break
			}
			page = n
		}
	}
	return ids, nil
}

// searchAssets sends searchAssets (POST /search/metadata) with query (the
// share key or slug) through the Client's request core and decodes the
// answer with the generated parser. It does not call the generated method,
// which takes *api.SearchAssetsParams only in the releases whose
// searchAssets has query parameters (3.0.3, not 3.0.1): this package must
// build against each (scripts/regen-matrix.sh).
func searchAssets(ctx context.Context, c *wrapper.Client, query url.Values, body []byte) (*api.SearchAssetsResponse, error) {
	req, err := c.NewRequest(ctx, http.MethodPost, "/search/metadata", query, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req, "searchAssets")
	if err != nil {
		return nil, err
	}
	return api.ParseSearchAssetsResponse(resp)
}

// growingTotal grows the bytes total of the progress display as downloads
// start and learn their sizes (the download helpers do not know them in
// advance).
type growingTotal struct {
	iostreams.Progress
	mu    sync.Mutex
	files int
	bytes int64
}

func (g *growingTotal) Start(path string, size int64) {
	g.mu.Lock()
	if size > 0 {
		g.bytes += size
	}
	// Set under mu so that concurrent Starts never lower the total.
	g.Progress.Total(g.files, g.bytes)
	g.mu.Unlock()
	g.Progress.Start(path, size)
}
