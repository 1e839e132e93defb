package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/internal/hashcache"
)

// pipeline hashes, checks and uploads the run's files: hashStage feeds
// checkStage, which feeds Concurrency upload workers (with
// SkipDuplicateCheck every file goes straight to them). It returns when
// all its goroutines have ended.
func (r *uploadRun) pipeline(ctx context.Context) {
	conc := r.opts.Concurrency
	if conc <= 0 {
		conc = DefaultUploadConcurrency
	}
	var g errgroup.Group
	toUpload := make(chan int, conc)
	if r.opts.SkipDuplicateCheck {
		g.Go(func() error {
			defer close(toUpload)
			for i := range r.nfiles() {
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
		g.Go(func() error { r.hashStage(ctx, hashed); return nil })
		g.Go(func() error { r.checkStage(ctx, hashed, toUpload); return nil })
	}
	for range conc {
		g.Go(func() error {
			for {
				select {
				case i, ok := <-toUpload:
					if !ok {
						return nil
					}
					r.uploadOne(ctx, i)
				case <-ctx.Done():
					return nil
				}
			}
		})
	}
	_ = g.Wait()
}

// hashStage hashes every file on GOMAXPROCS goroutines (or, when trusted,
// takes its checksum from the cache if the file is unchanged), stores fresh
// checksums in the cache, and sends the index of each hashed file to out,
// which it closes at the end.
func (r *uploadRun) hashStage(ctx context.Context, out chan<- int) {
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
				if i >= r.nfiles() || ctx.Err() != nil {
					return
				}
				fr := r.file(i)
				if r.speculates(&fr.scannedFile) {
					if sum, ok := r.cachedSum(fr, abs); ok {
						r.prog.Start(r.path(fr), fr.size())
						fr.sum, fr.hashed, fr.cacheHit = sum, true, true
					} else {
						fr.speculative = true
					}
					select {
					case out <- i:
					case <-ctx.Done():
					}
					continue
				}
				sum, hit, err := r.hashOne(ctx, fr, abs)
				if err != nil {
					if ctx.Err() == nil {
						r.settle(i, failure(fmt.Errorf("hashing: %w", err)))
					}
					continue
				}
				fr.sum, fr.hashed, fr.cacheHit = sum, true, hit
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
// a large library takes hours), the file is stat'ed again.
var scanStatFresh = 2 * time.Second

// hashOne returns f's checksum: from the cache (hit true) when it may be
// trusted and the file is unchanged since the scan, else by reading it
// (and then stores it in the cache).
func (r *uploadRun) hashOne(ctx context.Context, f *fileRun, abs func(string) string) (sum Checksum, hit bool, err error) {
	path := r.path(f)
	r.prog.Start(path, f.size())
	key, keyed := r.cacheKey(&f.scannedFile, path, abs)
	if keyed {
		if sum, ok := lookup(r.cache.hc, key, trustCache(r.opts)); ok {
			return sum, true, nil
		}
	}
	sum, _, err = hashFile(ctx, path, nil)
	if err != nil {
		return sum, false, err
	}
	if keyed {
		r.cache.hc.Store(key, sum)
	}
	return sum, false, nil
}

// cacheKey returns the hash cache's key of f (at path), or keyed false when
// there is no cache or f changed since the scan. The key comes from a stat
// taken before the file is read, as the cache requires: the scan's while
// it is fresh, else a new one, and a file changed since the scan is
// hashed, not looked up.
func (r *uploadRun) cacheKey(f *scannedFile, path string, abs func(string) string) (key hashcache.FileKey, keyed bool) {
	if r.cache.hc == nil {
		return key, false
	}
	if time.Since(r.scan.started) < scanStatFresh {
		key, keyed = f.stat.key(""), true
	} else if fi, err := os.Stat(path); err == nil && f.sameAs(fi) {
		key, keyed = hashcache.StatKey(fi), true
	}
	if keyed {
		key.Path = abs(path)
		keyed = key.Path != ""
	}
	return key, keyed
}

// cachedSum is f's checksum from the hash cache, when it has one and may
// be trusted.
func (r *uploadRun) cachedSum(f *fileRun, abs func(string) string) (Checksum, bool) {
	key, keyed := r.cacheKey(&f.scannedFile, r.path(f), abs)
	if !keyed {
		return Checksum{}, false
	}
	return lookup(r.cache.hc, key, trustCache(r.opts))
}

// checkStage batches hashed files into bulk-upload-check calls (at most
// checkConcurrency in flight) and sends accepted files to toUpload, which
// it closes at the end. A file whose checksum an earlier file of the run
// has becomes that file's follower and is not checked or uploaded. With
// HashCache.RecheckAfter > 0 (and no delete option), a checksum the cache
// says this server confirmed within that time is a duplicate without
// asking.
func (r *uploadRun) checkStage(ctx context.Context, hashed <-chan int, toUpload chan<- int) {
	defer close(toUpload)
	var since time.Time
	shortcut := r.opts.HashCache.RecheckAfter > 0 && trustCache(r.opts)
	if shortcut {
		since = time.Now().Add(-r.opts.HashCache.RecheckAfter)
	}
	var g errgroup.Group
	g.SetLimit(checkConcurrency)
	var handOff sync.WaitGroup
	defer handOff.Wait() // before toUpload is closed
	leaders := newLeaderIndex(r.nfiles())
	var batch []int
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	flush := func() {
		b := batch
		batch = nil
		g.Go(func() error { r.checkBatch(ctx, b, toUpload); return nil })
	}
	check := func(i int) {
		batch = append(batch, i)
		if len(batch) == 1 {
			timer.Reset(checkFlushDelay)
		}
		if len(batch) >= checkBatchSize {
			timer.Stop()
			flush()
		}
	}
	// window holds the files whose checksums the cache may have confirmed
	// recently (shortcut), looked up together in checksum order when it is
	// full or recheckDelay after its first file.
	var window []int32
	wtimer := time.NewTimer(time.Hour)
	wtimer.Stop()
	defer wtimer.Stop()
	lookUp := func() {
		wtimer.Stop()
		for _, i := range r.skipConfirmed(window, since) {
			check(int(i))
		}
		window = window[:0]
	}
loop:
	for {
		select {
		case i, ok := <-hashed:
			if !ok {
				break loop
			}
			fr := r.file(i)
			if fr.speculative {
				// Handed over aside, so that batches of small files are
				// still checked while every worker is busy.
				handOff.Go(func() {
					select {
					case toUpload <- i:
					case <-ctx.Done():
					}
				})
				continue
			}
			if l := leaders.firstWith(r, i); l >= 0 {
				fr.leader = l
				continue
			}
			if shortcut {
				window = append(window, int32(i))
				if len(window) == 1 {
					wtimer.Reset(recheckDelay)
				}
				if len(window) >= recheckWindow {
					lookUp()
				}
				continue
			}
			check(i)
		case <-timer.C:
			if len(batch) > 0 {
				flush()
			}
		case <-wtimer.C:
			if len(window) > 0 {
				lookUp()
			}
		case <-ctx.Done():
			break loop
		}
	}
	if len(window) > 0 && ctx.Err() == nil {
		lookUp()
	}
	if len(batch) > 0 && ctx.Err() == nil {
		flush()
	}
	_ = g.Wait()
}

// recheckDelay is how long a file waits for others to look its recent
// confirmation up with (recheckWindow): a cached re-run hashes on, a first
// run is held up by at most this.
const recheckDelay = 500 * time.Millisecond

// recheckWindow is the most files whose recent confirmations are looked
// up at once: sorted by checksum, the lookups of a window read each page
// of the cache's confirmations once (one by one, a re-run of 100,000
// files faulted a page in for each), and a window costs about 70 bytes a
// file while it is looked up (its order is kept for the checks and
// uploads that follow).
const recheckWindow = 1 << 16

// skipConfirmed settles as duplicates the files of idx whose checksums the
// cache says this server confirmed at or after since, without asking the
// server, and returns the others in idx's order (reused).
func (r *uploadRun) skipConfirmed(idx []int32, since time.Time) []int32 {
	sorted := slices.Clone(idx)
	r.sortBySum(sorted)
	sums := make([][20]byte, len(sorted))
	for k, i := range sorted {
		sums[k] = r.file(int(i)).sum
	}
	ids := make([]string, len(sorted))
	r.cache.confirmedSinceAll(sums, since, func(k int, id string) { ids[k] = id })
	for k, i := range sorted {
		if ids[k] != "" {
			r.file(int(i)).checkSkipped = true
			u, _ := uuid.Parse(ids[k]) // uuid.Nil if the cache holds junk
			r.settle(int(i), duplicateOf(u, trashUnknown))
		}
	}
	rest := idx[:0]
	for _, i := range idx {
		if !r.file(int(i)).checkSkipped {
			rest = append(rest, i)
		}
	}
	return rest
}

// checkBatch asks the server which files of idx it already has, and keeps
// the cache's confirmations true: a trashed duplicate is forgotten, a live
// duplicate confirmed, and an accepted checksum (the asset is gone) is
// confirmed anew by its upload or forgotten when that fails (uploadOne,
// settleLeftovers: a delete written first would cost a write per file of
// a first upload). With
// SkipServerDeleted, an accepted checksum the cache confirmed is the
// server's deleted asset: it is rejected, and both confirmations are kept.
func (r *uploadRun) checkBatch(ctx context.Context, idx []int, toUpload chan<- int) {
	items := make([]api.AssetBulkUploadCheckItem, len(idx))
	inBatch := make(map[int]bool, len(idx))
	for k, i := range idx {
		items[k] = api.AssetBulkUploadCheckItem{Checksum: r.file(i).sum.Hex(), Id: strconv.Itoa(i)}
		inBatch[i] = true
	}
	var ans api.AssetBulkUploadCheckResponseDto
	err := r.c.callJSON(ctx, "checkBulkUpload", http.MethodPost, "/assets/bulk-upload-check", api.AssetBulkUploadCheckDto{Assets: items}, &ans)
	if err != nil {
		if ctx.Err() == nil {
			for _, i := range idx {
				r.settle(i, failure(fmt.Errorf("checking for duplicates: %w", err)))
			}
		}
		return
	}
	keep := r.opts.SkipServerDeleted
	for _, a := range ans.Results {
		i, err := strconv.Atoi(a.Id)
		if err != nil || !inBatch[i] {
			continue
		}
		delete(inBatch, i)
		fr := r.file(i)
		switch {
		case a.Action == api.AssetUploadActionAccept && keep && r.cache.confirmed(fr.sum):
			r.settle(i, outcome{fileState: fileState{status: rejected, reason: serverDeleted}})
		case a.Action == api.AssetUploadActionAccept:
			fr.accepted = true
			select {
			case toUpload <- i:
			case <-ctx.Done():
				return
			}
		case a.AssetId != nil && (a.Reason == nil || *a.Reason == api.AssetRejectReasonDuplicate):
			o := duplicateOf(*a.AssetId, trashOf(a.IsTrashed))
			switch {
			case o.trash != inTrash:
				fr.confirmLater = true // by confirmAnswers, after the pipeline
			case !keep:
				r.cache.forget(fr.sum)
			}
			r.settle(i, o)
		default:
			reason := "no reason given"
			if a.Reason != nil {
				reason = string(*a.Reason)
			}
			r.settle(i, failure(fmt.Errorf("the server rejected the file in bulk-upload-check: %s", reason)))
		}
	}
	for i := range inBatch {
		r.settle(i, failure(errors.New("the server did not answer for this file in bulk-upload-check")))
	}
}

// uploadOne sends file i (with its sidecar) as POST /assets and records
// the server's answer (created or duplicate) in the cache.
func (r *uploadRun) uploadOne(ctx context.Context, i int) {
	fr := r.file(i)
	if fr.speculative {
		r.uploadSpeculative(ctx, i)
		return
	}
	if r.opts.DryRun {
		r.unconfirm(fr)
		r.settle(i, outcome{fileState: fileState{status: uploaded}})
		return
	}
	path := r.path(fr)
	r.prog.Start(path, fr.size())
	ans, err := r.send(ctx, i, nil)
	if err != nil {
		r.unconfirm(fr)
		if ctx.Err() == nil { // else reported as cancelled with the rest
			r.settle(i, failure(err))
		}
		return
	}
	// By confirmAnswers, after the pipeline, with the id settled below
	// (for an accepted file, the confirmation the cache may hold names the
	// asset that is gone). A checked file was hashed.
	fr.confirmLater = fr.hashed
	if ans.created || (ans.retried && fr.accepted) {
		// created, or our own lost first attempt created it: the retry's
		// "duplicate" names the asset this file made.
		r.settle(i, uploadedAs(ans.dto.Id, !ans.created))
	} else {
		r.settle(i, duplicateOf(ans.dto.Id, trashUnknown))
	}
}

type uploadAnswer struct {
	dto     api.AssetMediaResponseDto
	created bool
	retried bool
}

// send streams the multipart body of file i to POST /assets. sent, when
// not nil, counts the file's bytes read into the body (by every attempt).
func (r *uploadRun) send(ctx context.Context, i int, sent *atomic.Int64) (uploadAnswer, error) {
	var ans uploadAnswer
	fr := r.file(i)
	path := r.path(fr)
	body, err := newUploadBody(&fr.scannedFile, path, r.scan.sidecar(i), r.form, func(n int) {
		r.prog.Add(path, int64(n))
		if sent != nil {
			sent.Add(int64(n))
		}
	})
	if err != nil {
		return ans, err
	}
	actx, attempts := withAttemptCounter(ctx)
	first, err := body.Open()
	if err != nil {
		return ans, err
	}
	req, err := r.c.NewRequest(actx, http.MethodPost, "/assets", nil, first)
	if err != nil {
		first.Close()
		return ans, err
	}
	req.ContentLength = body.Len()
	req.GetBody = body.Open
	req.Header.Set("Content-Type", body.ContentType())
	req.Header.Set("Accept", "application/json")
	if fr.hashed {
		req.Header.Set("x-immich-checksum", fr.sum.Hex())
	}
	resp, err := r.c.Do(req, "uploadAsset")
	if err != nil {
		return ans, fmt.Errorf("uploading %s: %w", filepath.Base(path), err)
	}
	defer resp.Body.Close()
	buf := answerBufs.Get().(*bytes.Buffer)
	defer putAnswerBuf(buf)
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, 1<<20)); err != nil {
		return ans, fmt.Errorf("uploading %s: reading the answer: %w", filepath.Base(path), err)
	}
	if err := json.Unmarshal(buf.Bytes(), &ans.dto); err != nil {
		return ans, fmt.Errorf("uploading %s: malformed answer from the server: %w", filepath.Base(path), err)
	}
	ans.created = ans.dto.Status == api.AssetMediaStatusCreated
	ans.retried = attempts.Load() > 1
	return ans, nil
}

// unconfirm forgets the cache's confirmation of an accepted file that was
// not uploaded: the server said it does not have that checksum.
func (r *uploadRun) unconfirm(fr *fileRun) {
	if fr.accepted {
		r.cache.forget(fr.sum)
	}
}

// settleLeftovers settles files the pipeline did not: followers take their
// leader's outcome, unfinished files fail with the context's error.
func (r *uploadRun) settleLeftovers(ctx context.Context) {
	for i := range r.nfiles() {
		fr := r.file(i)
		if fr.out.status != pending {
			continue
		}
		if fr.leader >= 0 {
			l := r.file(int(fr.leader))
			switch l.out.status {
			case uploaded:
				// Same content as a file this run uploaded (a dry run has
				// no id yet: uuid.Nil).
				r.settle(i, duplicateOf(l.out.assetID, notTrashed))
				continue
			case rejected:
				r.settle(i, outcome{fileState: l.out})
				continue
			case failed:
				r.settle(i, failure(fmt.Errorf("not sent: same content as %s, which failed: %w", r.path(l), r.errOf(int(fr.leader)))))
				continue
			}
		}
		r.unconfirm(fr)
		err := ctx.Err()
		if err == nil {
			err = errors.New("not attempted")
		}
		r.settle(i, failure(fmt.Errorf("not finished: %w", err)))
	}
}

// pruneHashCache forgets the cached checksums of files that were under the
// walked folders but are no longer there (deleted, moved, renamed), so the
// cache does not grow for ever. Only after a complete walk: not when a
// path failed, and not with ignore patterns (a run that skips a subfolder
// must not forget it). A NonRecursive walk forgets only files directly in
// the folders.
func (r *uploadRun) pruneHashCache() {
	hc, sr := r.cache.hc, &r.scan
	if hc == nil || len(sr.folders) == 0 || len(sr.failed) > 0 {
		return
	}
	abs := absPaths()
	// The found files' paths as sorted 64-bit hashes: a path's text would
	// cost its length per file, a map 31 MB per million files, and a
	// collision only keeps one stale entry.
	seed := maphash.MakeSeed()
	found := make([]uint64, r.nfiles())
	for i := range found {
		found[i] = maphash.String(seed, abs(r.path(r.file(i))))
	}
	slices.Sort(found)
	for _, folder := range sr.folders {
		a := abs(folder)
		if a == "" {
			continue
		}
		hc.Prune(a, func(p string) bool {
			_, ok := slices.BinarySearch(found, maphash.String(seed, p))
			return ok || (r.opts.NonRecursive && filepath.Dir(p) != a)
		})
	}
}

// absPaths returns a function that makes a path absolute and cleaned, or
// "" when it cannot. It reads the current directory once, where
// filepath.Abs reads it on each call.
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
