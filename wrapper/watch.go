package wrapper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults of WatchOptions, the official CLI's batching for the first two.
const (
	DefaultWatchBatchSize     = 100
	DefaultWatchBatchInterval = 10 * time.Second
	DefaultWatchSettle        = 5 * time.Second
	DefaultWatchMaxPending    = 10_000
)

// watchMaxAttempts bounds the batches in which a file that failed for a
// reason of its own (not the server's state) is tried.
const watchMaxAttempts = 3

// WatchOptions configures Watch. The zero value watches folders
// recursively with the UploadOptions' zero value, the default batching and
// settle time.
type WatchOptions struct {
	// UploadOptions apply to the first pass and to every batch, with the
	// meanings they have for Upload (ignore patterns, hidden files,
	// albums, deletes, dry run, hash cache, progress). With NonRecursive
	// only the files directly in each named folder are taken, in the
	// first pass and afterwards: subfolders, present or new, are not
	// watched (the command line's upload without -r).
	UploadOptions
	// BatchSize uploads a batch as soon as this many changed files are
	// ready (default DefaultWatchBatchSize).
	BatchSize int
	// BatchInterval uploads the files ready so far once the first of them
	// has waited this long (default DefaultWatchBatchInterval).
	BatchInterval time.Duration
	// Settle is how long a changed file's size and modification time must
	// stay the same, with no event for it, before it is ready (default
	// DefaultWatchSettle): a file still being copied is not uploaded.
	Settle time.Duration
	// MaxPending bounds the changed files held (waiting to settle, ready, or
	// to be retried); default DefaultWatchMaxPending. Beyond it, further
	// changes are not recorded one by one: a full pass over paths is made
	// instead, once no file has changed for Settle (after 12 Settles at
	// most, so a file written without end does not put it off). A
	// lost-event report of the operating system does the same.
	MaxPending int
	// OnBatch, when set, receives the result of the first pass and of each
	// batch, from Watch's goroutine, before the next batch starts.
	OnBatch func(*UploadResult)
	// OnError, when set, is told of each failure that does not stop Watch,
	// from Watch's goroutine: a batch that could not start or files that
	// failed for a transient reason, with retryIn the wait before the next
	// try; or, with retryIn 0, a folder that cannot be watched, a named
	// folder that disappeared (watched again when it is back), an error of
	// the system's watch. Without it they go to the Client's logger.
	OnError func(err error, retryIn time.Duration)
}

// Watch keeps the server in step with paths (files and folders) until ctx
// ends, then returns nil.
//
// It first sets file-system watches (fsnotify) on the named folders and
// their subfolders, then makes one full pass with Upload (hash cache,
// bulk check, albums, deletes: UploadOptions as given). An error of that
// pass that prevented it (wrong URL or key, server down, not Immich, bad
// ignore pattern, a path that does not exist, a folder that cannot be
// watched) is returned at once. Afterwards Watch follows changes: a
// created, written or renamed-in file is uploaded once its size and
// modification time have been stable for Settle, in batches of up to
// BatchSize files sent when full or BatchInterval after the first became
// ready, each with Upload on the batch's files (so a batch is one
// UploadResult, given to OnBatch). New subfolders are watched as they
// appear (not with NonRecursive) and their files taken; removed or renamed ones
// are dropped. A named folder that disappears is looked for every second
// and, once back, watched again with a full pass. Files the upload would
// skip when walking a folder are skipped: not media, hidden (unless
// IncludeHidden), ignored, and temporary names (".part", ".tmp",
// ".crdownload", "~$..."). A file named explicitly is watched alone and
// always taken.
//
// After the first pass Watch never returns on a failure: a batch that
// could not start (server down or restarting, any error of Upload) is
// kept and tried again after a backoff that follows the Client's
// RetryPolicy (BaseDelay doubling up to MaxDelay), reported to OnError;
// files that failed for a transient reason (5xx, 429, connection lost,
// stall) are tried again in a later batch, so a file can be in one
// batch's Failed and a later batch's Uploaded; files that failed for a
// reason of their own are tried in up to 3 batches. The server
// deduplicates by checksum, so retries never create a second asset.
//
// When ctx ends, the batch in flight stops as Upload does on cancellation
// (nothing half-sent is reported as uploaded), its partial result goes to
// OnBatch, and Watch returns once every goroutine it started has ended.
//
// Memory: the watches (one per folder) plus at most MaxPending changed
// files and one batch in flight; it does not grow with the number of
// events. Changes made by other machines on a network share raise no
// event on most systems and are seen by the next start only.
func (c *Client) Watch(ctx context.Context, paths []string, opts WatchOptions) error {
	if len(paths) == 0 {
		return errors.New("wrapper: Watch needs at least one file or folder")
	}
	if err := validateIgnores(opts.Ignore); err != nil {
		return err
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultWatchBatchSize
	}
	if opts.BatchInterval <= 0 {
		opts.BatchInterval = DefaultWatchBatchInterval
	}
	if opts.Settle <= 0 {
		opts.Settle = DefaultWatchSettle
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultWatchMaxPending
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("wrapper: watching for changes: %w", err)
	}
	defer fw.Close()
	w := &watcher{
		c:        c,
		opts:     opts,
		fw:       fw,
		sc:       &scanner{ignore: opts.Ignore},
		explicit: map[string]bool{},
		dirs:     map[string]int{},
		lost:     map[string]int{},
		pending:  map[string]watchEntry{},
	}
	if err := w.watchPaths(paths); err != nil {
		return err
	}
	return w.run(ctx)
}

// watchEntry is a changed file held by Watch.
type watchEntry struct {
	size, mtime int64
	stable      time.Time // when size and mtime were last seen to change
	ready       bool
	attempts    int // batches it failed in, for a reason of its own
}

// watchRoot is a folder named to Watch.
type watchRoot struct{ path string }

// watcher is one run of Watch. Only run's goroutine touches it.
type watcher struct {
	c         *Client
	opts      WatchOptions
	fw        *fsnotify.Watcher
	sc        *scanner // for its ignore rules
	firstPass []string // the named paths, for full passes
	roots     []watchRoot
	explicit  map[string]bool // files named explicitly
	dirs      map[string]int  // watched folder -> index in roots; -1: the folder of an explicit file only
	media     extSet          // nil until the first pass ended

	pending    map[string]watchEntry
	peak       int // largest len(pending) since it was last made anew
	ready      int
	readySince time.Time // when the oldest ready file became ready
	lastEvent  time.Time // of the last event for a file or folder taken
	// rescan: events were lost, a full pass is due, since rescanSince
	rescan      bool
	rescanSince time.Time
	// lost holds the named paths whose watch is gone (the folder was
	// removed or renamed), with their index in roots (-1: a named file);
	// they are looked for every second and watched again when back.
	lost      map[string]int
	lostCheck time.Time
}

// watchPaths sets the watches of the named paths.
func (w *watcher) watchPaths(paths []string) error {
	for _, p := range paths {
		p = filepath.Clean(p)
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("wrapper: watching %s: %w", p, err)
		}
		w.firstPass = append(w.firstPass, p)
		if !fi.IsDir() {
			w.explicit[p] = true
			dir := filepath.Dir(p)
			if _, ok := w.dirs[dir]; !ok {
				if err := w.add(dir); err != nil {
					return err
				}
				w.dirs[dir] = -1
			}
			continue
		}
		w.roots = append(w.roots, watchRoot{path: p})
		if err := w.addTree(p, len(w.roots)-1, nil, map[string]bool{}); err != nil {
			return err
		}
	}
	return nil
}

// add watches folder dir.
func (w *watcher) add(dir string) error {
	if err := w.fw.Add(dir); err != nil {
		if watchLimit(err) {
			return fmt.Errorf("wrapper: watching %s: %w; the system's limit of watched folders is reached (on Linux raise fs.inotify.max_user_watches, e.g. sysctl fs.inotify.max_user_watches=524288)", dir, err)
		}
		return fmt.Errorf("wrapper: watching %s: %w", dir, err)
	}
	return nil
}

// watchLimit reports the errors of a system out of watches (inotify) or
// file descriptors (kqueue).
func watchLimit(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE)
}

// addTree watches dir (of root) and, unless NonRecursive, its subfolders that
// a walk would enter; found, when not nil, collects the files taken in
// them. visited holds the real paths already walked (link loops). It
// fails when dir cannot be watched or the system's limit of watches is
// reached; a subfolder that cannot be read is reported and left out.
func (w *watcher) addTree(dir string, root int, found *[]string, visited map[string]bool) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("wrapper: watching %s: %w", dir, err)
	}
	if visited[real] {
		return nil
	}
	visited[real] = true
	if prev, ok := w.dirs[dir]; !ok || prev < 0 {
		if !ok {
			if err := w.add(dir); err != nil {
				return err
			}
		}
		w.dirs[dir] = root
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("wrapper: watching %s: %w", dir, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(p)
			if err != nil {
				continue // a dangling link
			}
			isDir = fi.IsDir()
		}
		switch {
		case isDir:
			if w.opts.NonRecursive || !w.takes(p, root, false) {
				continue
			}
			if err := w.addTree(p, root, found, visited); err != nil {
				if watchLimit(err) {
					return err
				}
				w.report(err, 0) // an unreadable subfolder: the others are watched
			}
		case found != nil && w.takes(p, root, true):
			*found = append(*found, p)
		}
	}
	return nil
}

// escapeGlobPath escapes doublestar's special characters in a path.
func escapeGlobPath(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]{}\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// takes reports whether the entry at p, found in a folder of root, is
// taken as Upload's walk would (hidden, ignored), and, for a file, is not
// a temporary name. Media types are checked when a batch is formed.
func (w *watcher) takes(p string, root int, file bool) bool {
	name := filepath.Base(p)
	if !w.opts.IncludeHidden && isHidden(name) {
		return false
	}
	if file && temporaryName(name) {
		return false
	}
	if len(w.opts.Ignore) > 0 && root >= 0 {
		rel, _ := filepath.Rel(w.roots[root].path, p)
		if w.sc.ignored(p, rel) {
			return false
		}
	}
	return true
}

// temporaryName reports names that downloads, copies and editors give a
// file while they write it.
func temporaryName(name string) bool {
	if strings.HasPrefix(name, "~$") || strings.HasPrefix(name, ".~") || strings.HasSuffix(name, "~") {
		return true
	}
	lower := strings.ToLower(name)
	for _, s := range []string{".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp"} {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return false
}

// batch is one Upload of Watch: a full pass over the named paths, or
// changed files.
type batch struct {
	files []string
	tries []int // for changed files: the batches each failed in before
	full  bool
	first bool // the first pass: afterwards, ask the server's media types
	opts  UploadOptions
}

// batchDone is a batch with its outcome.
type batchDone struct {
	batch
	res   *UploadResult
	err   error
	media *MediaTypes // learnt after the first pass
}

// run is Watch's loop: events, settling, batches.
func (w *watcher) run(ctx context.Context) error {
	done := make(chan batchDone, 1)
	events, errs := w.fw.Events, w.fw.Errors
	b := w.fullPass()
	b.first = true
	go w.upload(ctx, done, b)
	busy := true
	var retryAt time.Time
	failures := 0
	tick := time.NewTicker(min(max(min(w.opts.Settle, w.opts.BatchInterval)/4, 5*time.Millisecond), time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if busy {
				if d := <-done; d.res != nil && w.opts.OnBatch != nil {
					w.opts.OnBatch(d.res)
				}
			}
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				break
			}
			w.event(ev, time.Now())
		case err, ok := <-errs:
			if !ok {
				errs = nil
				break
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.needFullPass()
			} else {
				w.report(fmt.Errorf("wrapper: watching for changes: %w", err), 0)
			}
		case d := <-done:
			busy = false
			if d.first {
				if d.err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return d.err
				}
				w.media = newExtSet(d.media.Image, d.media.Video)
			}
			transient := w.finish(d)
			if transient != nil {
				failures++
				wait := w.c.retry.backoff(failures, nil)
				retryAt = time.Now().Add(wait)
				w.report(transient, wait)
			} else {
				failures = 0
			}
		case now := <-tick.C:
			w.settle(now)
			if len(w.lost) > 0 && now.Sub(w.lostCheck) >= time.Second {
				w.lostCheck = now
				w.findLost()
			}
		}
		if busy || ctx.Err() != nil {
			continue
		}
		now := time.Now()
		if now.Before(retryAt) {
			continue
		}
		switch {
		case w.rescan && (now.Sub(w.lastEvent) >= w.opts.Settle || now.Sub(w.rescanSince) >= fullPassMaxDelay*w.opts.Settle):
			w.rescan = false
			busy = true
			go w.upload(ctx, done, w.fullPass())
		case w.ready >= w.opts.BatchSize || (w.ready > 0 && now.Sub(w.readySince) >= w.opts.BatchInterval):
			files, tries := w.take()
			if len(files) > 0 {
				busy = true
				go w.upload(ctx, done, batch{files: files, tries: tries, opts: w.opts.UploadOptions})
			}
		}
	}
}

// upload runs one batch (or a full pass) and sends the outcome to done.
func (w *watcher) upload(ctx context.Context, done chan<- batchDone, b batch) {
	d := batchDone{batch: b}
	d.res, d.err = w.c.Upload(ctx, b.files, b.opts)
	if d.err == nil && b.first {
		mt := DefaultMediaTypes()
		if r, err := w.c.GetSupportedMediaTypesWithResponse(ctx); err == nil && r.JSON200 != nil && len(r.JSON200.Image)+len(r.JSON200.Video) > 0 {
			mt = MediaTypes{Image: r.JSON200.Image, Video: r.JSON200.Video, Sidecar: r.JSON200.Sidecar}
		}
		d.media = &mt
	}
	done <- d
}

// fullPass returns a batch of the named paths. The files held ready are
// dropped (the pass takes them); those still changing, and those modified
// within Settle (found by a walk of the named folders, so a file being
// copied when Watch starts or a folder comes back is not sent half-written),
// are ignored by it and held until they settle.
func (w *watcher) fullPass() batch {
	b := batch{files: w.firstPass, full: true, opts: w.opts.UploadOptions}
	b.opts.Ignore = slices.Clip(b.opts.Ignore)
	w.holdRecent(time.Now())
	for p, e := range w.pending {
		if e.ready {
			w.drop(p)
		} else if abs, err := filepath.Abs(p); err == nil {
			b.opts.Ignore = append(b.opts.Ignore, escapeGlobPath(filepath.ToSlash(abs)))
		}
	}
	return b
}

// holdRecent records as changing the files of the named paths modified
// within Settle of now.
func (w *watcher) holdRecent(now time.Time) {
	recent := func(p string, fi fs.FileInfo) {
		if fi.Mode().IsRegular() && now.Sub(fi.ModTime()) < w.opts.Settle {
			w.touch(p, now, fi)
		}
	}
	for _, p := range w.firstPass {
		fi, err := os.Stat(p)
		if err != nil {
			continue // Upload reports it
		}
		if !fi.IsDir() {
			recent(p, fi)
			continue
		}
		root := slices.IndexFunc(w.roots, func(r watchRoot) bool { return r.path == p })
		_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil || q == p {
				return nil // Upload reports what cannot be read
			}
			if d.IsDir() {
				if w.opts.NonRecursive || !w.takes(q, root, false) {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !w.takes(q, root, true) {
				return nil
			}
			if fi, err := d.Info(); err == nil {
				recent(q, fi)
			}
			return nil
		})
	}
}

// report tells OnError, or else the Client's logger, of a failure.
func (w *watcher) report(err error, retryIn time.Duration) {
	if w.opts.OnError != nil {
		w.opts.OnError(err, retryIn)
		return
	}
	w.c.logger.Warn("watch", "error", err, "retry_in", retryIn)
}

// fullPassMaxDelay bounds, in Settles, the wait for a quiet moment before
// a full pass: a file written without end must not put it off for ever.
const fullPassMaxDelay = 12

// needFullPass records that changes were lost: a full pass is due, once
// no file has changed for Settle (or after fullPassMaxDelay Settles).
func (w *watcher) needFullPass() {
	if !w.rescan {
		w.rescan, w.rescanSince = true, time.Now()
	}
}

// event records one file-system event.
func (w *watcher) event(ev fsnotify.Event, now time.Time) {
	p := ev.Name
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		w.forget(p)
		return
	}
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) {
		return // attributes only
	}
	explicit := w.explicit[p]
	root, ok := w.dirs[filepath.Dir(p)]
	if !explicit && (!ok || root < 0) {
		return // a sibling of a file named explicitly
	}
	fi, err := os.Stat(p)
	if err != nil {
		return // gone already
	}
	if fi.IsDir() {
		if explicit || w.opts.NonRecursive || !w.takes(p, root, false) {
			return
		}
		var found []string
		if err := w.addTree(p, root, &found, map[string]bool{}); err != nil {
			w.report(err, 0)
		}
		for _, f := range found {
			w.touch(f, now, nil)
		}
		return
	}
	if !fi.Mode().IsRegular() || (!explicit && !w.takes(p, root, true)) {
		return
	}
	w.touch(p, now, fi)
}

// touch records that file p changed (fi is its stat, or nil).
func (w *watcher) touch(p string, now time.Time, fi os.FileInfo) {
	if w.media != nil && !w.media.has(p) && !w.explicit[p] {
		return // not media (known once the first pass ended; before, take drops them)
	}
	w.lastEvent = now
	e, ok := w.pending[p]
	if !ok && len(w.pending) >= w.opts.MaxPending {
		w.needFullPass()
		return
	}
	if fi == nil {
		var err error
		if fi, err = os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			w.drop(p)
			return
		}
	}
	if e.ready {
		e.ready = false
		w.ready--
	}
	if size, mt := fi.Size(), fi.ModTime().UnixNano(); !ok || size != e.size || mt != e.mtime {
		e.size, e.mtime, e.stable = size, mt, now
	}
	w.pending[p] = e
	w.peak = max(w.peak, len(w.pending))
}

// drop forgets file p.
func (w *watcher) drop(p string) {
	if e, ok := w.pending[p]; ok {
		if e.ready {
			w.ready--
		}
		delete(w.pending, p)
	}
}

// forget drops p, and when it was a watched folder, the watches and
// files under it.
func (w *watcher) forget(p string) {
	w.drop(p)
	if _, ok := w.dirs[p]; !ok {
		return
	}
	prefix := p + string(filepath.Separator)
	for d := range w.dirs {
		if d == p || strings.HasPrefix(d, prefix) {
			delete(w.dirs, d)
			_ = w.fw.Remove(d) // already gone when the folder was deleted
		}
	}
	for f := range w.pending {
		if strings.HasPrefix(f, prefix) {
			w.drop(f)
		}
	}
	for i, r := range w.roots {
		if r.path == p || strings.HasPrefix(r.path, prefix) {
			w.lose(r.path, i)
		}
	}
	for f := range w.explicit {
		if strings.HasPrefix(f, prefix) {
			w.lose(f, -1)
		}
	}
}

func (w *watcher) watched(dir string) bool { _, ok := w.dirs[dir]; return ok }

// lose records that named path p (root index, or -1) is no longer
// watched.
func (w *watcher) lose(p string, root int) {
	if _, ok := w.lost[p]; ok {
		return
	}
	w.lost[p] = root
	w.report(fmt.Errorf("wrapper: %s was removed or renamed; it will be watched again when it is back", p), 0)
}

// findLost watches again the lost named paths that are back, and asks for
// a full pass to take their files.
func (w *watcher) findLost() {
	for p, root := range w.lost {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if root >= 0 {
			if !fi.IsDir() {
				continue
			}
			err = w.addTree(p, root, nil, map[string]bool{})
		} else if dir := filepath.Dir(p); !w.watched(dir) {
			if err = w.add(dir); err == nil {
				w.dirs[dir] = -1
			}
		}
		if err != nil {
			continue // not readable yet: tried again later
		}
		delete(w.lost, p)
		w.needFullPass()
	}
}

// settle marks ready the files whose size and mtime have not changed for
// Settle.
func (w *watcher) settle(now time.Time) {
	for p, e := range w.pending {
		if e.ready || now.Sub(e.stable) < w.opts.Settle {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			w.drop(p)
			continue
		}
		if fi.Size() != e.size || fi.ModTime().UnixNano() != e.mtime {
			e.size, e.mtime, e.stable = fi.Size(), fi.ModTime().UnixNano(), now
		} else {
			e.ready = true
			if w.ready == 0 {
				w.readySince = now
			}
			w.ready++
		}
		w.pending[p] = e
	}
}

// take removes up to BatchSize ready media files from pending and returns
// them, sorted, with the batches each failed in before; ready files that
// are not media are dropped.
func (w *watcher) take() ([]string, []int) {
	type item struct {
		path  string
		tries int
	}
	var items []item
	for p, e := range w.pending {
		if len(items) == w.opts.BatchSize {
			break
		}
		if !e.ready {
			continue
		}
		w.drop(p)
		if w.explicit[p] || w.media.has(p) {
			items = append(items, item{p, e.attempts})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.path, b.path) })
	files, tries := make([]string, len(items)), make([]int, len(items))
	for i, it := range items {
		files[i], tries[i] = it.path, it.tries
	}
	return files, tries
}

// finish gives a batch's result to OnBatch and queues its files to try
// again. It returns the transient failure to wait out before the next
// batch, or nil.
func (w *watcher) finish(d batchDone) error {
	defer w.shrink()
	if d.err != nil {
		if d.full {
			w.needFullPass()
			return d.err
		}
		for i, p := range d.files {
			w.again(p, d.tries[i])
		}
		return d.err
	}
	if w.opts.OnBatch != nil {
		w.opts.OnBatch(d.res)
	}
	tries := make(map[string]int, len(d.tries)) // empty for a full pass
	for i, n := range d.tries {
		tries[d.files[i]] = n
	}
	var transient error
	for _, f := range d.res.Failed {
		switch {
		case errors.Is(f.Err, context.Canceled), errors.Is(f.Err, context.DeadlineExceeded), errors.Is(f.Err, fs.ErrNotExist):
			// shutting down, or the file is gone
		case transientFailure(f.Err):
			if transient == nil {
				transient = fmt.Errorf("uploading %s: %w", f.Filepath, f.Err)
			}
			w.again(f.Filepath, tries[f.Filepath])
		case tries[f.Filepath]+1 < watchMaxAttempts:
			w.again(f.Filepath, tries[f.Filepath]+1)
		}
	}
	return transient
}

// again queues file p, ready, to be tried in a later batch, unless a newer
// change of it is pending. Beyond MaxPending a full pass is made instead.
func (w *watcher) again(p string, attempts int) {
	if _, ok := w.pending[p]; ok {
		return
	}
	if len(w.pending) >= w.opts.MaxPending {
		w.needFullPass()
		return
	}
	if w.ready == 0 {
		w.readySince = time.Now()
	}
	w.ready++
	w.pending[p] = watchEntry{ready: true, attempts: attempts, stable: time.Now()}
	w.peak = max(w.peak, len(w.pending))
}

// shrink makes pending anew once it holds far fewer entries than it once
// did: a Go map keeps the room of its largest size.
func (w *watcher) shrink() {
	if w.peak < 1024 || len(w.pending) > w.peak/8 {
		return
	}
	m := make(map[string]watchEntry, len(w.pending))
	for p, e := range w.pending {
		m[p] = e
	}
	w.pending, w.peak = m, len(m)
}

// transientFailure reports a file's failure that depends on the server's
// state, not on the file: 5xx, 429, a stall, a connection lost.
func transientFailure(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return retryableStatus(ae.StatusCode)
	}
	var ue *url.Error
	var ne net.Error
	return errors.Is(err, ErrStalled) || errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}
