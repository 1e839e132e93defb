package wrapper

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/goimmich/goimmich/immichtest"
)

// watchRun is one Watch in the background, recording what it reports.
type watchRun struct {
	t       *testing.T
	cancel  context.CancelFunc
	done    chan error
	stopped sync.Once
	err     error

	mu      sync.Mutex
	batches []*UploadResult
	retries []error
}

// startWatch runs c.Watch(paths) with fast batching (unless opts say
// otherwise) and waits for its first pass.
func startWatch(t *testing.T, c *Client, paths []string, opts WatchOptions) *watchRun {
	t.Helper()
	r := &watchRun{t: t, done: make(chan error, 1)}
	if opts.Settle == 0 {
		opts.Settle = 100 * time.Millisecond
	}
	if opts.BatchInterval == 0 {
		opts.BatchInterval = 100 * time.Millisecond
	}
	opts.OnBatch = func(res *UploadResult) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.batches = append(r.batches, res)
	}
	opts.OnError = func(err error, _ time.Duration) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.retries = append(r.retries, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- c.Watch(ctx, paths, opts) }()
	t.Cleanup(func() { r.stop() })
	r.waitFor("the first pass", func() bool { return len(r.results()) >= 1 })
	return r
}

// stop cancels Watch and returns its error; Watch must return promptly.
func (r *watchRun) stop() error {
	r.stopped.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(10 * time.Second):
			r.t.Fatal("Watch did not return within 10s of its context ending")
		}
	})
	return r.err
}

func (r *watchRun) results() []*UploadResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*UploadResult(nil), r.batches...)
}

// waitFor polls cond for up to 20s.
func (r *watchRun) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		select {
		case err := <-r.done:
			r.t.Fatalf("waiting for %s: Watch returned %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for %s: not within 20s; batches: %s", what, r.describe())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// describe lists the batches' files, for failure messages.
func (r *watchRun) describe() string {
	var b strings.Builder
	for i, res := range r.results() {
		b.WriteString("\n  batch ")
		b.WriteByte(byte('0' + i%10))
		b.WriteString(":")
		for _, u := range res.Uploaded {
			b.WriteString(" up:" + filepath.Base(u.Filepath))
		}
		for _, j := range res.Rejected {
			b.WriteString(" rej:" + filepath.Base(j.Filepath) + "(" + string(j.Reason) + ")")
		}
		for _, f := range res.Failed {
			b.WriteString(" failed:" + filepath.Base(f.Filepath) + "(" + f.Error + ")")
		}
	}
	return b.String()
}

// uploadedNames counts, by base name, the files reported uploaded.
func (r *watchRun) uploadedNames() map[string]int {
	n := map[string]int{}
	for _, res := range r.results() {
		for _, u := range res.Uploaded {
			n[filepath.Base(u.Filepath)]++
		}
	}
	return n
}

// rejectedNames counts, by base name, the files reported rejected.
func (r *watchRun) rejectedNames() map[string]int {
	n := map[string]int{}
	for _, res := range r.results() {
		for _, j := range res.Rejected {
			n[filepath.Base(j.Filepath)]++
		}
	}
	return n
}

// serverHas reports whether s holds exactly one asset with content.
func serverHas(s *immichtest.Server, content string) bool {
	return len(assetsByChecksum(s)[string(sha(content))]) == 1
}

// checkContent asserts that s holds the asset named name with content.
func checkContent(t *testing.T, s *immichtest.Server, name, content string) {
	t.Helper()
	for _, a := range s.Assets() {
		if a.OriginalFileName != name {
			continue
		}
		got, err := s.AssetContent(a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, []byte(content)) {
			t.Fatalf("%s on the server: %d bytes, want the %d written", name, len(got), len(content))
		}
		return
	}
	t.Fatalf("%s is not on the server", name)
}

// New files are uploaded in batches: the first pass takes what is there,
// a full batch goes at once, a partial one after BatchInterval; files that
// are not media, hidden or temporary are left alone.
func TestWatchUploadsNewFiles(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeOld(t, dir, map[string]string{"old1.jpg": "old one", "old2.jpg": "old two"})
	r := startWatch(t, c, []string{dir}, WatchOptions{BatchSize: 3, BatchInterval: time.Hour})
	if first := r.results()[0]; first.Stats.Uploaded != 2 {
		t.Fatalf("first pass: %+v", first.Stats)
	}
	writeFiles(t, dir, map[string]string{
		"new1.jpg": "new one", "new2.mp4": "new two", "new3.png": "new three",
		"notes.txt": "not media", "dl.jpg.part": "downloading", ".hidden.jpg": "hidden", "~$lock.jpg": "office lock",
		"copy.jpg.crdownload": "chrome", "edit.jpg.tmp": "editor",
	})
	r.waitFor("a full batch of 3", func() bool { return len(r.results()) >= 2 })
	if b := r.results()[1]; b.Stats.Uploaded != 3 || b.Stats.Total != 3 {
		t.Fatalf("second batch: %+v%s", b.Stats, r.describe())
	}
	for name, content := range map[string]string{"new1.jpg": "new one", "new2.mp4": "new two", "new3.png": "new three"} {
		checkContent(t, s, name, content)
	}
	if n := len(s.Assets()); n != 5 {
		t.Fatalf("server holds %d assets, want 5%s", n, r.describe())
	}
	// One more file: the batch is not full, it goes after BatchInterval
	// (an hour here), so not yet; the context ending stops Watch cleanly.
	writeFiles(t, dir, map[string]string{"new4.jpg": "new four"})
	time.Sleep(500 * time.Millisecond)
	if len(r.results()) != 2 || len(s.Assets()) != 5 {
		t.Fatalf("a partial batch went before BatchInterval%s", r.describe())
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Watch returned %v when its context ended, want nil", err)
	}
}

// A partial batch goes once BatchInterval has passed.
func TestWatchBatchInterval(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	r := startWatch(t, c, []string{dir}, WatchOptions{BatchSize: 100, BatchInterval: 300 * time.Millisecond})
	start := time.Now()
	writeFiles(t, dir, map[string]string{"a.jpg": "interval a", "b.jpg": "interval b"})
	r.waitFor("the batch", func() bool { up := r.uploadedNames(); return up["a.jpg"] == 1 && up["b.jpg"] == 1 })
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("batch sent after %v, before BatchInterval", took)
	}
	if n := len(s.Assets()); n != 2 {
		t.Fatalf("server holds %d assets, want 2%s", n, r.describe())
	}
}

// A file written slowly, in chunks, is uploaded once, complete.
func TestWatchSlowWriteUploadedOnce(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	// Settle is 15 times the pause between writes, so that a loaded machine
	// that delays the writer does not make the file look finished.
	r := startWatch(t, c, []string{dir}, WatchOptions{Settle: 1500 * time.Millisecond, BatchInterval: 10 * time.Millisecond})
	f, err := os.Create(filepath.Join(dir, "video.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for i := range 15 {
		chunk[0] = byte(i)
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		want.Write(chunk)
		time.Sleep(100 * time.Millisecond)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the video", func() bool { return len(s.Assets()) == 1 })
	time.Sleep(2 * time.Second) // a second upload would show now
	if n := s.RequestCount("uploadAsset"); n != 1 || len(s.Assets()) != 1 {
		t.Fatalf("%d uploads, %d assets; want the file uploaded once%s", n, len(s.Assets()), r.describe())
	}
	checkContent(t, s, "video.mp4", want.String())
}

// New subfolders are watched as they appear, removed ones dropped and
// watched again when they come back; with NonRecursive, subfolders are left
// alone.
func TestWatchSubfolders(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeOld(t, dir, map[string]string{"old/x.jpg": "in an old folder"})
	r := startWatch(t, c, []string{dir}, WatchOptions{})
	// Created with its files at once: some files may be there before the
	// folder is watched.
	writeFiles(t, dir, map[string]string{"new/a.jpg": "new folder a", "new/deeper/b.jpg": "new folder b", "old/y.jpg": "old folder y"})
	r.waitFor("the new folder's files", func() bool {
		return serverHas(s, "new folder a") && serverHas(s, "new folder b") && serverHas(s, "old folder y")
	})
	if err := os.RemoveAll(filepath.Join(dir, "new")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	writeFiles(t, dir, map[string]string{"new/c.jpg": "new folder again"})
	r.waitFor("the folder made again", func() bool { return serverHas(s, "new folder again") })
	if n := len(s.Assets()); n != 5 {
		t.Fatalf("server holds %d assets, want 5%s", n, r.describe())
	}

	// NonRecursive: only the files directly in the folder, then and later.
	s2, c2 := newUploadEnv(t)
	dir2 := t.TempDir()
	writeFiles(t, dir2, map[string]string{"top.jpg": "shallow top", "sub/in.jpg": "shallow sub"})
	r2 := startWatch(t, c2, []string{dir2}, WatchOptions{UploadOptions: UploadOptions{NonRecursive: true}})
	writeFiles(t, dir2, map[string]string{"later/in.jpg": "shallow later sub", "sub/more.jpg": "shallow more sub", "top2.jpg": "shallow top 2"})
	r2.waitFor("the new top file", func() bool { return serverHas(s2, "shallow top 2") })
	time.Sleep(300 * time.Millisecond)
	if n := len(s2.Assets()); n != 2 || !serverHas(s2, "shallow top") {
		t.Fatalf("shallow: server holds %d assets, want the 2 top files%s", n, r2.describe())
	}
}

// A file downloaded under a temporary name and renamed is uploaded once,
// under its final name; renaming an uploaded file uploads nothing new.
func TestWatchRename(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	r := startWatch(t, c, []string{dir}, WatchOptions{})
	part := filepath.Join(dir, "IMG_1.jpg.part")
	writeFiles(t, dir, map[string]string{"IMG_1.jpg.part": "a downloaded photo"})
	time.Sleep(300 * time.Millisecond) // settled, and ignored
	if len(s.Assets()) != 0 {
		t.Fatalf("a .part file was uploaded%s", r.describe())
	}
	if err := os.Rename(part, filepath.Join(dir, "IMG_1.jpg")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the renamed file", func() bool { return len(s.Assets()) == 1 })
	checkContent(t, s, "IMG_1.jpg", "a downloaded photo")
	if err := os.Rename(filepath.Join(dir, "IMG_1.jpg"), filepath.Join(dir, "beach.jpg")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the rename's batch", func() bool { return r.rejectedNames()["beach.jpg"] == 1 })
	if n := s.RequestCount("uploadAsset"); n != 1 || len(s.Assets()) != 1 {
		t.Fatalf("%d uploads, %d assets after a rename; want 1 and 1%s", n, len(s.Assets()), r.describe())
	}
	if up := r.uploadedNames(); up["IMG_1.jpg"] != 1 || len(up) != 1 {
		t.Fatalf("uploaded %v%s", up, r.describe())
	}
}

// A file named explicitly is watched alone: its siblings are not taken.
func TestWatchExplicitFile(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeOld(t, dir, map[string]string{"me.jpg": "me v1"})
	r := startWatch(t, c, []string{filepath.Join(dir, "me.jpg")}, WatchOptions{})
	writeFiles(t, dir, map[string]string{"sibling.jpg": "a sibling", "me.jpg": "me v2"})
	r.waitFor("the changed file", func() bool { return serverHas(s, "me v2") })
	time.Sleep(300 * time.Millisecond)
	if n := len(s.Assets()); n != 2 || serverHas(s, "a sibling") {
		t.Fatalf("server holds %d assets; want me.jpg's two versions only%s", n, r.describe())
	}
}

// A file still being written when the watch starts is left out of the
// first pass and sent once it has settled, whole.
func TestWatchFirstPassHoldsFileBeingWritten(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeOld(t, dir, map[string]string{"old.jpg": "there before"})
	writeFiles(t, dir, map[string]string{"copying.jpg": "the first half"})
	r := startWatch(t, c, []string{dir}, WatchOptions{Settle: 300 * time.Millisecond})
	if first := r.results()[0]; first.Stats.Uploaded != 1 || first.Uploaded[0].Filepath != filepath.Join(dir, "old.jpg") {
		t.Fatalf("the first pass took %+v; want old.jpg only%s", first.Uploaded, r.describe())
	}
	f, err := os.OpenFile(filepath.Join(dir, "copying.jpg"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(", then the rest"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the finished file", func() bool { return serverHas(s, "the first half, then the rest") })
	if n := len(s.Assets()); n != 2 {
		t.Fatalf("server holds %d assets, want 2 (no half-written copy)%s", n, r.describe())
	}
}

// A named folder that is removed and made again (a disk unplugged and
// plugged back) is watched again, and its files taken.
func TestWatchNamedFolderBack(t *testing.T) {
	s, c := newUploadEnv(t)
	lib := filepath.Join(t.TempDir(), "lib")
	writeOld(t, lib, map[string]string{"a.jpg": "before removal"})
	r := startWatch(t, c, []string{lib}, WatchOptions{})
	if err := os.RemoveAll(lib); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the removal to be reported", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.retries) > 0 && strings.Contains(r.retries[0].Error(), "removed")
	})
	writeFiles(t, lib, map[string]string{"b.jpg": "after removal", "sub/c.jpg": "after removal, below"})
	r.waitFor("the folder's files", func() bool { return serverHas(s, "after removal") && serverHas(s, "after removal, below") })
	writeFiles(t, lib, map[string]string{"d.jpg": "watched again"})
	r.waitFor("a file made later", func() bool { return serverHas(s, "watched again") })
	if n := len(s.Assets()); n != 4 {
		t.Fatalf("server holds %d assets, want 4%s", n, r.describe())
	}
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A server that stops in the middle of a batch and starts again later:
// Watch keeps the files, waits, and once the server is back every file
// arrives exactly once.
func TestWatchServerRestart(t *testing.T) {
	addr, data, key := freeAddr(t), t.TempDir(), "watch-restart-key"
	slow := immichtest.Faults{Operations: []string{"uploadAsset"}, Latency: 300 * time.Millisecond}
	s1 := immichtest.NewServer(immichtest.WithAddr(addr), immichtest.WithDataDir(data), immichtest.WithAPIKey(key), immichtest.WithFaults(slow))
	t.Cleanup(s1.Close)
	c, err := New(s1.URL(), WithAPIKey(key), WithRetry(RetryPolicy{MaxAttempts: 3, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	dir := t.TempDir()
	r := startWatch(t, c, []string{dir}, WatchOptions{UploadOptions: UploadOptions{Concurrency: 1}, BatchSize: 6})
	contents := map[string]string{}
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		contents[n+".jpg"] = "restart " + n
	}
	writeFiles(t, dir, contents)
	// Stop the server while the batch is being uploaded.
	r.waitFor("the batch to start", func() bool { return s1.RequestCount("uploadAsset") >= 2 })
	s1.Close()
	more := map[string]string{"g.jpg": "restart g", "h.jpg": "restart h"}
	writeFiles(t, dir, more) // changes while the server is down
	for n, v := range more {
		contents[n] = v
	}
	r.waitFor("a retry to be reported", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.retries) > 0 })
	time.Sleep(300 * time.Millisecond)
	s2 := immichtest.NewServer(immichtest.WithAddr(addr), immichtest.WithDataDir(data), immichtest.WithAPIKey(key))
	t.Cleanup(s2.Close)
	// The fake does not keep its assets across a restart, so the two
	// together must hold every file once.
	once := func() bool {
		for _, v := range contents {
			if len(assetsByChecksum(s1)[string(sha(v))])+len(assetsByChecksum(s2)[string(sha(v))]) != 1 {
				return false
			}
		}
		return true
	}
	r.waitFor("every file on the servers", once)
	r.waitFor("every file reported", func() bool { return len(r.uploadedNames()) == len(contents) })
	time.Sleep(300 * time.Millisecond) // a second copy would show now
	if !once() || len(s1.Assets())+len(s2.Assets()) != len(contents) {
		t.Fatalf("servers hold %d + %d assets, want %d, each file once%s", len(s1.Assets()), len(s2.Assets()), len(contents), r.describe())
	}
	for name, v := range contents {
		if serverHas(s2, v) {
			checkContent(t, s2, name, v)
		}
	}
	if up := r.uploadedNames(); len(up) != len(contents) {
		t.Fatalf("uploaded %v, want each of the %d files%s", up, len(contents), r.describe())
	} else {
		for n, k := range up {
			if k != 1 {
				t.Fatalf("%s reported uploaded %d times%s", n, k, r.describe())
			}
		}
	}
	if f := s2.ValidationFailures(); len(f) > 0 {
		t.Errorf("spec violations: %+v", f)
	}
}

// More changes than MaxPending: a full pass takes them all.
func TestWatchMaxPendingFullPass(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	r := startWatch(t, c, []string{dir}, WatchOptions{MaxPending: 4})
	files := map[string]string{}
	for i := range 20 {
		name := string(rune('a'+i)) + ".jpg"
		files[name] = "many " + name
	}
	writeFiles(t, dir, files)
	r.waitFor("all 20 files", func() bool { return len(s.Assets()) == 20 })
	for name, v := range files {
		checkContent(t, s, name, v)
	}

	// A file written without end (a recording) does not put the full pass
	// off for ever, and is not sent by it while it changes.
	s3, c3 := newUploadEnv(t)
	dir3 := t.TempDir()
	r3 := startWatch(t, c3, []string{dir3}, WatchOptions{MaxPending: 4})
	// Made before the photos: its event comes first, so it is held (and
	// still changing) when MaxPending is reached.
	f, err := os.Create(filepath.Join(dir3, "recording.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("recording\n")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				f.WriteString("still writing\n")
			}
		}
	})
	writeFiles(t, dir3, files)
	r3.waitFor("all 20 files while another file is being written", func() bool { return len(s3.Assets()) >= 20 })
	close(stop)
	wg.Wait()
	for name, v := range files {
		checkContent(t, s3, name, v)
	}
	if n := len(s3.Assets()); n != 20 {
		t.Fatalf("server holds %d assets, want the 20 photos, not the recording being written%s", n, r3.describe())
	}

	// With NonRecursive, the full pass leaves alone the subfolders made since
	// the start too.
	s2, c2 := newUploadEnv(t)
	dir2 := t.TempDir()
	r2 := startWatch(t, c2, []string{dir2}, WatchOptions{MaxPending: 4, UploadOptions: UploadOptions{NonRecursive: true}})
	writeFiles(t, dir2, map[string]string{"later/sub.jpg": "shallow, in a later subfolder"})
	time.Sleep(200 * time.Millisecond)
	writeFiles(t, dir2, files)
	r2.waitFor("all 20 files", func() bool { return len(s2.Assets()) >= 20 })
	time.Sleep(300 * time.Millisecond)
	if n := len(s2.Assets()); n != 20 || serverHas(s2, "shallow, in a later subfolder") {
		t.Fatalf("shallow full pass: server holds %d assets, want the 20 top files only%s", n, r2.describe())
	}
}

// What prevents the start is returned at once: wrong key, a path that
// does not exist, a bad ignore pattern.
func TestWatchStartErrors(t *testing.T) {
	s, _ := newUploadEnv(t)
	bad, err := New(s.URL(), WithAPIKey("wrong"), WithRetry(uploadRetry()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := time.Now()
	err = bad.Watch(context.Background(), []string{dir}, WatchOptions{})
	if !errors.Is(err, ErrUnauthorized) || time.Since(start) > 10*time.Second {
		t.Fatalf("wrong key: %v after %v; want ErrUnauthorized at once", err, time.Since(start))
	}
	_, c := newUploadEnv(t)
	if err := c.Watch(context.Background(), []string{filepath.Join(dir, "missing")}, WatchOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing path: %v, want os.ErrNotExist", err)
	}
	if err := c.Watch(context.Background(), []string{dir}, WatchOptions{UploadOptions: UploadOptions{Ignore: []string{"[bad"}}}); err == nil || !strings.Contains(err.Error(), "[bad") {
		t.Fatalf("bad ignore pattern: %v", err)
	}
}

func TestTemporaryName(t *testing.T) {
	for name, want := range map[string]bool{
		"a.jpg": false, "a.jpg.part": true, "a.JPG.PART": true, "a.tmp": true, "~$a.jpg": true, "a.jpg~": true,
		"a.crdownload": true, "a.partial": true, "part.jpg": false, "tmp.mp4": false,
	} {
		if got := temporaryName(name); got != want {
			t.Errorf("temporaryName(%q) = %v, want %v", name, got, want)
		}
	}
}

// Events do not grow what Watch holds: many events for the same files
// keep one entry each, and distinct files beyond MaxPending are not held
// (a full pass is due instead); a drained queue gives its room back.
func TestWatchPendingBounded(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for i := range 1200 {
		names = append(names, filepath.Join(dir, "IMG_"+strconv.Itoa(i)+".jpg"))
	}
	for _, p := range names {
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w := &watcher{opts: WatchOptions{MaxPending: 1100, Settle: time.Millisecond, BatchSize: 5000}, dirs: map[string]int{dir: 0},
		roots: []watchRoot{{path: dir}}, explicit: map[string]bool{}, pending: map[string]watchEntry{}, media: newExtSet([]string{".jpg"})}
	now := time.Now()
	for range 100 {
		for _, p := range names[:100] {
			w.event(fsnotify.Event{Name: p, Op: fsnotify.Write}, now)
		}
	}
	if len(w.pending) != 100 || w.rescan {
		t.Fatalf("10,000 events on 100 files: %d entries held, rescan %v; want 100, false", len(w.pending), w.rescan)
	}
	for _, p := range names {
		w.event(fsnotify.Event{Name: p, Op: fsnotify.Create}, now)
	}
	if len(w.pending) != 1100 || !w.rescan {
		t.Fatalf("1,200 files, MaxPending 1,100: %d entries held, rescan %v; want 1,100, true", len(w.pending), w.rescan)
	}
	w.settle(now.Add(time.Second))
	if w.ready != 1100 {
		t.Fatalf("%d ready after Settle, want 1,100", w.ready)
	}
	files, _ := w.take()
	if len(files) != 1100 || len(w.pending) != 0 || w.ready != 0 {
		t.Fatalf("took %d, %d held, %d ready; want 1,100, 0, 0", len(files), len(w.pending), w.ready)
	}
	w.shrink()
	if w.peak != 0 {
		t.Fatalf("peak %d after the queue drained, want a new map", w.peak)
	}
}

// writeOld writes files as writeFiles does, with a modification time an
// hour ago: a library that was there before the watch started (a full
// pass holds back files modified within Settle).
func writeOld(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	writeFiles(t, dir, files)
	old := time.Now().Add(-time.Hour)
	for rel := range files {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(rel)), old, old); err != nil {
			t.Fatal(err)
		}
	}
}
