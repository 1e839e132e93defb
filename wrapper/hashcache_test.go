package wrapper

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/internal/hashcache"
)

// photoFiles writes n distinct files of size bytes named IMG_<i>.jpg in dir,
// with an mtime an hour ago (outside the cache's racy window), and returns
// their paths.
func photoFiles(t testing.TB, dir string, n, size int) []string {
	t.Helper()
	paths := make([]string, n)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range paths {
		b := bytes.Repeat([]byte{byte(i)}, size)
		copy(b, fmt.Sprintf("photo %d in %s", i, dir))
		paths[i] = filepath.Join(dir, fmt.Sprintf("IMG_%d.jpg", i))
		if err := os.WriteFile(paths[i], b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(paths[i], old, old); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// readBytes is the number of bytes this process has read through read
// system calls (files and sockets alike), from /proc/self/io's rchar; ok is
// false where that file does not exist.
func readBytes(t *testing.T) (n int64, ok bool) {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, found := strings.CutPrefix(sc.Text(), "rchar: "); found {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n, true
		}
	}
	t.Fatal("no rchar in /proc/self/io")
	return 0, false
}

func cacheOpts(t *testing.T) UploadOptions {
	return UploadOptions{HashCache: HashCacheOptions{Path: filepath.Join(t.TempDir(), "hashes.db")}}
}

// cachedLibrary starts a fake server and uploads n photoFiles of size bytes
// to it with a fresh hash cache (cacheOpts); it returns the files, the
// options and each file's asset id.
func cachedLibrary(t *testing.T, n, size int) (*immichtest.Server, *Client, []string, UploadOptions, map[string]uuid.UUID) {
	t.Helper()
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	paths := photoFiles(t, dir, n, size)
	opts := cacheOpts(t)
	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Uploaded != n {
		t.Fatalf("first run: %v %+v", err, res.Stats)
	}
	ids := map[string]uuid.UUID{}
	for _, u := range res.Uploaded {
		ids[u.Filepath] = u.Asset.Id
	}
	return s, c, paths, opts, ids
}

// A re-run over unchanged files takes every checksum from the cache and
// reads none of their bytes: the process reads far fewer bytes than the
// files hold (Linux), and files made unreadable still come out as
// duplicates (when not root, who can read them anyway). The same re-run
// without the cache reads them all, which shows the counter counts.
func TestHashCacheHitReadsNoFile(t *testing.T) {
	const n, size = 8, 1 << 20
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	paths := photoFiles(t, dir, n, size)
	opts := cacheOpts(t)
	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Uploaded != n || res.Stats.HashCacheHits != 0 {
		t.Fatalf("first run: %v %+v", err, res.Stats)
	}
	ids := map[string]string{}
	for _, u := range res.Uploaded {
		ids[u.Filepath] = u.Asset.Id.String()
	}

	measure := func(o UploadOptions) (*UploadResult, int64, bool) {
		before, ok := readBytes(t)
		res, err := c.Upload(context.Background(), []string{dir}, o)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := readBytes(t)
		return res, after - before, ok
	}
	res, read, counted := measure(opts)
	if res.Stats.Rejected != n || res.Stats.HashCacheHits != n || res.Stats.Failed != 0 {
		t.Fatalf("re-run: %+v", res.Stats)
	}
	for _, r := range res.Rejected {
		if r.Reason != RejectDuplicate || *r.AssetID != ids[r.Filepath] {
			t.Fatalf("re-run: %+v, want duplicate of %s", r, ids[r.Filepath])
		}
	}
	if counted && read > size/2 {
		t.Fatalf("re-run with the cache read %d bytes; the files hold %d", read, n*size)
	}
	res, read, counted = measure(UploadOptions{})
	if res.Stats.Rejected != n || res.Stats.HashCacheHits != 0 {
		t.Fatalf("re-run without the cache: %+v", res.Stats)
	}
	if counted && read < n*size {
		t.Fatalf("re-run without the cache read %d bytes, want >= %d: the counter does not count", read, n*size)
	}
	if !counted && runtime.GOOS == "linux" {
		t.Fatal("/proc/self/io missing on Linux")
	}

	// Making the files unreadable cannot prove a hit reads nothing: chmod
	// changes the ctime, which is part of the key, so the files miss and are
	// read again (and fail when we are not root, who can still read them).
	for _, p := range paths {
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(p, 0o644) })
	}
	res, err = c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.HashCacheHits != 0 {
		t.Fatalf("after chmod: %v %+v", err, res.Stats)
	}
	if want := n; os.Geteuid() != 0 && res.Stats.Failed != want || os.Geteuid() == 0 && res.Stats.Rejected != want {
		t.Fatalf("after chmod 000 (euid %d): %+v", os.Geteuid(), res.Stats)
	}
	if got := len(s.Assets()); got != n {
		t.Fatalf("%d assets on the server, want %d", got, n)
	}
}

// A file whose size changed misses and is uploaded; a file only touched
// (new mtime, same bytes) misses, is hashed again and found a duplicate of
// its own asset.
func TestHashCacheMissOnSizeOrMtimeChange(t *testing.T) {
	s, c, paths, opts, ids := cachedLibrary(t, 3, 4096)
	dir := filepath.Dir(paths[0])
	fi, _ := os.Stat(paths[0])
	// paths[0]: bytes appended, mtime restored: the size tells.
	if err := os.WriteFile(paths[0], append(bytes.Repeat([]byte{0}, 4096), "more"...), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(paths[0], fi.ModTime(), fi.ModTime())
	// paths[1]: touched, a minute later than before.
	later := fi.ModTime().Add(time.Minute)
	os.Chtimes(paths[1], later, later)

	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.HashCacheHits != 1 || res.Stats.Uploaded != 1 || res.Stats.Rejected != 2 {
		t.Fatalf("re-run: %v %+v", err, res.Stats)
	}
	if res.Uploaded[0].Filepath != paths[0] {
		t.Fatalf("uploaded %s, want the grown %s", res.Uploaded[0].Filepath, paths[0])
	}
	for _, r := range res.Rejected {
		if r.Reason != RejectDuplicate || *r.AssetID != ids[r.Filepath].String() {
			t.Fatalf("%+v: want a duplicate of %s", r, ids[r.Filepath])
		}
	}
	// The touched file's new key is cached now: a third run hits all three.
	res, err = c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.HashCacheHits != 3 || res.Stats.Rejected != 3 {
		t.Fatalf("third run: %v %+v", err, res.Stats)
	}
	if len(s.Assets()) != 4 {
		t.Fatalf("%d assets, want 4", len(s.Assets()))
	}
}

// editAfterScan rewrites a file (same size, other bytes, another old
// mtime) when Upload reports its totals: after the scan, before hashing.
type editAfterScan struct {
	nopProgress
	t    *testing.T
	path string
}

func (e *editAfterScan) Total(int, int64) {
	if err := os.WriteFile(e.path, bytes.Repeat([]byte("edited"), 4096/6+1)[:4096], 0o644); err != nil {
		e.t.Error(err)
	}
	old := time.Now().Add(-30 * time.Minute)
	if err := os.Chtimes(e.path, old, old); err != nil {
		e.t.Error(err)
	}
}

// A file rewritten between the scan and its hashing (a photo tool writing
// metadata into it): once the scan's stat is older than scanStatFresh (a
// long first run), the file is stat'ed again, read and uploaded; within
// that time it may keep its previous checksum for this run, and the next
// run uploads it.
func TestHashCacheFileChangedAfterScan(t *testing.T) {
	for _, tc := range []struct {
		name          string
		fresh         time.Duration
		uploadedFirst int
	}{
		{"scan stat old: stat again", 0, 1},
		{"scan stat fresh: next run", time.Hour, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(d time.Duration) { scanStatFresh = d }(scanStatFresh)
			scanStatFresh = tc.fresh
			s, c := newUploadEnv(t)
			dir := t.TempDir()
			paths := photoFiles(t, dir, 2, 4096)
			opts := cacheOpts(t)
			if res, err := c.Upload(context.Background(), []string{dir}, opts); err != nil || res.Stats.Uploaded != 2 {
				t.Fatalf("first run: %v %+v", err, res.Stats)
			}
			edit := opts
			edit.Progress = &editAfterScan{t: t, path: paths[0]}
			res, err := c.Upload(context.Background(), []string{dir}, edit)
			if err != nil || res.Stats.Uploaded != tc.uploadedFirst {
				t.Fatalf("run with the edit: %v %+v", err, res.Stats)
			}
			res, err = c.Upload(context.Background(), []string{dir}, opts)
			if err != nil || res.Stats.Uploaded != 1-tc.uploadedFirst || len(s.Assets()) != 3 {
				t.Fatalf("next run: %v %+v, %d assets on the server (want 3: the edit uploaded once)", err, res.Stats, len(s.Assets()))
			}
		})
	}
}

// A re-run's prune keeps the entry of every file it found, among many,
// and forgets the one it did not.
func TestHashCachePruneKeepsFilesFound(t *testing.T) {
	_, c, paths, opts, _ := cachedLibrary(t, 201, 100)
	gone := paths[200]
	fi, err := os.Stat(gone)
	if err != nil {
		t.Fatal(err)
	}
	goneKey := hashcache.KeyFor(gone, fi)
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	paths = paths[:200]
	res, err := c.Upload(context.Background(), []string{filepath.Dir(paths[0])}, opts)
	if err != nil || res.Stats.Rejected != 200 {
		t.Fatalf("re-run: %v %+v", err, res.Stats)
	}
	hc, err := hashcache.Open(opts.HashCache.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := hc.Lookup(hashcache.KeyFor(p, fi)); !ok {
			t.Fatalf("%s: pruned from the cache although the walk found it", filepath.Base(p))
		}
	}
	if _, ok := hc.Lookup(goneKey); ok {
		t.Fatal("the deleted file's entry was not pruned")
	}
}

// Entries of files deleted or renamed since the last run are forgotten
// after a complete walk, so the cache does not grow for ever; not with
// ignore patterns (a run that skips part of the folder must not forget it).
func TestHashCachePrunesFilesGone(t *testing.T) {
	_, c := newUploadEnv(t)
	dir := t.TempDir()
	paths := photoFiles(t, dir, 3, 4096)
	opts := cacheOpts(t)
	if res, err := c.Upload(context.Background(), []string{dir}, opts); err != nil || res.Stats.Uploaded != 3 {
		t.Fatalf("first run: %v %+v", err, res.Stats)
	}
	keyOf := func(p string) hashcache.FileKey {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return hashcache.KeyFor(p, fi)
	}
	keys := []hashcache.FileKey{keyOf(paths[0]), keyOf(paths[1]), keyOf(paths[2])}
	cached := func() []bool {
		hc, err := hashcache.Open(opts.HashCache.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer hc.Close()
		var hits []bool
		for _, k := range keys {
			_, ok := hc.Lookup(k)
			hits = append(hits, ok)
		}
		return hits
	}
	if err := os.Remove(paths[1]); err != nil {
		t.Fatal(err)
	}

	withIgnore := opts
	withIgnore.Ignore = []string{"*.tmp"}
	if _, err := c.Upload(context.Background(), []string{dir}, withIgnore); err != nil {
		t.Fatal(err)
	}
	if got := cached(); !slices.Equal(got, []bool{true, true, true}) {
		t.Fatalf("after a run with ignore patterns, cached = %v; want every entry kept", got)
	}

	if err := os.Rename(paths[2], paths[2]+".renamed.jpg"); err != nil {
		t.Fatal(err)
	}
	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Rejected != 2 {
		t.Fatalf("re-run: %v %+v", err, res.Stats)
	}
	if got := cached(); !slices.Equal(got, []bool{true, false, false}) {
		t.Fatalf("after a full walk, cached = %v; want only the unchanged file's entry", got)
	}
}

// A corrupt cache file costs a warning and the speed-up of one run, never
// the run: it is moved aside, rebuilt, and hits again on the next run.
func TestHashCacheCorruptFile(t *testing.T) {
	_, c, logs := newLoggingUploadEnv(t)
	dir := t.TempDir()
	photoFiles(t, dir, 3, 1000)
	opts := cacheOpts(t)
	garbage := bytes.Repeat([]byte("not a bbolt file "), 1000)
	if err := os.WriteFile(opts.HashCache.Path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Uploaded != 3 || res.Stats.Failed != 0 {
		t.Fatalf("run on a corrupt cache: %v %+v", err, res.Stats)
	}
	if log := logs.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "moved it aside") {
		t.Fatalf("no warning about the corrupt cache in the log:\n%s", log)
	}
	aside, _ := filepath.Glob(opts.HashCache.Path + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("moved-aside files: %v", aside)
	}
	if b, err := os.ReadFile(aside[0]); err != nil || !bytes.Equal(b, garbage) {
		t.Fatalf("the corrupt file was not kept as it was: %v", err)
	}
	res, err = c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.HashCacheHits != 3 || res.Stats.Rejected != 3 {
		t.Fatalf("run on the rebuilt cache: %v %+v", err, res.Stats)
	}
}

// logBuffer collects the log lines of several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLoggingUploadEnv is newUploadEnv with the client's log kept.
func newLoggingUploadEnv(t *testing.T) (*immichtest.Server, *Client, *logBuffer) {
	t.Helper()
	s, _ := newUploadEnv(t)
	logs := &logBuffer{}
	c, err := New(s.URL(), WithAPIKey(s.APIKey()), WithRetry(uploadRetry()), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return s, c, logs
}

// gateProgress calls onStart at the first Start of a run.
type gateProgress struct {
	once    sync.Once
	onStart func()
}

func (g *gateProgress) Total(int, int64)           {}
func (g *gateProgress) Start(string, int64)        { g.once.Do(g.onStart) }
func (g *gateProgress) Add(string, int64)          {}
func (g *gateProgress) Done(string, Status, error) {}

// Two Uploads at once on one cache file (the second starts while the first
// holds the file's lock) both finish right, the second says why it keeps
// its hashes in memory, and the file is a valid cache afterwards (not moved
// aside as corrupt, and it hits).
func TestHashCacheTwoUploadsAtOnce(t *testing.T) {
	s, c, logs := newLoggingUploadEnv(t)
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		photoFiles(t, d, 20, 2000)
	}
	opts := cacheOpts(t)
	// Run 0 opens the cache and, at its first hash, lets run 1 start and
	// waits until run 1 hashes too, which is after run 1 met the lock.
	firstHashing, secondHashing := make(chan struct{}), make(chan struct{})
	first, second := opts, opts
	first.Progress = &gateProgress{onStart: func() {
		close(firstHashing)
		select {
		case <-secondHashing:
		case <-time.After(10 * time.Second):
		}
	}}
	second.Progress = &gateProgress{onStart: func() { close(secondHashing) }}
	var wg sync.WaitGroup
	results := make([]*UploadResult, 2)
	errs := make([]error, 2)
	wg.Go(func() { results[0], errs[0] = c.Upload(context.Background(), []string{dirs[0]}, first) })
	wg.Go(func() {
		<-firstHashing
		results[1], errs[1] = c.Upload(context.Background(), []string{dirs[1]}, second)
	})
	wg.Wait()
	for k := range dirs {
		if errs[k] != nil || results[k].Stats.Uploaded != 20 || results[k].Stats.Failed != 0 {
			t.Fatalf("upload %d: %v %+v", k, errs[k], results[k].Stats)
		}
	}
	if len(s.Assets()) != 40 {
		t.Fatalf("%d assets, want 40", len(s.Assets()))
	}
	if log := logs.String(); !strings.Contains(log, "in use by another goimmich run") {
		t.Fatalf("the runs did not meet on the lock; log:\n%s", log)
	}
	if aside, _ := filepath.Glob(opts.HashCache.Path + ".corrupt-*"); len(aside) != 0 {
		t.Fatalf("cache was found corrupt: %v", aside)
	}
	// The second run kept its hashes in memory and tried to save them at
	// its end; whether the first had finished by then depends on timing.
	// The first run's hashes must be there.
	res, err := c.Upload(context.Background(), dirs, opts)
	if err != nil || res.Stats.Rejected != 40 || res.Stats.HashCacheHits < 20 {
		t.Fatalf("re-run of both: %v %+v", err, res.Stats)
	}
	t.Logf("re-run hits: %d of 40", res.Stats.HashCacheHits)
}

// An asset deleted on the server (for good) since the last run is
// uploaded again, although its checksum and its confirmation were cached:
// the re-run's bulk-upload-check says accept. The cache then confirms the
// new asset id.
func TestHashCacheAssetDeletedOnServerIsUploadedAgain(t *testing.T) {
	s, c, paths, opts, ids := cachedLibrary(t, 3, 1000)
	dir, gone := filepath.Dir(paths[0]), ids[paths[1]]
	me, err := c.GetMyUserWithResponse(context.Background())
	if err != nil || me.JSON200 == nil {
		t.Fatalf("users/me: %v", err)
	}
	content, _ := os.ReadFile(paths[1])
	sum := sha1.Sum(content)
	confirmed := func() (string, bool) {
		hc, err := hashcache.Open(opts.HashCache.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer hc.Close()
		return hc.Confirmed(c.ServerURL(), me.JSON200.Id.String(), sum)
	}
	if id, ok := confirmed(); !ok || id != gone.String() {
		t.Fatalf("after the upload the cache confirms %q %v, want %s", id, ok, gone)
	}

	purge(t, c, gone)
	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.HashCacheHits != 3 || res.Stats.Uploaded != 1 || res.Stats.Rejected != 2 {
		t.Fatalf("re-run: %v %+v", err, res.Stats)
	}
	again := res.Uploaded[0]
	if again.Filepath != paths[1] || again.Asset.Id == gone {
		t.Fatalf("uploaded again: %+v, want %s with a new id", again, paths[1])
	}
	if id, ok := confirmed(); !ok || id != again.Asset.Id.String() {
		t.Fatalf("the cache confirms %q %v, want the new id %s", id, ok, again.Asset.Id)
	}
	if n := len(assetsByChecksum(s)[string(sum[:])]); n != 1 {
		t.Fatalf("%d assets with the deleted file's checksum, want 1", n)
	}
}

// Duplicates that bulk-upload-check finds (assets another client made)
// are confirmed in the cache with their asset ids, so the next run with
// RecheckAfter asks nothing about them; one whose asset is in the trash is
// not confirmed, and is asked about again.
func TestHashCacheConfirmsDuplicatesFoundByCheck(t *testing.T) {
	_, c := newUploadEnv(t)
	dir := t.TempDir()
	paths := photoFiles(t, dir, 5, 3000)
	first, err := c.Upload(context.Background(), []string{dir}, UploadOptions{}) // no cache: another client
	if err != nil || first.Stats.Uploaded != 5 {
		t.Fatalf("first run: %v %+v", err, first.Stats)
	}
	ids := map[string]uuid.UUID{}
	for _, u := range first.Uploaded {
		ids[u.Filepath] = u.Asset.Id
	}
	trash(t, c, ids[paths[0]])
	opts := cacheOpts(t)
	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Rejected != 5 {
		t.Fatalf("cached run: %v %+v", err, res.Stats)
	}
	me, err := c.GetMyUserWithResponse(context.Background())
	if err != nil || me.JSON200 == nil {
		t.Fatalf("users/me: %v", err)
	}
	hc, err := hashcache.Open(opts.HashCache.Path)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		content, _ := os.ReadFile(p)
		id, ok := hc.Confirmed(c.ServerURL(), me.JSON200.Id.String(), sha1.Sum(content))
		if want := ids[p].String(); (i == 0 && ok) || (i > 0 && (!ok || id != want)) {
			t.Errorf("%s: the cache confirms %q %v; want %v", filepath.Base(p), id, ok, map[bool]string{true: "nothing (trashed)", false: want}[i == 0])
		}
	}
	hc.Close()
	opts.HashCache.RecheckAfter = time.Hour
	res, err = c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Rejected != 5 || res.Stats.ChecksSkipped != 4 {
		t.Fatalf("re-run with RecheckAfter: %v %+v, want 4 checks skipped", err, res.Stats)
	}
}

// RecheckAfter trusts recent confirmations: a re-run asks the server
// nothing about them. Delete options never take that shortcut, nor the
// cached checksums: every file is hashed fresh before anything is deleted.
func TestHashCacheRecheckAfterAndDeletes(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	photoFiles(t, dir, 4, 1000)
	opts := cacheOpts(t)
	opts.HashCache.RecheckAfter = time.Hour
	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Uploaded != 4 || res.Stats.ChecksSkipped != 0 {
		t.Fatalf("first run: %v %+v", err, res.Stats)
	}
	checks := s.RequestCount("checkBulkUpload")
	res, err = c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Rejected != 4 || res.Stats.ChecksSkipped != 4 || res.Stats.HashCacheHits != 4 {
		t.Fatalf("re-run: %v %+v", err, res.Stats)
	}
	if got := s.RequestCount("checkBulkUpload"); got != checks {
		t.Fatalf("re-run sent %d bulk-upload-check, want none", got-checks)
	}

	del := opts
	del.DeleteDuplicates = true
	del.DryRun = true // the assertion is about hashing; keep the files
	res, err = c.Upload(context.Background(), []string{dir}, del)
	if err != nil || res.Stats.Rejected != 4 || res.Stats.HashCacheHits != 0 || res.Stats.ChecksSkipped != 0 {
		t.Fatalf("with DeleteDuplicates: %v %+v, want fresh hashes and server checks", err, res.Stats)
	}
	if got := s.RequestCount("checkBulkUpload"); got == checks {
		t.Fatal("with DeleteDuplicates the server was not asked")
	}
	del.DryRun = false
	res, err = c.Upload(context.Background(), []string{dir}, del)
	if err != nil || res.Stats.HashCacheHits != 0 || res.Stats.Rejected != 4 {
		t.Fatalf("deleting duplicates: %v %+v", err, res.Stats)
	}
	for _, r := range res.Rejected {
		if !r.Deleted {
			t.Fatalf("not deleted: %+v", r)
		}
	}
}

// A library Upload with default options writes nothing under the user's
// home or XDG folders: the cache is opt-in. Given DefaultHashCachePath, it
// lives under the user cache folder.
func TestHashCacheOffByDefault(t *testing.T) {
	home := map[string]string{}
	for _, v := range []string{"HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"} {
		home[v] = t.TempDir()
		t.Setenv(v, home[v])
	}
	_, c := newUploadEnv(t)
	dir := t.TempDir()
	photoFiles(t, dir, 2, 100)
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil || res.Stats.Uploaded != 2 {
		t.Fatalf("%v %+v", err, res.Stats)
	}
	for v, d := range home {
		filepath.WalkDir(d, func(p string, _ fs.DirEntry, err error) error {
			if p != d {
				t.Errorf("Upload with default options wrote %s under $%s", p, v)
			}
			return err
		})
	}

	def, err := DefaultHashCachePath()
	if err != nil {
		t.Fatal(err)
	}
	ucd, _ := os.UserCacheDir()
	if want := filepath.Join(ucd, "goimmich", "hashes.db"); def != want {
		t.Fatalf("DefaultHashCachePath = %s, want %s", def, want)
	}
	if runtime.GOOS == "linux" && !strings.HasPrefix(def, home["XDG_CACHE_HOME"]) {
		t.Fatalf("default cache %s is not under the test's XDG_CACHE_HOME", def)
	}
	res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{HashCache: HashCacheOptions{Path: def}})
	if err != nil || res.Stats.Rejected != 2 {
		t.Fatalf("%v %+v", err, res.Stats)
	}
	if fi, err := os.Stat(def); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("default cache file: %v %v", fi, err)
	}
}
