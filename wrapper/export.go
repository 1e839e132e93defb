package wrapper

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
)

// DefaultExportConcurrency is how many originals Export downloads at once
// when ExportOptions.Concurrency is zero.
const DefaultExportConcurrency = 4

// exportSaveEvery bounds how long finished downloads may wait before the
// state file records them.
const exportSaveEvery = 2 * time.Second

// ExportSidecar chooses the metadata file Export writes beside each
// original.
type ExportSidecar string

const (
	// ExportSidecarNone writes no metadata file.
	ExportSidecarNone ExportSidecar = ""
	// ExportSidecarXMP writes NAME.xmp... as "IMG_1.jpg.xmp": description,
	// rating, favourite (xmp:Label "Favorite"), tags, GPS position and
	// capture time, readable by darktable, digiKam, Lightroom and exiftool.
	ExportSidecarXMP ExportSidecar = "xmp"
	// ExportSidecarJSON writes the asset as the server answered it
	// (AssetResponseDto) as "IMG_1.jpg.json".
	ExportSidecarJSON ExportSidecar = "json"
)

// ExportOptions configures Export. The zero value exports the whole library
// of the key's user (timeline, archive and hidden assets; the locked folder
// needs a PIN-elevated session and is left out) in DefaultExportLayout.
type ExportOptions struct {
	// Albums limits the export to these albums, by exact name or id. A name
	// that matches no album, or several, is an error before anything is
	// written.
	Albums []string
	// Search limits the export to what this metadata search finds (its Page
	// is ignored; Size defaults to SearchPageSize). With Albums, the export
	// holds both.
	Search *api.MetadataSearchDto
	// Layout is a text/template over ExportPathFields that makes each
	// asset's path under the folder ("/" separates folders);
	// DefaultExportLayout when empty. It is checked before anything is
	// written (see ErrBadLayout).
	Layout string
	// Sidecar writes a metadata file beside each original.
	Sidecar ExportSidecar
	// MirrorDeletes moves the files of assets no longer listed (deleted or
	// trashed on the server, or gone from the chosen albums) into
	// .trash/YYYY-MM-DD/ inside the folder. Nothing is ever deleted.
	MirrorDeletes bool
	// Concurrency is how many originals download at once
	// (DefaultExportConcurrency when zero).
	Concurrency int
	// Progress observes the downloads, by their final paths; nil means none.
	Progress Progress
}

// ExportResult is what an Export run did. Counts are of assets (a live
// photo's motion part counts as its own asset).
type ExportResult struct {
	Dir string `json:"dir"`
	// Downloaded counts originals fetched (new, replaced on the server, or
	// missing from the folder).
	Downloaded int `json:"downloaded"`
	// Unchanged counts assets whose file was already in place.
	Unchanged int `json:"unchanged"`
	// Moved counts files renamed to a new layout path instead of fetched.
	Moved int `json:"moved"`
	// Trashed counts files moved into .trash (MirrorDeletes, and the old
	// version of an asset replaced on the server).
	Trashed int `json:"trashed"`
	// Failed lists the assets not exported, with the reason. The state does
	// not record them, so the next run tries again.
	Failed []ExportFailure `json:"failed"`
	Stats  ExportStats     `json:"stats"`
}

// ExportFailure is one asset Export could not bring up to date.
type ExportFailure struct {
	AssetID string `json:"asset_id"`
	Path    string `json:"path,omitempty"`
	Error   string `json:"error"`
}

// ExportStats are the figures of an Export run.
type ExportStats struct {
	// Listed counts the assets the server listed for the export.
	Listed int `json:"listed"`
	// BytesDownloaded counts the bytes of the originals fetched.
	BytesDownloaded int64 `json:"bytes_downloaded"`
	// Sidecars counts sidecar files written.
	Sidecars   int   `json:"sidecars"`
	DurationMS int64 `json:"duration_ms"`
}

// Export brings folder dir up to date with the server: a verified copy of
// the originals chosen by opts, at the paths its layout makes, with a state
// file (dir/.goimmich-export/state.json, keyed by asset id: checksum, path,
// size) that lets a re-run do only what changed:
//
//   - The assets are listed with POST /search/metadata, SearchPageSize per
//     request, one search per visibility (timeline, archive, hidden), never
//     one request per asset; a re-run of an unchanged export sends only
//     those (and GET /albums when albums are chosen or the layout uses
//     .Album; with .Album and no chosen albums, also the searches that list
//     each album's members). updatedAfter cannot replace the listing: an
//     album renamed or joined does not change an asset's updatedAt, and
//     deletions show only as ids missing from the list.
//   - A new asset, one whose checksum changed on the server, or one whose
//     file is missing is downloaded with the download helpers' engine
//     (streamed, resumed with Range, SHA-1 verified except for external
//     libraries, whose checksum hashes a path) into
//     dir/.goimmich-export/staging, given the asset's capture time as
//     mtime, and linked into place without ever replacing a file. The
//     older version of a replaced asset goes to .trash.
//   - A file whose layout path changed (album renamed, date corrected) is
//     renamed, not fetched again; one asset never has two copies.
//   - Two assets with the same path: the one that holds it keeps it (else
//     the smaller id), the other gets "NAME~ID8.ext" (the first 8
//     characters of its id): stable across runs. A file in the way that
//     the state does not know is never touched: when it holds the asset's
//     bytes it is adopted, otherwise the asset gets the suffixed name.
//   - A live photo's motion part (livePhotoVideoId) is placed beside its
//     still, with the still's stem and its own extension.
//
// Memory grows with the number of assets listed (their ids, names and
// checksums), not with their sizes; downloads use the download helpers'
// fixed buffers. The state is saved (temporary file, fsync, rename) every
// few seconds and at the end, also when ctx ends, so an interrupted export
// resumes where it stopped. Only one Export may write to a folder at a time.
//
// The error is non-nil when the export could not start or finish listing
// (bad layout, dir is a file or not writable, unknown album, refused key,
// server down) or when ctx ended; per-asset failures are in
// ExportResult.Failed. Nothing is written outside dir, and no file is
// deleted: removals are moves into dir/.trash.
func (c *Client) Export(ctx context.Context, dir string, opts ExportOptions) (*ExportResult, error) {
	start := time.Now()
	layout, err := parseLayout(opts.Layout)
	if err != nil {
		return nil, err
	}
	switch opts.Sidecar {
	case ExportSidecarNone, ExportSidecarXMP, ExportSidecarJSON:
	default:
		return nil, fmt.Errorf("export: unknown sidecar %q; use %q or %q", opts.Sidecar, ExportSidecarXMP, ExportSidecarJSON)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultExportConcurrency
	}
	root, err := openExportDir(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	st, err := loadExportState(root, dir)
	if err != nil {
		return nil, err
	}
	if st.Server != "" && st.Server != c.ServerURL() && opts.MirrorDeletes {
		return nil, fmt.Errorf("export: %s was exported from %s, not %s: --mirror-deletes would move every file into .trash; export into another folder, or run once without it",
			dir, st.Server, c.ServerURL())
	}
	e := &exporter{c: c, dir: dir, root: root, opts: opts, layout: layout, st: st, dirty: st.Server != c.ServerURL(),
		prog: progressOrNop(opts.Progress), now: start, res: &ExportResult{Dir: dir, Failed: []ExportFailure{}}}
	st.Server = c.ServerURL()
	e.clearStaging()
	if err := e.list(ctx); err != nil {
		return nil, err
	}
	e.plan()
	e.run(ctx)
	if err := e.save(true); err != nil {
		e.fail("", "", err)
	}
	e.res.Stats.DurationMS = time.Since(start).Milliseconds()
	if ctx.Err() != nil {
		return e.res, fmt.Errorf("export interrupted: %w", context.Cause(ctx))
	}
	return e.res, nil
}

// openExportDir creates dir when missing and its staging folder, and opens
// it as an os.Root, through which every file operation of the export goes.
func openExportDir(dir string) (*os.Root, error) {
	if dir == "" {
		return nil, errors.New("export: no output folder given")
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("export: %s is a file, not a folder; give a folder to export into", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: creating the output folder: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("export: opening the output folder: %w", err)
	}
	if err := root.MkdirAll(exportStaging, 0o755); err != nil {
		root.Close()
		return nil, fmt.Errorf("export: the output folder %s is not writable (%w); check its permissions or free space", dir, err)
	}
	return root, nil
}

// exportAsset is the part of an AssetResponseDto Export uses; decoding only
// these fields keeps it working across server releases.
type exportAsset struct {
	ID               string    `json:"id"`
	OriginalFileName string    `json:"originalFileName"`
	OriginalMimeType string    `json:"originalMimeType"`
	Checksum         string    `json:"checksum"`
	LibraryID        *string   `json:"libraryId"`
	Type             string    `json:"type"`
	FileCreatedAt    time.Time `json:"fileCreatedAt"`
	LocalDateTime    time.Time `json:"localDateTime"`
	UpdatedAt        time.Time `json:"updatedAt"`
	IsFavorite       bool      `json:"isFavorite"`
	LivePhotoVideoID *string   `json:"livePhotoVideoId"`
	ExifInfo         *struct {
		Description      *string    `json:"description"`
		Rating           *int       `json:"rating"`
		Latitude         *float64   `json:"latitude"`
		Longitude        *float64   `json:"longitude"`
		DateTimeOriginal *time.Time `json:"dateTimeOriginal"`
		FileSizeInByte   *int64     `json:"fileSizeInByte"`
	} `json:"exifInfo"`
	Tags []struct {
		Value string `json:"value"`
	} `json:"tags"`

	raw json.RawMessage // the answer as sent, for JSON sidecars
}

// exportAction is what a run does for one asset.
type exportAction int

const (
	actKeep  exportAction = iota // in place
	actMove                      // rename to the new layout path
	actFetch                     // download
	actAdopt                     // a file with its bytes is at its path already
)

// exportItem is one asset's plan.
type exportItem struct {
	a        *exportAsset
	album    string
	target   string
	prev     *exportStateEntry
	act      exportAction
	motionOf string // the still's id, for a live photo's motion part
	sidecar  bool   // (re)write the sidecar
}

// exporter is one Export run.
type exporter struct {
	c      *Client
	dir    string
	root   *os.Root
	opts   ExportOptions
	layout *exportLayout
	prog   Progress
	now    time.Time

	queries []api.MetadataSearchDto
	assets  map[string]*exportAsset
	order   []string // listed ids, in listing order
	listed  map[string]bool
	albumOf map[string]string // asset id -> album name
	// motionOf maps a live photo's motion part to its still.
	motionOf map[string]string
	items    []*exportItem
	gone     []string // state ids no longer listed

	mu       sync.Mutex // st, res, lastSave, dirty
	st       *exportState
	res      *ExportResult
	lastSave time.Time
	dirty    bool // st differs from the state file
}

func (e *exporter) fail(id, p string, err error) {
	e.mu.Lock()
	e.res.Failed = append(e.res.Failed, ExportFailure{AssetID: id, Path: p, Error: err.Error()})
	e.mu.Unlock()
}

// clearStaging empties the staging folder of what an interrupted run left:
// .part files are removed, complete files (not yet linked into place) are
// moved into .trash rather than deleted.
func (e *exporter) clearStaging() {
	ents, err := fs.ReadDir(e.root.FS(), exportStaging)
	if err != nil {
		return
	}
	for _, d := range ents {
		p := path.Join(exportStaging, d.Name())
		if strings.HasSuffix(d.Name(), ".part") {
			_ = e.root.Remove(p)
			continue
		}
		_, _ = e.trash(p, "staging/"+d.Name())
	}
}

// list resolves the albums and lists the assets to export.
func (e *exporter) list(ctx context.Context) error {
	var albums []api.AlbumResponseDto
	if len(e.opts.Albums) > 0 || e.layout.inAlbum {
		for a, err := range e.c.Albums(ctx, nil) {
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			albums = append(albums, a)
		}
	}
	chosen, err := chooseAlbums(albums, e.opts.Albums)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	asc := Ptr(api.AssetOrderAsc)
	for _, al := range chosen {
		for _, v := range albumVisibilities {
			e.queries = append(e.queries, api.MetadataSearchDto{AlbumIds: &[]uuid.UUID{al.Id}, Visibility: Ptr(v), Order: asc})
		}
	}
	if e.opts.Search != nil {
		q := *e.opts.Search
		q.Page = nil
		if q.Order == nil {
			q.Order = asc
		}
		e.queries = append(e.queries, q)
	}
	if len(e.queries) == 0 {
		for _, v := range albumVisibilities {
			e.queries = append(e.queries, api.MetadataSearchDto{Visibility: Ptr(v), Order: asc})
		}
	}
	e.assets = map[string]*exportAsset{}
	e.listed = map[string]bool{}
	e.albumOf = map[string]string{}
	for i, q := range e.queries {
		if e.opts.Sidecar != ExportSidecarNone {
			// Immich answers a search with exifInfo (description,
			// rating, place) only when asked.
			q.WithExif = Ptr(true)
		}
		album := ""
		if i < len(chosen)*len(albumVisibilities) {
			album = chosen[i/len(albumVisibilities)].AlbumName
		}
		for a, err := range e.search(ctx, q) {
			if err != nil {
				return fmt.Errorf("export: listing the assets: %w", err)
			}
			if _, seen := e.assets[a.ID]; seen {
				continue
			}
			e.assets[a.ID] = a
			e.listed[a.ID] = true
			e.order = append(e.order, a.ID)
			if album != "" {
				e.albumOf[a.ID] = album
			}
		}
	}
	if e.layout.inAlbum && len(chosen) == 0 {
		// .Album without chosen albums: each asset's first album by name.
		slices.SortStableFunc(albums, func(x, y api.AlbumResponseDto) int { return cmp.Compare(x.AlbumName, y.AlbumName) })
		for _, al := range albums {
			for _, v := range albumVisibilities {
				dto := api.MetadataSearchDto{AlbumIds: &[]uuid.UUID{al.Id}, Visibility: Ptr(v)}
				for a, err := range searchPages[struct {
					ID string `json:"id"`
				}](ctx, e.c, dto) {
					if err != nil {
						return fmt.Errorf("export: listing album %q: %w", al.AlbumName, err)
					}
					if _, ok := e.albumOf[a.ID]; !ok {
						e.albumOf[a.ID] = al.AlbumName
					}
				}
			}
		}
	}
	e.res.Stats.Listed = len(e.order)
	return e.listMotionParts(ctx)
}

// listMotionParts gets the motion parts of listed live photos that the
// listing did not bring (an album holds the still only) and the state does
// not hold in place: one GET /assets/{id} each.
func (e *exporter) listMotionParts(ctx context.Context) error {
	e.motionOf = map[string]string{}
	for _, id := range e.order {
		m := e.assets[id].LivePhotoVideoID
		if m == nil || *m == "" || *m == id {
			continue
		}
		if _, ok := e.motionOf[*m]; ok {
			continue
		}
		e.motionOf[*m] = id
		if _, ok := e.assets[*m]; ok {
			continue
		}
		if prev := e.st.Assets[*m]; prev != nil && e.fileOK(prev) {
			// Known and in place: the still's listing says nothing of a
			// change, and asking would cost a request per live photo.
			e.assets[*m] = &exportAsset{ID: *m, Checksum: prev.Checksum, OriginalFileName: path.Base(prev.Path)}
			continue
		}
		var raw json.RawMessage
		if err := e.c.callJSON(ctx, "getAssetInfo", http.MethodGet, "/assets/"+*m, nil, &raw); err != nil {
			if ctx.Err() != nil {
				return err
			}
			e.fail(*m, "", fmt.Errorf("the motion part of live photo %s: %w", id, err))
			delete(e.motionOf, *m)
			continue
		}
		a, err := e.decode(raw)
		if err != nil {
			e.fail(*m, "", err)
			continue
		}
		e.assets[*m] = a
	}
	return nil
}

// search lists the assets a query finds, decoded as exportAsset (with the
// raw answer when JSON sidecars need it).
func (e *exporter) search(ctx context.Context, q api.MetadataSearchDto) iter.Seq2[*exportAsset, error] {
	return func(yield func(*exportAsset, error) bool) {
		if e.opts.Sidecar != ExportSidecarJSON {
			for a, err := range searchPages[exportAsset](ctx, e.c, q) {
				if !yield(&a, err) || err != nil {
					return
				}
			}
			return
		}
		for raw, err := range searchPages[json.RawMessage](ctx, e.c, q) {
			var a *exportAsset
			if err == nil {
				a, err = e.decode(raw)
			}
			if !yield(a, err) || err != nil {
				return
			}
		}
	}
}

// decode decodes one asset; the raw JSON is kept only when a JSON sidecar
// is to be written for it (new, updated, or its sidecar missing).
func (e *exporter) decode(raw json.RawMessage) (*exportAsset, error) {
	a := &exportAsset{}
	if err := json.Unmarshal(raw, a); err != nil {
		return nil, fmt.Errorf("malformed asset in the server's answer: %w", err)
	}
	if e.opts.Sidecar == ExportSidecarJSON {
		prev := e.st.Assets[a.ID]
		if prev == nil || !prev.UpdatedAt.Equal(a.UpdatedAt) || prev.Sidecar == "" || !e.exists(prev.Sidecar) {
			a.raw = slices.Clone(raw)
		}
	}
	return a, nil
}

// chooseAlbums resolves names and ids to albums, in the order given.
func chooseAlbums(albums []api.AlbumResponseDto, want []string) ([]api.AlbumResponseDto, error) {
	var out []api.AlbumResponseDto
	for _, w := range want {
		var found []api.AlbumResponseDto
		id, idErr := uuid.Parse(w)
		for _, a := range albums {
			if (idErr == nil && a.Id == id) || a.AlbumName == w {
				found = append(found, a)
			}
		}
		switch {
		case len(found) == 0:
			return nil, fmt.Errorf("album %q: %w: no album has that name or id (names are case-sensitive)", w, ErrNotFound)
		case len(found) > 1 && idErr != nil:
			ids := make([]string, len(found))
			for i, a := range found {
				ids[i] = a.Id.String()
			}
			return nil, fmt.Errorf("album %q: %w: %d albums have that name (%s); give one by id", w, ErrAmbiguous, len(found), strings.Join(ids, ", "))
		}
		if !slices.ContainsFunc(out, func(a api.AlbumResponseDto) bool { return a.Id == found[0].Id }) {
			out = append(out, found[0])
		}
	}
	return out, nil
}

// fileOK reports whether the state's file is in place with its size.
func (e *exporter) fileOK(s *exportStateEntry) bool {
	fi, err := e.lstat(s.Path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == s.Size
}

func (e *exporter) exists(p string) bool {
	_, err := e.lstat(p)
	return err == nil
}

// lstat looks at p under the folder with one system call (a lookup through
// the os.Root costs one per path element, and a re-run looks at every
// file). It only reads; every change goes through the os.Root, which
// refuses to leave the folder.
func (e *exporter) lstat(p string) (fs.FileInfo, error) {
	return os.Lstat(filepath.Join(e.dir, filepath.FromSlash(p)))
}

// plan gives every listed asset its path and action (see Export for the
// rules) and finds the state's assets no longer listed.
func (e *exporter) plan() {
	// Paths held: by state entries not listed (kept, or trashed later),
	// and then by the assets given a path, case-insensitively (macOS and
	// Windows folders are).
	taken := map[string]string{}
	for id, s := range e.st.Assets {
		if _, ok := e.assets[id]; !ok {
			taken[strings.ToLower(s.Path)] = id
			e.gone = append(e.gone, id)
		}
	}
	slices.Sort(e.gone)
	var stills, motions []*exportItem
	want := map[string][]*exportItem{}
	for _, id := range e.order {
		a := e.assets[id]
		it := &exportItem{a: a, album: e.albumOf[id], prev: e.st.Assets[id]}
		if still, ok := e.motionOf[id]; ok {
			it.motionOf = still
			motions = append(motions, it)
			continue
		}
		p, err := e.layout.render(pathFields(a, it.album))
		if err != nil {
			e.fail(id, "", err)
			continue
		}
		it.target = p
		k := strings.ToLower(p)
		want[k] = append(want[k], it)
		stills = append(stills, it)
	}
	// Motion parts the listing did not bring (an album holds the still).
	for m, still := range e.motionOf {
		if !e.listed[m] {
			motions = append(motions, &exportItem{a: e.assets[m], prev: e.st.Assets[m], motionOf: still})
		}
	}
	// Same path: the holder keeps it, else the smallest id; others get
	// their id in the name.
	for _, k := range slices.Sorted(maps.Keys(want)) {
		group := want[k]
		slices.SortFunc(group, func(x, y *exportItem) int {
			hx := x.prev != nil && strings.EqualFold(x.prev.Path, x.target)
			hy := y.prev != nil && strings.EqualFold(y.prev.Path, y.target)
			if hx != hy {
				if hx {
					return -1
				}
				return 1
			}
			return cmp.Compare(x.a.ID, y.a.ID)
		})
		for i, it := range group {
			if i > 0 || taken[k] != "" {
				it.target = e.freeName(it.target, it.a.ID, taken)
			}
			taken[strings.ToLower(it.target)] = it.a.ID
		}
	}
	targetOf := map[string]string{}
	for _, it := range stills {
		targetOf[it.a.ID] = it.target
	}
	slices.SortFunc(motions, func(x, y *exportItem) int { return cmp.Compare(x.a.ID, y.a.ID) })
	for _, it := range motions {
		still, ok := targetOf[it.motionOf]
		if !ok {
			continue // the still failed; so does its motion part
		}
		ext := path.Ext(firstName(it.a.OriginalFileName))
		if ext == "" && it.prev != nil {
			ext = path.Ext(it.prev.Path)
		}
		it.target = strings.TrimSuffix(still, path.Ext(still)) + ext
		if owner, ok := taken[strings.ToLower(it.target)]; ok && owner != it.a.ID {
			it.target = e.freeName(it.target, it.a.ID, taken)
		}
		taken[strings.ToLower(it.target)] = it.a.ID
	}
	items := append(stills, motions...)
	for _, it := range items {
		if it.target == "" {
			continue
		}
		e.decide(it)
		e.items = append(e.items, it)
	}
}

// freeName returns p with the asset's id in its name, 8 characters of it,
// or all when those are taken too.
func (e *exporter) freeName(p, id string, taken map[string]string) string {
	for _, n := range []int{8, len(id)} {
		q := idSuffixed(p, id, n)
		if owner, ok := taken[strings.ToLower(q)]; !ok || owner == id {
			return q
		}
	}
	return idSuffixed(p, id, len(id))
}

// decide sets what to do for it.
func (e *exporter) decide(it *exportItem) {
	prev, a := it.prev, it.a
	switch {
	case prev != nil && prev.Checksum == a.Checksum && e.fileOK(prev):
		if prev.Path == it.target {
			it.act = actKeep
		} else {
			it.act = actMove
		}
	default:
		// New, replaced on the server, or its file is missing or not the
		// size it had. A file in the way that is not this asset's older
		// version (which goes to .trash) is never touched: with the
		// asset's bytes it is adopted, else the asset takes its suffixed
		// name.
		it.act = actFetch
		replaced := prev != nil && prev.Checksum != a.Checksum && prev.Path == it.target
		if !replaced && e.exists(it.target) {
			if e.sameBytes(it.target, a) {
				it.act = actAdopt
			} else if alt := idSuffixed(it.target, a.ID, 8); !e.exists(alt) || e.sameBytes(alt, a) {
				it.target = alt
			} else {
				it.target = idSuffixed(it.target, a.ID, len(a.ID))
			}
			if it.act == actFetch && e.exists(it.target) && e.sameBytes(it.target, a) {
				it.act = actAdopt
			}
		}
	}
	if e.opts.Sidecar != ExportSidecarNone && a.UpdatedAt.IsZero() && prev != nil {
		return // a motion part known from the state only
	}
	if e.opts.Sidecar != ExportSidecarNone {
		want := it.target + "." + string(e.opts.Sidecar)
		it.sidecar = it.act != actKeep || prev == nil || prev.Sidecar != want || !prev.UpdatedAt.Equal(a.UpdatedAt) || !e.exists(want)
	}
}

// sameBytes reports whether the file at p holds the asset's original (by
// SHA-1; for an external library's asset, whose checksum is not of the
// bytes, never).
func (e *exporter) sameBytes(p string, a *exportAsset) bool {
	if a.LibraryID != nil {
		return false
	}
	sum, err := decodeChecksum(a.Checksum)
	if err != nil {
		return false
	}
	same, err := sameFile(e.root, filepath.FromSlash(p), -1, sum)
	return err == nil && same
}
