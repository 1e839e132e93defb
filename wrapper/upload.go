package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/internal/hashcache"
)

// DefaultUploadConcurrency is the number of files uploaded at once when
// UploadOptions.Concurrency is zero.
const DefaultUploadConcurrency = 5

const (
	// checkBatchSize is the most checksums sent in one bulk-upload-check.
	checkBatchSize = 500
	// checkFlushDelay is how long a partial batch waits for more checksums.
	checkFlushDelay = 100 * time.Millisecond
	// checkConcurrency bounds bulk-upload-check calls in flight.
	checkConcurrency = 2
	// deviceID is sent as deviceId to servers that require it (2.x).
	deviceID = "goimmich"
)

// SidecarPolicy says whether XMP sidecars go up with their media file.
type SidecarPolicy int

const (
	// SidecarsOn (the default) sends "x.jpg.xmp", or else "x.xmp", next to
	// x.jpg as the asset's sidecarData.
	SidecarsOn SidecarPolicy = iota
	// SidecarsOff sends media files alone.
	SidecarsOff
)

// UploadOptions configures Upload. The zero value uploads with
// DefaultUploadConcurrency, duplicate checks and sidecars, and deletes
// nothing.
type UploadOptions struct {
	// Ignore lists doublestar globs (github.com/bmatcuk/doublestar) of files
	// and folders to skip while walking folders. A pattern without "/"
	// matches a base name at any depth ("*.tmp", "@eaDir"); one with "/"
	// matches the path relative to the folder named in paths ("raw/**") or
	// the whole path. Files named explicitly in paths are never ignored.
	Ignore []string
	// IncludeHidden walks into hidden files and folders (name starting with
	// "."). A hidden file named explicitly is always taken.
	IncludeHidden bool
	// SkipDuplicateCheck skips hashing and bulk-upload-check: every file is
	// sent, and the server still answers "duplicate" for content it has.
	SkipDuplicateCheck bool
	// Concurrency is the number of files uploaded at once (default 5).
	// Hashing uses all cores (GOMAXPROCS) independently of it.
	Concurrency int
	// AlbumName adds every uploaded or duplicate asset to the album of that
	// name, created when missing. It wins over AlbumPerFolder.
	AlbumName string
	// AlbumPerFolder adds each asset to an album named after its file's
	// folder (the base name), created when missing.
	AlbumPerFolder bool
	// DeleteUploaded deletes a local file after the server confirmed it
	// created its asset (never on failure, never in DryRun, never when the
	// file changed since it was scanned). Sidecars are kept.
	DeleteUploaded bool
	// DeleteDuplicates deletes a local file the server confirmed it already
	// has (a duplicate with an asset id that is not in the trash).
	DeleteDuplicates bool
	// RestoreTrashed restores from the trash the server's assets that local
	// files duplicate. Without it they are reported in Rejected as
	// duplicates with Trashed set, left in the trash, not added to albums
	// and never deleted locally.
	RestoreTrashed bool
	// DryRun asks the server the real questions (media types, duplicates,
	// existing albums) and changes nothing: no upload, album, restore or
	// local delete. Files that would be uploaded are listed in Uploaded
	// with the nil UUID as asset id, and UploadResult.DryRun is true.
	DryRun bool
	// Visibility, when not empty, is sent as each new asset's visibility
	// ("timeline", "archive", "hidden", "locked").
	Visibility api.AssetVisibility
	// Sidecars says whether XMP sidecars are sent (default SidecarsOn).
	Sidecars SidecarPolicy
	// HashCache configures the local cache of file checksums and of what
	// the server confirmed (see HashCacheOptions). It is ON by default, in
	// os.UserCacheDir()/goimmich/hashes.db: a re-run reads no unchanged
	// file, and still asks the server about every checksum in batches
	// unless RecheckAfter is set. With DeleteUploaded or DeleteDuplicates
	// every file is hashed fresh (cached checksums are never trusted before
	// deleting a local file); the fresh checksums are still stored. Unused
	// with SkipDuplicateCheck (nothing is hashed then).
	HashCache HashCacheOptions
	// Progress observes the run; nil means none.
	Progress Progress
	// ShowProgress, when Progress is nil, draws mpb progress bars
	// (NewBarProgress) on ProgressOutput (os.Stderr when nil).
	ShowProgress bool
	// ProgressOutput is where ShowProgress draws.
	ProgressOutput io.Writer
}

// RejectReason says why the server did not take a file.
type RejectReason string

const (
	// RejectDuplicate: the server already has an asset with this content.
	RejectDuplicate RejectReason = "duplicate"
	// RejectUnsupportedFormat: the file is not a media type the server
	// accepts (only for files named explicitly).
	RejectUnsupportedFormat RejectReason = "unsupported_format"
)

// UploadedFile is a file whose asset the server created.
type UploadedFile struct {
	// Asset is the server's answer (status "created"; "duplicate" when a
	// retry found the asset its own lost first attempt had created).
	Asset    api.AssetMediaResponseDto `json:"asset"`
	Filepath string                    `json:"filepath"`
	// Sidecar is the sidecar file sent with it, if any.
	Sidecar string `json:"sidecar,omitempty"`
	// Bytes is the file's size.
	Bytes int64 `json:"bytes"`
	// Deleted says the local file was deleted (DeleteUploaded).
	Deleted bool `json:"deleted,omitempty"`
}

// RejectedFile is a file the server did not take.
type RejectedFile struct {
	Filepath string `json:"filepath"`
	// AssetID is the server's asset with the same content (duplicates), or
	// nil.
	AssetID *string      `json:"asset_id"`
	Reason  RejectReason `json:"reason"`
	// Trashed says the server's duplicate is in the trash (and will be
	// deleted with it unless restored).
	Trashed bool `json:"trashed,omitempty"`
	// Restored says RestoreTrashed took it out of the trash.
	Restored bool `json:"restored,omitempty"`
	// Deleted says the local file was deleted (DeleteDuplicates).
	Deleted bool `json:"deleted,omitempty"`
}

// FailedFile is a file that did not make it, with the reason.
type FailedFile struct {
	Filepath string `json:"filepath"`
	Error    string `json:"error"`
	// Err is the error itself, for errors.Is/As.
	Err error `json:"-"`
}

// UploadStats counts the lists of an UploadResult.
type UploadStats struct {
	// Total is Uploaded + Rejected + Failed: every input file once.
	Total    int `json:"total"`
	Uploaded int `json:"uploaded"`
	Rejected int `json:"rejected"`
	Failed   int `json:"failed"`
	// BytesUploaded sums the sizes of the uploaded files.
	BytesUploaded int64 `json:"bytes_uploaded"`
	// DurationMS is the wall time of the run.
	DurationMS int64 `json:"duration_ms"`
	// HashCacheHits counts files whose checksum came from the hash cache
	// instead of reading them (UploadOptions.HashCache).
	HashCacheHits int `json:"hash_cache_hits,omitempty"`
	// ChecksSkipped counts files reported as duplicates from the cache's
	// recent server confirmations without asking the server
	// (HashCacheOptions.RecheckAfter).
	ChecksSkipped int `json:"checks_skipped,omitempty"`
}

// UploadResult tells what happened to every input file: each is in exactly
// one of Uploaded, Rejected and Failed. Its JSON form keeps the keys of the
// immichpy seed (uploaded, rejected, failed, stats) and adds fields.
type UploadResult struct {
	Uploaded []UploadedFile `json:"uploaded"`
	Rejected []RejectedFile `json:"rejected"`
	Failed   []FailedFile   `json:"failed"`
	Stats    UploadStats    `json:"stats"`
	// Albums reports each album touched, as the server answered.
	Albums []AlbumResult `json:"albums,omitempty"`
	// DeleteErrors lists local files that should have been deleted but were
	// not (they stay on disk).
	DeleteErrors []FailedFile `json:"delete_errors,omitempty"`
	// DryRun says nothing was changed.
	DryRun bool `json:"dry_run,omitempty"`
}

type outcome int

const (
	pending outcome = iota
	outUploaded
	outDuplicate
	outFailed
)

// fileState is the per-file record the pipeline fills; each index is
// written by one goroutine at a time, and read after the pipeline ends.
type fileState struct {
	f        *scannedFile // in the scan's result
	sum      Checksum
	hashed   bool
	cacheHit bool // the checksum came from the hash cache
	// checkSkipped: reported as duplicate from a recent confirmation in the
	// cache, without asking the server
	checkSkipped bool
	accepted     bool // bulk-upload-check said accept
	leader       int  // index of an earlier file with the same checksum, or -1

	out      outcome
	asset    api.AssetMediaResponseDto
	assetID  string
	trashed  *bool // for duplicates: nil when the server did not say
	restored bool
	deleted  bool
	err      error
}

// serverInfo is what Upload learns before it starts.
type serverInfo struct {
	media        MediaTypes
	userID       string
	major        int  // 0 when unknown
	deviceFields bool // send deviceAssetId/deviceId
}

// Upload sends the media files in paths (files and folders, walked
// recursively) to the server, each at most once, and says what happened to
// every file.
//
// Steps: check that the server is Immich and accepts the credentials; ask it
// which extensions it takes (GET /server/media-types, or DefaultMediaTypes
// when that fails); scan (see UploadOptions.Ignore, IncludeHidden: files
// found by walking that are not media are skipped silently, files named
// explicitly that are not media are Rejected as unsupported_format); hash
// files with SHA-1 on all cores (an unchanged file's checksum comes from
// the hash cache instead, see UploadOptions.HashCache), pipelined with POST
// /assets/bulk-upload-check in batches of 500, while Concurrency uploads
// run; then albums, then local deletes.
//
// Each upload is a multipart body streamed from the file with an exact
// Content-Length and an x-immich-checksum header; fileCreatedAt and
// fileModifiedAt are the file's modification time (Go has no portable birth
// time). deviceAssetId and deviceId are sent when GET /server/version says
// the major release is below 3 (2.x requires them), and also when the
// version is unknown: real servers of every release drop form fields they
// do not know, so sending them is always safe there.
//
// Duplicates: a file whose content the server has is Rejected as duplicate
// with the asset id; files in the run with the same content are uploaded
// once and the others are Rejected as duplicates of it. A duplicate in the
// server's trash is reported with Trashed set and left alone (restoring it
// would undo the user's deletion, and uploading again is impossible since
// the server deduplicates by checksum); RestoreTrashed restores it instead.
//
// Memory: bounded by Concurrency and GOMAXPROCS, not by file sizes: one
// 256 KiB buffer per hashing core, a few KiB of multipart headers and the
// HTTP transport's buffers per upload, plus a few hundred bytes of
// bookkeeping per scanned file (BenchmarkUpload1GiB: about 1 MB of heap
// growth for one 1 GiB file; BenchmarkUpload10kFiles: about 14 MB for
// 10,000 files, garbage included).
//
// Retries and stalls follow the Client's RetryPolicy; there is no total
// timeout. Errors of single files never stop the run: they are listed in
// Failed. Upload returns a non-nil error only when nothing could be
// attempted: bad ignore pattern, server unreachable, not Immich, or
// credentials rejected (the error says which and what to do). When ctx is
// cancelled, Upload stops promptly and returns the partial result (files not
// finished are in Failed with the context's error), skipping albums and
// deletes; no goroutine it started outlives it.
func (c *Client) Upload(ctx context.Context, paths []string, opts UploadOptions) (*UploadResult, error) {
	start := time.Now()
	if len(paths) == 0 {
		return nil, errors.New("wrapper: Upload needs at least one file or folder")
	}
	if err := validateIgnores(opts.Ignore); err != nil {
		return nil, err
	}
	info, err := c.preflight(ctx)
	if err != nil {
		return nil, err
	}
	prog := opts.Progress
	if prog == nil && opts.ShowProgress {
		out := opts.ProgressOutput
		if out == nil {
			out = os.Stderr
		}
		bp := NewBarProgress(out)
		defer bp.Wait()
		prog = bp
	}
	prog = progressOrNop(prog)

	sc := &scanner{
		media:         newExtSet(info.media.Image, info.media.Video),
		ignore:        opts.Ignore,
		includeHidden: opts.IncludeHidden,
		withSidecars:  opts.Sidecars == SidecarsOn,
	}
	sr := sc.scan(ctx, paths)
	st := make([]fileState, 0, sr.nfiles)
	var total int64
	for f := range sr.all() {
		st = append(st, fileState{f: f, leader: -1})
		total += f.size()
	}
	prog.Total(len(st)+len(sr.unsupported)+len(sr.failed), total)
	for _, p := range sr.unsupported {
		prog.Done(p, "rejected", nil)
	}
	for _, f := range sr.failed {
		prog.Done(f.Filepath, "failed", f.Err)
	}

	hc := c.openHashCache(opts)
	defer c.closeHashCache(hc) // after pipeline and the steps below: none uses it then
	cache := serverCache{hc: hc, server: c.baseURL.String(), user: info.userID, refresh: opts.HashCache.RecheckAfter / 2}
	c.pipeline(ctx, st, sr.started, opts, info, prog, cache)
	c.resolveLeftovers(ctx, st, prog)
	if ctx.Err() == nil && !opts.DryRun && len(opts.Ignore) == 0 {
		pruneHashCache(hc, &sr)
	}

	res := &UploadResult{DryRun: opts.DryRun} // the lists are made below, at their sizes
	if ctx.Err() == nil {
		if opts.RestoreTrashed && !opts.DryRun {
			c.restoreTrashed(ctx, st, cache)
		}
		if opts.AlbumName != "" || opts.AlbumPerFolder {
			res.Albums = c.updateAlbums(ctx, st, opts, info.userID)
		}
		if !opts.DryRun && (opts.DeleteUploaded || opts.DeleteDuplicates) {
			res.DeleteErrors = c.deleteConfirmed(ctx, st, opts)
		}
	}

	var nUp, nDup int
	for i := range st {
		switch st[i].out {
		case outUploaded:
			nUp++
		case outDuplicate:
			nDup++
		}
	}
	res.Uploaded = make([]UploadedFile, 0, nUp)
	res.Rejected = make([]RejectedFile, 0, nDup+len(sr.unsupported))
	res.Failed = make([]FailedFile, 0, len(st)-nUp-nDup+len(sr.failed))
	for _, p := range sr.unsupported {
		res.Rejected = append(res.Rejected, RejectedFile{Filepath: p, Reason: RejectUnsupportedFormat})
	}
	res.Failed = append(res.Failed, sr.failed...)
	for i := range st {
		s := &st[i]
		switch s.out {
		case outUploaded:
			res.Uploaded = append(res.Uploaded, UploadedFile{Asset: s.asset, Filepath: s.f.path, Sidecar: s.f.sidecar, Bytes: s.f.size(), Deleted: s.deleted})
			res.Stats.BytesUploaded += s.f.size()
		case outDuplicate:
			id := s.assetID
			res.Rejected = append(res.Rejected, RejectedFile{Filepath: s.f.path, AssetID: &id, Reason: RejectDuplicate,
				Trashed: s.trashed != nil && *s.trashed, Restored: s.restored, Deleted: s.deleted})
		default:
			res.Failed = append(res.Failed, FailedFile{Filepath: s.f.path, Error: s.err.Error(), Err: s.err})
		}
	}
	for i := range st {
		if st[i].cacheHit {
			res.Stats.HashCacheHits++
		}
		if st[i].checkSkipped {
			res.Stats.ChecksSkipped++
		}
	}
	res.Stats.Uploaded, res.Stats.Rejected, res.Stats.Failed = len(res.Uploaded), len(res.Rejected), len(res.Failed)
	res.Stats.Total = res.Stats.Uploaded + res.Stats.Rejected + res.Stats.Failed
	res.Stats.DurationMS = time.Since(start).Milliseconds()
	return res, nil
}

// preflight checks the server and the credentials and learns what Upload
// needs. Its errors say what to do.
func (c *Client) preflight(ctx context.Context) (serverInfo, error) {
	var info serverInfo
	if c.apiKey == "" && c.bearer == "" {
		return info, errors.New("wrapper: no credentials: give an API key with WithAPIKey (create one in Immich under Account Settings > API Keys)")
	}
	var ping struct {
		Res string `json:"res"`
	}
	if err := c.callJSON(ctx, "pingServer", http.MethodGet, "/server/ping", nil, &ping); err != nil {
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		var ae *APIError
		var ce *ConnectionError
		switch {
		case errors.As(err, &ae):
			return info, fmt.Errorf("wrapper: %s does not answer like an Immich server (GET /server/ping: %w); check the server URL", c.baseURL, err)
		case errors.As(err, &ce):
			return info, err
		default:
			return info, fmt.Errorf("wrapper: %s does not answer like an Immich server: %w; check the server URL", c.baseURL, err)
		}
	}
	if ping.Res != "pong" {
		return info, fmt.Errorf("wrapper: %s does not answer like an Immich server (GET /server/ping said %q, not \"pong\"); check the server URL", c.baseURL, ping.Res)
	}
	var me struct {
		ID string `json:"id"`
	}
	if err := c.callJSON(ctx, "getMyUser", http.MethodGet, "/users/me", nil, &me); err != nil {
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		switch {
		case errors.Is(err, ErrUnauthorized):
			return info, fmt.Errorf("wrapper: the server rejected the credentials: %w", err)
		case errors.Is(err, ErrForbidden):
			// A valid key without user.read (e.g. one made for uploads
			// only): go on; operations it may not do fail per file.
			c.logger.Debug("credentials lack user.read", "error", err)
		default:
			return info, fmt.Errorf("wrapper: checking the credentials: %w", err)
		}
	}
	info.userID = me.ID
	var mt struct {
		Image   []string `json:"image"`
		Video   []string `json:"video"`
		Sidecar []string `json:"sidecar"`
	}
	if err := c.callJSON(ctx, "getSupportedMediaTypes", http.MethodGet, "/server/media-types", nil, &mt); err != nil || len(mt.Image)+len(mt.Video) == 0 {
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		c.logger.Warn("using the built-in list of media types", "error", err)
		info.media = DefaultMediaTypes()
	} else {
		info.media = MediaTypes{Image: mt.Image, Video: mt.Video, Sidecar: mt.Sidecar}
	}
	var v struct {
		Major int `json:"major"`
	}
	if err := c.callJSON(ctx, "getServerVersion", http.MethodGet, "/server/version", nil, &v); err != nil || v.Major <= 0 {
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		c.logger.Warn("server version unknown; sending deviceAssetId/deviceId", "error", err)
		info.deviceFields = true
	} else {
		info.major = v.Major
		info.deviceFields = v.Major < 3
	}
	return info, nil
}

// pipeline hashes, checks and uploads st. It returns when all its
// goroutines have ended.
func (c *Client) pipeline(ctx context.Context, st []fileState, scanned time.Time, opts UploadOptions, info serverInfo, prog Progress, cache serverCache) {
	conc := opts.Concurrency
	if conc <= 0 {
		conc = DefaultUploadConcurrency
	}
	var g errgroup.Group
	toUpload := make(chan int, conc)
	if opts.SkipDuplicateCheck {
		g.Go(func() error {
			defer close(toUpload)
			for i := range st {
				select {
				case toUpload <- i:
				case <-ctx.Done():
					return nil
				}
			}
			return nil
		})
	} else {
		hashed := make(chan int, 2*checkBatchSize)
		g.Go(func() error { c.hashStage(ctx, st, scanned, hashed, prog, cache.hc, trustCache(opts)); return nil })
		g.Go(func() error { c.checkStage(ctx, st, hashed, toUpload, prog, cache, opts); return nil })
	}
	for range conc {
		g.Go(func() error {
			for {
				select {
				case i, ok := <-toUpload:
					if !ok {
						return nil
					}
					c.uploadOne(ctx, &st[i], opts, info, prog, cache)
				case <-ctx.Done():
					return nil
				}
			}
		})
	}
	_ = g.Wait()
}

// hashStage hashes every file on GOMAXPROCS goroutines (or, when trusted,
// takes its checksum from cache if the file is unchanged), stores fresh
// checksums in cache, and sends the index of each hashed file to out, which
// it closes at the end.
func (c *Client) hashStage(ctx context.Context, st []fileState, scanned time.Time, out chan<- int, prog Progress, cache *hashcache.Cache, trusted bool) {
	defer close(out)
	abs := absPaths()
	// GOMAXPROCS workers take the files in order (a goroutine per file
	// would cost a closure and a goroutine for each of 100,000 cache hits).
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(st) || ctx.Err() != nil {
					return
				}
				sum, hit, err := hashOne(ctx, st[i].f, scanned, abs, prog, cache, trusted)
				if err != nil {
					if ctx.Err() == nil {
						st[i].fail(fmt.Errorf("hashing: %w", err))
					}
					continue
				}
				st[i].sum, st[i].hashed, st[i].cacheHit = sum, true, hit
				select {
				case out <- i:
				case <-ctx.Done():
				}
			}
		})
	}
	wg.Wait()
}

// scanStatFresh is how long the scan's stat of a file stands for a fresh
// one when the hash cache is looked up. A file rewritten within that time
// after the scan saw it may be reported with its previous checksum in this
// run; the next run sees the change. Longer after the scan (a first run of
// a large library takes hours), the file is stat'ed again: a cached re-run
// of 10,000 files spent 8% of its time on that second stat.
var scanStatFresh = 2 * time.Second

// hashOne returns f's checksum, from cache (hit true) when trusted and the
// file is unchanged since the scan (which started at scanned), else by
// reading it (and then stores it in cache).
func hashOne(ctx context.Context, f *scannedFile, scanned time.Time, abs func(string) string, prog Progress, cache *hashcache.Cache, trusted bool) (sum Checksum, hit bool, err error) {
	prog.Start(f.path, f.size())
	var key hashcache.FileKey
	keyed := false
	if cache != nil {
		// The key comes from a stat taken before the file is read, as the
		// cache requires: the scan's while it is fresh, else a new one, and
		// a file changed since the scan is hashed, not looked up.
		if time.Since(scanned) < scanStatFresh {
			key, keyed = f.stat, true
		} else if fi, err := os.Stat(f.path); err == nil && f.sameAs(fi) {
			key, keyed = hashcache.StatKey(fi), true
		}
		if keyed {
			key.Path = abs(f.path)
			keyed = key.Path != ""
		}
	}
	if keyed {
		if sum, ok := lookup(cache, key, trusted); ok {
			return sum, true, nil
		}
	}
	sum, _, err = hashFile(ctx, f.path, nil)
	if err != nil {
		return sum, false, err
	}
	if keyed {
		cache.Store(key, sum)
	}
	return sum, false, nil
}

// pruneHashCache forgets the cached checksums of files that were under the
// walked folders but are no longer there (deleted, moved, renamed), so the
// cache does not grow for ever. Only after a complete walk: not when a
// path failed, and not with ignore patterns (a run that skips a subfolder
// must not forget it; the CLI without -r ignores subfolders).
func pruneHashCache(hc *hashcache.Cache, sr *scanResult) {
	if hc == nil || len(sr.folders) == 0 || len(sr.failed) > 0 {
		return
	}
	abs := absPaths()
	found := make(map[string]bool, sr.nfiles)
	for f := range sr.all() {
		found[abs(f.path)] = true
	}
	for _, folder := range sr.folders {
		if a := abs(folder); a != "" {
			hc.Prune(a, func(p string) bool { return found[p] })
		}
	}
}

// absPaths returns a function that makes a path absolute and cleaned, or
// "" when it cannot. It reads the current directory once, where
// filepath.Abs reads it on each call (a tenth of a cached re-run's CPU).
func absPaths() func(string) string {
	cwd, err := os.Getwd()
	return func(p string) string {
		switch {
		case filepath.IsAbs(p):
			return filepath.Clean(p)
		case err != nil:
			return ""
		}
		return filepath.Join(cwd, p)
	}
}

// checkStage batches hashed files into bulk-upload-check calls (at most
// checkConcurrency in flight) and sends accepted files to toUpload, which
// it closes at the end. A file whose checksum an earlier file of the run
// has becomes that file's follower and is not checked or uploaded. With
// HashCache.RecheckAfter > 0 (and no delete option), a checksum the cache
// says this server confirmed within that time is a duplicate without
// asking.
func (c *Client) checkStage(ctx context.Context, st []fileState, hashed <-chan int, toUpload chan<- int, prog Progress, cache serverCache, opts UploadOptions) {
	defer close(toUpload)
	var since time.Time
	shortcut := opts.HashCache.RecheckAfter > 0 && trustCache(opts)
	if shortcut {
		since = time.Now().Add(-opts.HashCache.RecheckAfter)
	}
	var g errgroup.Group
	g.SetLimit(checkConcurrency)
	leaders := make(map[Checksum]int, len(st))
	var batch []int
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	flush := func() {
		b := batch
		batch = nil
		g.Go(func() error { c.checkBatch(ctx, st, b, toUpload, prog, cache); return nil })
	}
loop:
	for {
		select {
		case i, ok := <-hashed:
			if !ok {
				break loop
			}
			if l, dup := leaders[st[i].sum]; dup {
				st[i].leader = l
				continue
			}
			leaders[st[i].sum] = i
			if shortcut {
				if id, ok := cache.confirmedSince(st[i].sum, since); ok {
					st[i].out, st[i].assetID, st[i].trashed, st[i].checkSkipped = outDuplicate, id, nil, true
					prog.Done(st[i].f.path, "duplicate", nil)
					continue
				}
			}
			batch = append(batch, i)
			if len(batch) == 1 {
				timer.Reset(checkFlushDelay)
			}
			if len(batch) >= checkBatchSize {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			if len(batch) > 0 {
				flush()
			}
		case <-ctx.Done():
			break loop
		}
	}
	if len(batch) > 0 && ctx.Err() == nil {
		flush()
	}
	_ = g.Wait()
}

// checkBatch asks the server which files of idx it already has, and keeps
// the cache's confirmations true: an accepted checksum (the asset is gone)
// or a trashed duplicate is forgotten, a live duplicate confirmed.
func (c *Client) checkBatch(ctx context.Context, st []fileState, idx []int, toUpload chan<- int, prog Progress, cache serverCache) {
	items := make([]api.AssetBulkUploadCheckItem, len(idx))
	inBatch := make(map[int]bool, len(idx))
	for k, i := range idx {
		items[k] = api.AssetBulkUploadCheckItem{Checksum: st[i].sum.Hex(), Id: strconv.Itoa(i)}
		inBatch[i] = true
	}
	var ans api.AssetBulkUploadCheckResponseDto
	err := c.callJSON(ctx, "checkBulkUpload", http.MethodPost, "/assets/bulk-upload-check", api.AssetBulkUploadCheckDto{Assets: items}, &ans)
	if err != nil {
		if ctx.Err() == nil {
			for _, i := range idx {
				st[i].fail(fmt.Errorf("checking for duplicates: %w", err))
				prog.Done(st[i].f.path, "failed", st[i].err)
			}
		}
		return
	}
	for _, r := range ans.Results {
		i, err := strconv.Atoi(r.Id)
		if err != nil || !inBatch[i] {
			continue
		}
		delete(inBatch, i)
		s := &st[i]
		switch {
		case r.Action == api.AssetUploadActionAccept:
			s.accepted = true
			cache.forget(s.sum)
			select {
			case toUpload <- i:
			case <-ctx.Done():
				return
			}
		case r.AssetId != nil && (r.Reason == nil || *r.Reason == api.AssetRejectReasonDuplicate):
			s.out, s.assetID, s.trashed = outDuplicate, r.AssetId.String(), r.IsTrashed
			if r.IsTrashed != nil && *r.IsTrashed {
				cache.forget(s.sum)
			} else {
				cache.confirm(s.sum, s.assetID)
			}
			prog.Done(s.f.path, "duplicate", nil)
		default:
			reason := "no reason given"
			if r.Reason != nil {
				reason = string(*r.Reason)
			}
			s.fail(fmt.Errorf("the server rejected the file in bulk-upload-check: %s", reason))
			prog.Done(s.f.path, "failed", s.err)
		}
	}
	for i := range inBatch {
		st[i].fail(errors.New("the server did not answer for this file in bulk-upload-check"))
		prog.Done(st[i].f.path, "failed", st[i].err)
	}
}

func (s *fileState) fail(err error) {
	s.out, s.err = outFailed, err
}

// uploadOne sends one file (with its sidecar) as POST /assets and records
// the server's answer (created or duplicate) in the cache.
func (c *Client) uploadOne(ctx context.Context, s *fileState, opts UploadOptions, info serverInfo, prog Progress, cache serverCache) {
	if opts.DryRun {
		s.out = outUploaded
		s.asset = api.AssetMediaResponseDto{Id: uuid.Nil, Status: api.AssetMediaStatusCreated}
		prog.Done(s.f.path, "uploaded", nil)
		return
	}
	prog.Start(s.f.path, s.f.size())
	asset, err := c.uploadFile(ctx, s, opts, info, prog)
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return // reported as cancelled with the rest
		}
		s.fail(err)
		prog.Done(s.f.path, "failed", err)
	case asset.created || (asset.retried && s.accepted):
		// created, or our own lost first attempt created it: the retry's
		// "duplicate" names the asset this file made.
		s.out, s.asset = outUploaded, asset.dto
		if s.hashed {
			cache.confirm(s.sum, asset.dto.Id.String())
		}
		prog.Done(s.f.path, "uploaded", nil)
	default:
		s.out, s.assetID = outDuplicate, asset.dto.Id.String()
		if s.hashed {
			cache.confirm(s.sum, s.assetID)
		}
		prog.Done(s.f.path, "duplicate", nil)
	}
}

type uploadAnswer struct {
	dto     api.AssetMediaResponseDto
	created bool
	retried bool
}

// uploadFile streams the multipart body of s to POST /assets.
func (c *Client) uploadFile(ctx context.Context, s *fileState, opts UploadOptions, info serverInfo, prog Progress) (uploadAnswer, error) {
	var ans uploadAnswer
	body, err := newUploadBody(*s.f, opts.Visibility, info.deviceFields, func(n int) { prog.Add(s.f.path, int64(n)) })
	if err != nil {
		return ans, err
	}
	actx, attempts := withAttemptCounter(ctx)
	first, err := body.open()
	if err != nil {
		return ans, err
	}
	req, err := c.NewRequest(actx, http.MethodPost, "/assets", nil, first)
	if err != nil {
		first.Close()
		return ans, err
	}
	req.ContentLength = body.length()
	req.GetBody = body.open
	req.Header.Set("Content-Type", body.contentType())
	req.Header.Set("Accept", "application/json")
	if s.hashed {
		req.Header.Set("x-immich-checksum", s.sum.Hex())
	}
	resp, err := c.Do(req, "uploadAsset")
	if err != nil {
		return ans, fmt.Errorf("uploading %s: %w", filepath.Base(s.f.path), err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ans.dto); err != nil {
		return ans, fmt.Errorf("uploading %s: malformed answer from the server: %w", filepath.Base(s.f.path), err)
	}
	ans.created = ans.dto.Status == api.AssetMediaStatusCreated
	ans.retried = attempts.Load() > 1
	return ans, nil
}

// uploadBody is a multipart/form-data body whose bytes come from small
// pre-built header segments and the files themselves, so its length is
// known without reading the files, and only a few KiB live in memory.
type uploadBody struct {
	boundary        string
	head, mid, tail []byte // before the file, between file and sidecar, after
	path, sidecar   string
	size, sideSize  int64
	onRead          func(int)
}

// newUploadBody lays out the fields (in the official CLI's order: fields,
// then assetData, then sidecarData).
func newUploadBody(f scannedFile, vis api.AssetVisibility, deviceFields bool, onRead func(int)) (*uploadBody, error) {
	var buf bytes.Buffer
	buf.Grow(512) // fields and one part header: no regrowth for common names
	mw := multipart.NewWriter(&buf)
	base := filepath.Base(f.path)
	ts := f.modTime().UTC().Format("2006-01-02T15:04:05.000Z")
	fields := [][2]string{}
	if deviceFields {
		fields = append(fields, [2]string{"deviceAssetId", strings.Join(strings.Fields(base), "") + "-" + strconv.FormatInt(f.size(), 10)},
			[2]string{"deviceId", deviceID})
	}
	fields = append(fields, [2]string{"fileCreatedAt", ts}, [2]string{"fileModifiedAt", ts})
	if vis != "" {
		fields = append(fields, [2]string{"visibility", string(vis)})
	}
	for _, kv := range fields {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	b := &uploadBody{boundary: mw.Boundary(), path: f.path, size: f.size(), sidecar: f.sidecar, sideSize: f.sidecarSize, onRead: onRead}
	if _, err := mw.CreatePart(fileHeader("assetData", base)); err != nil {
		return nil, err
	}
	b.head = bytes.Clone(buf.Bytes())
	buf.Reset()
	if f.sidecar != "" {
		if _, err := mw.CreatePart(fileHeader("sidecarData", filepath.Base(f.sidecar))); err != nil {
			return nil, err
		}
		b.mid = bytes.Clone(buf.Bytes())
		buf.Reset()
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.tail = bytes.Clone(buf.Bytes())
	return b, nil
}

// headerEscaper percent-encodes what would end a quoted header value
// (built once: building a Replacer allocates ~9 KB, per file otherwise).
var headerEscaper = strings.NewReplacer(`"`, "%22", "\r", "%0D", "\n", "%0A")

// fileHeader is a part header for a file, with the name escaped the way
// browsers do (", CR and LF percent-encoded) so odd names cannot break the
// header.
func fileHeader(field, name string) textproto.MIMEHeader {
	esc := headerEscaper.Replace(name)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, field, esc))
	ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	return h
}

func (b *uploadBody) contentType() string { return "multipart/form-data; boundary=" + b.boundary }

// length is the exact byte count of the body: the multipart framing plus
// the file sizes.
func (b *uploadBody) length() int64 {
	n := int64(len(b.head)+len(b.tail)) + b.size
	if b.sidecar != "" {
		n += int64(len(b.mid)) + b.sideSize
	}
	return n
}

// open returns a fresh reader of the whole body (it is also the request's
// GetBody, for retries). The files are opened now and closed by Close.
func (b *uploadBody) open() (io.ReadCloser, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return nil, err
	}
	mr := &multiReadCloser{closers: []io.Closer{f}}
	readers := []io.Reader{bytes.NewReader(b.head), &exactReader{r: f, left: b.size, name: b.path, onRead: b.onRead}}
	if b.sidecar != "" {
		sf, err := os.Open(b.sidecar)
		if err != nil {
			f.Close()
			return nil, err
		}
		mr.closers = append(mr.closers, sf)
		readers = append(readers, bytes.NewReader(b.mid), &exactReader{r: sf, left: b.sideSize, name: b.sidecar})
	}
	readers = append(readers, bytes.NewReader(b.tail))
	mr.Reader = io.MultiReader(readers...)
	return mr, nil
}

type multiReadCloser struct {
	io.Reader
	closers []io.Closer
}

func (m *multiReadCloser) Close() error {
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// exactReader reads exactly left bytes of r: a file that shrank since it
// was scanned is an error instead of a short body.
type exactReader struct {
	r      io.Reader
	left   int64
	name   string
	onRead func(int)
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if n > 0 && e.onRead != nil {
		e.onRead(n)
	}
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("%s shrank while being uploaded: %w", e.name, io.ErrUnexpectedEOF)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// resolveLeftovers settles files the pipeline did not: followers take their
// leader's outcome, unfinished files fail with the context's error.
func (c *Client) resolveLeftovers(ctx context.Context, st []fileState, prog Progress) {
	for i := range st {
		s := &st[i]
		if s.leader >= 0 && s.out == pending {
			l := &st[s.leader]
			switch l.out {
			case outUploaded:
				s.out, s.assetID, s.trashed = outDuplicate, l.asset.Id.String(), new(bool)
				if l.asset.Id == uuid.Nil { // dry run: no id yet
					s.assetID = uuid.Nil.String()
				}
			case outDuplicate:
				s.out, s.assetID, s.trashed = outDuplicate, l.assetID, l.trashed
			case outFailed:
				s.fail(fmt.Errorf("not sent: same content as %s, which failed: %w", l.f.path, l.err))
			}
			if s.out != pending {
				prog.Done(s.f.path, statusOf(s.out), s.err)
				continue
			}
		}
		if s.out == pending {
			err := ctx.Err()
			if err == nil {
				err = errors.New("not attempted")
			}
			s.fail(fmt.Errorf("not finished: %w", err))
			prog.Done(s.f.path, "failed", s.err)
		}
	}
}

func statusOf(o outcome) Status {
	switch o {
	case outUploaded:
		return StatusUploaded
	case outDuplicate:
		return StatusDuplicate
	}
	return StatusFailed
}

// restoreTrashed takes the server's trashed duplicates out of the trash and
// marks (and confirms in the cache) those the server confirms restored.
func (c *Client) restoreTrashed(ctx context.Context, st []fileState, cache serverCache) {
	byID := map[string][]int{}
	var ids []string
	for i := range st {
		s := &st[i]
		if s.out == outDuplicate && s.trashed != nil && *s.trashed {
			if _, ok := byID[s.assetID]; !ok {
				ids = append(ids, s.assetID)
			}
			byID[s.assetID] = append(byID[s.assetID], i)
		}
	}
	for start := 0; start < len(ids); start += 1000 {
		batch := ids[start:min(start+1000, len(ids))]
		uids := make([]uuid.UUID, 0, len(batch))
		for _, id := range batch {
			if u, err := uuid.Parse(id); err == nil {
				uids = append(uids, u)
			}
		}
		var ans struct {
			Count int `json:"count"`
		}
		err := c.callJSON(ctx, "restoreAssets", http.MethodPost, "/trash/restore/assets", api.BulkIdsDto{Ids: uids}, &ans)
		if err != nil {
			c.logger.Warn("restoring trashed duplicates failed", "error", err)
			continue
		}
		for _, id := range batch {
			// The answer is only a count: confirm each asset left the trash.
			trashed, err := c.assetTrashed(ctx, id)
			if err != nil || trashed {
				continue
			}
			for _, i := range byID[id] {
				st[i].restored = true
				st[i].trashed = new(bool)
				cache.confirm(st[i].sum, id)
			}
		}
	}
}

// assetTrashed asks the server whether asset id is in the trash.
func (c *Client) assetTrashed(ctx context.Context, id string) (bool, error) {
	var a struct {
		IsTrashed *bool `json:"isTrashed"`
	}
	if err := c.callJSON(ctx, "getAssetInfo", http.MethodGet, "/assets/"+url.PathEscape(id), nil, &a); err != nil {
		return false, err
	}
	if a.IsTrashed == nil {
		return false, errors.New("getAssetInfo: answer has no isTrashed")
	}
	return *a.IsTrashed, nil
}

// deleteConfirmed deletes local files the server confirmed: uploaded files
// (DeleteUploaded) and duplicates of assets not in the trash
// (DeleteDuplicates; when the trash state is unknown it asks the server).
// A file that changed since the scan is kept. Failures are returned; the
// files stay.
func (c *Client) deleteConfirmed(ctx context.Context, st []fileState, opts UploadOptions) []FailedFile {
	var errs []FailedFile
	keep := func(s *fileState, err error) {
		errs = append(errs, FailedFile{Filepath: s.f.path, Error: "not deleted: " + err.Error(), Err: err})
	}
	for i := range st {
		if ctx.Err() != nil {
			break
		}
		s := &st[i]
		switch {
		case s.out == outUploaded && opts.DeleteUploaded:
		case s.out == outDuplicate && opts.DeleteDuplicates && s.assetID != "":
			if s.trashed == nil {
				t, err := c.assetTrashed(ctx, s.assetID)
				if err != nil {
					keep(s, fmt.Errorf("cannot confirm the server's copy is not in the trash: %w", err))
					continue
				}
				s.trashed = &t
			}
			if *s.trashed {
				keep(s, errors.New("the server's copy is in the trash"))
				continue
			}
		default:
			continue
		}
		fi, err := os.Lstat(s.f.path)
		if err != nil {
			keep(s, err)
			continue
		}
		if fi.Mode().IsRegular() && !s.f.sameAs(fi) {
			keep(s, errors.New("the file changed since it was uploaded"))
			continue
		}
		if err := os.Remove(s.f.path); err != nil {
			keep(s, err)
			continue
		}
		s.deleted = true
	}
	return errs
}
