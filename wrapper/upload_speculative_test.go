package wrapper

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/goimmich/goimmich/immichtest"
)

// bigFiles lowers speculateMin for one test, so that files of a few
// hundred kilobytes count as big.
func bigFiles(t *testing.T) {
	old := speculateMin
	speculateMin = 64 << 10
	t.Cleanup(func() { speculateMin = old })
}

// writeBig writes size bytes that differ with seed and returns the path.
func writeBig(t *testing.T, dir, name string, size int, seed byte) (string, []byte) {
	t.Helper()
	b := bytes.Repeat([]byte{seed, seed + 1, seed + 2, 7}, size/4)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// A big file goes up without waiting for its checksum's bulk-upload-check:
// with a check that never answers, the upload still ends, created, with
// the file's bytes; the checksum hashed meanwhile goes to the cache, so a
// re-run reads nothing and uploads nothing.
func TestSpeculativeUploadDoesNotWaitForTheCheck(t *testing.T) {
	bigFiles(t)
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	p, content := writeBig(t, dir, "VID.mp4", 512<<10, 1)
	old := time.Now().Add(-time.Hour) // outside the cache's racy window
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	cachePath := filepath.Join(t.TempDir(), "hashes.db")
	s.SetFaults(immichtest.Faults{Operations: []string{"checkBulkUpload"}, Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Upload(ctx, []string{dir}, UploadOptions{HashCache: HashCacheOptions{Path: cachePath}})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if len(res.Uploaded) != 1 {
		t.Fatalf("with bulk-upload-check stuck: %+v %+v", res.Stats, res.Failed)
	}
	got, err := s.AssetContent(res.Uploaded[0].Asset.Id)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the server holds other bytes (%v)", err)
	}

	id := res.Uploaded[0].Asset.Id.String()
	s.SetFaults(immichtest.Faults{})
	uploads := s.RequestCount("uploadAsset")
	res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{HashCache: HashCacheOptions{Path: cachePath}})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if res.Stats.HashCacheHits != 1 || len(res.Rejected) != 1 || *res.Rejected[0].AssetID != id {
		t.Fatalf("re-run: %+v %+v", res.Stats, res.Rejected)
	}
	if n := s.RequestCount("uploadAsset") - uploads; n != 0 {
		t.Fatalf("the re-run uploaded %d times; the cache should have had the checksum", n)
	}
}

// A big file the server already has is found by the check made while it
// goes up: the upload is stopped (here the server would take an hour to
// read it), nothing new is created, and the file is reported as the
// server's duplicate. (16 MiB: more than the socket buffers take in, so
// the file has not been read whole when the check answers.)
func TestSpeculativeUploadStoppedByDuplicate(t *testing.T) {
	bigFiles(t)
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	_, content := writeBig(t, dir, "VID.mp4", 16<<20, 2)
	known := s.AddAsset("known.mp4", content)
	s.SetFaults(immichtest.Faults{Operations: []string{"uploadAsset"}, StallRate: 1, Stall: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Upload(ctx, []string{dir}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if len(res.Rejected) != 1 || res.Rejected[0].Reason != RejectDuplicate || *res.Rejected[0].AssetID != known.ID.String() {
		t.Fatalf("result %+v, failed %+v; want a duplicate of %s", res.Rejected, res.Failed, known.ID)
	}
	if s.RequestCount("uploadAsset") != 1 || len(s.Assets()) != 1 {
		t.Fatalf("%d uploads started, %d assets; want the one upload stopped and no new asset", s.RequestCount("uploadAsset"), len(s.Assets()))
	}
	if n := s.BytesReceived(); n >= int64(len(content)) {
		t.Fatalf("the server read %d bytes, the whole file", n)
	}
}

// Runs that need the check's answer before an upload (dry run, deletes,
// SkipServerDeleted) hash a big file first: the server's copy is found and
// nothing is uploaded.
func TestSpeculativeUploadOffWhenTheCheckMustComeFirst(t *testing.T) {
	bigFiles(t)
	for name, o := range map[string]UploadOptions{
		"dry run":             {DryRun: true},
		"delete uploaded":     {DeleteUploaded: true},
		"delete duplicates":   {DeleteDuplicates: true},
		"skip server deleted": {SkipServerDeleted: true, HashCache: HashCacheOptions{Path: filepath.Join(t.TempDir(), "h.db")}},
	} {
		t.Run(name, func(t *testing.T) {
			s, c := newUploadEnv(t)
			dir := t.TempDir()
			p, content := writeBig(t, dir, "VID.mp4", 512<<10, 3)
			known := s.AddAsset("known.mp4", content)
			res, err := c.Upload(context.Background(), []string{dir}, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rejected) != 1 || *res.Rejected[0].AssetID != known.ID.String() || s.RequestCount("uploadAsset") != 0 {
				t.Fatalf("result %+v, %d uploads; want a duplicate found before any upload", res.Rejected, s.RequestCount("uploadAsset"))
			}
			if _, err := os.Stat(p); (err == nil) == o.DeleteDuplicates {
				t.Fatalf("stat of the file after the run: %v (DeleteDuplicates %v)", err, o.DeleteDuplicates)
			}
		})
	}
}

// proxied returns a Client that reaches s through a reverse proxy wrapped
// in wrap.
func proxied(t *testing.T, s *immichtest.Server, wrap func(http.Handler) http.Handler) *Client {
	t.Helper()
	u := proxyURL(t, s, func(rp *httputil.ReverseProxy) http.Handler { return wrap(rp) })
	c, err := New(u, WithAPIKey(s.APIKey()), WithRetry(uploadRetry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// A big upload refused at once by a proxy's size limit (413), of a file the
// server already has, is reported as that duplicate, as when the check
// comes first: the hashing and the check go on after the upload failed.
func TestSpeculativeUploadRefusedButOnTheServer(t *testing.T) {
	bigFiles(t)
	s, _ := newUploadEnv(t)
	c := proxied(t, s, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/api/assets" && r.ContentLength > 200<<10 {
				http.Error(w, "413 Request Entity Too Large", http.StatusRequestEntityTooLarge)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	dir := t.TempDir()
	_, content := writeBig(t, dir, "VID.mp4", 512<<10, 5)
	known := s.AddAsset("known.mp4", content)
	s.SetFaults(immichtest.Faults{Operations: []string{"checkBulkUpload"}, Latency: 100 * time.Millisecond})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if len(res.Rejected) != 1 || *res.Rejected[0].AssetID != known.ID.String() {
		t.Fatalf("rejected %+v, failed %+v; want a duplicate of %s", res.Rejected, res.Failed, known.ID)
	}
}

// A big file whose upload answers duplicate of a trashed asset before the
// check could say so (here the check fails) is reported trashed, and
// RestoreTrashed restores it.
func TestSpeculativeUploadTrashedDuplicate(t *testing.T) {
	bigFiles(t)
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	_, content := writeBig(t, dir, "VID.mp4", 512<<10, 6)
	s.SeedAsset(immichtest.AssetSeed{Name: "k.mp4", Content: content, TrashedAt: time.Now().Add(-time.Hour)})
	s.SetFaults(immichtest.Faults{Operations: []string{"checkBulkUpload"}, ErrorRate: 1})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{RestoreTrashed: true})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if len(res.Rejected) != 1 || !res.Rejected[0].Restored || s.Assets()[0].IsTrashed {
		t.Fatalf("rejected %+v, failed %+v; want the trashed duplicate, restored", res.Rejected, res.Failed)
	}
}

// When the check answers after the file was read whole into the upload,
// the asset it finds may be the one this upload made: the upload's answer
// is awaited, and the file is reported uploaded (here the proxy holds the
// answer back for a second, the check comes after 300 ms).
func TestSpeculativeUploadNotStoppedByItsOwnAsset(t *testing.T) {
	bigFiles(t)
	s, _ := newUploadEnv(t)
	c := proxied(t, s, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/api/assets" {
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				time.Sleep(time.Second)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	dir := t.TempDir()
	writeBig(t, dir, "VID.mp4", 512<<10, 7)
	s.SetFaults(immichtest.Faults{Operations: []string{"checkBulkUpload"}, Latency: 300 * time.Millisecond})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if len(res.Uploaded) != 1 || len(s.Assets()) != 1 {
		t.Fatalf("uploaded %+v, rejected %+v, %d assets; want the file reported uploaded", res.Uploaded, res.Rejected, len(s.Assets()))
	}
}

// startedProgress records files reported Done without a Start.
type startedProgress struct {
	nopProgress
	mu               sync.Mutex
	started          map[string]bool
	doneWithoutStart []string
}

func (p *startedProgress) Start(path string, _ int64) {
	p.mu.Lock()
	p.started[path] = true
	p.mu.Unlock()
}

func (p *startedProgress) Done(path string, _ Status, _ error) {
	p.mu.Lock()
	if !p.started[path] {
		p.doneWithoutStart = append(p.doneWithoutStart, path)
	}
	p.mu.Unlock()
}

// A big file whose checksum the cache has is started on the Progress
// before it is done, like any other.
func TestSpeculativeCachedBigFileProgress(t *testing.T) {
	bigFiles(t)
	_, c := newUploadEnv(t)
	dir := t.TempDir()
	p, _ := writeBig(t, dir, "VID.mp4", 512<<10, 8)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	opts := UploadOptions{HashCache: HashCacheOptions{Path: filepath.Join(t.TempDir(), "h.db")}}
	if _, err := c.Upload(context.Background(), []string{dir}, opts); err != nil {
		t.Fatal(err)
	}
	prog := &startedProgress{started: map[string]bool{}}
	opts.Progress = prog
	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.HashCacheHits != 1 || len(prog.doneWithoutStart) != 0 {
		t.Fatalf("%d cache hits; done without start: %v", res.Stats.HashCacheHits, prog.doneWithoutStart)
	}
}

// Speculative uploads speak each 2.x release's form too (deviceAssetId and
// deviceId, no x-immich-checksum): a new big file is created with its
// device fields, and one the server has is reported as that duplicate,
// with no request the spec refuses (newUploadEnv checks).
func TestSpeculativeUploadOn2xServers(t *testing.T) {
	specDir := os.Getenv("IMMICH_SPEC_DIR")
	if specDir == "" {
		t.Skip("IMMICH_SPEC_DIR not set (CI sets it)")
	}
	bigFiles(t)
	for _, version := range []string{"2.3.1", "2.7.3"} {
		t.Run(version, func(t *testing.T) {
			spec := filepath.Join(specDir, "immich-openapi-specs-"+version+".json")
			if _, err := os.Stat(spec); err != nil {
				t.Fatalf("IMMICH_SPEC_DIR is set but: %v", err)
			}
			s, c := newUploadEnv(t, immichtest.WithSpecFile(spec))
			dir := t.TempDir()
			writeBig(t, dir, "NEW.mp4", 512<<10, 9)
			_, known := writeBig(t, dir, "OLD.mp4", 512<<10, 10)
			old := s.AddAsset("old.mp4", known)
			res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkPartition(t, res, 2)
			if len(res.Uploaded) != 1 || len(res.Rejected) != 1 || *res.Rejected[0].AssetID != old.ID.String() {
				t.Fatalf("uploaded %+v, rejected %+v, failed %+v", res.Uploaded, res.Rejected, res.Failed)
			}
			a, ok := s.Asset(res.Uploaded[0].Asset.Id)
			if !ok || a.DeviceID != "goimmich" || a.DeviceAssetID != fmt.Sprintf("NEW.mp4-%d", 512<<10) {
				t.Fatalf("new asset %+v", a)
			}
		})
	}
}
