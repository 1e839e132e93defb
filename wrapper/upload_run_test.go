package wrapper

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/internal/hashcache"
)

// uploadForms is a proxy in front of a fake server that records the form
// fields (not the files) of every POST /assets it passes on.
type uploadForms struct {
	mu    sync.Mutex
	forms []map[string]string
}

func recordUploadForms(t *testing.T, s *immichtest.Server) (*uploadForms, string) {
	t.Helper()
	rec := &uploadForms{}
	u := proxyURL(t, s, func(proxy *httputil.ReverseProxy) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/api/assets" {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					t.Error(err)
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
				mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
				fields := map[string]string{}
				for {
					part, err := mr.NextPart()
					if err != nil {
						break
					}
					if part.FileName() == "" {
						v, _ := io.ReadAll(part)
						fields[part.FormName()] = string(v)
					}
				}
				rec.mu.Lock()
				rec.forms = append(rec.forms, fields)
				rec.mu.Unlock()
			}
			proxy.ServeHTTP(w, r)
		})
	})
	return rec, strings.TrimSuffix(u, "/api")
}

// The upload form follows the server's release: 3.x gets no
// deviceAssetId/deviceId and duration in milliseconds, 2.x both device
// fields and duration as "H:MM:SS.ffffff"; both get dates with a UTC
// offset. The fake server validates each form against its release's spec.
func TestUploadFormFollowsRelease(t *testing.T) {
	dateWithOffset := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)
	pinned, err := os.ReadFile("../openapi/IMMICH_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	releases := map[string]string{strings.TrimSpace(string(pinned)): ""} // the embedded spec
	if dir := os.Getenv("IMMICH_SPEC_DIR"); dir != "" {
		releases["2.7.3"] = filepath.Join(dir, "immich-openapi-specs-2.7.3.json")
	} else {
		t.Log("IMMICH_SPEC_DIR not set: 2.x not tested")
	}
	for release, spec := range releases {
		t.Run(release, func(t *testing.T) {
			var opts []immichtest.Option
			if spec != "" {
				opts = append(opts, immichtest.WithSpecFile(spec))
			}
			s, _ := newUploadEnv(t, opts...)
			if s.SpecVersion() != release {
				t.Fatalf("the fake runs %s, want %s", s.SpecVersion(), release)
			}
			rec, proxyURL := recordUploadForms(t, s)
			c, err := New(proxyURL, WithAPIKey(s.APIKey()), WithRetry(uploadRetry()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"My photo.jpg": "a photo", "clip.mp4": "a video"})
			res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
			if err != nil || res.Stats.Uploaded != 2 {
				t.Fatalf("%v %+v", err, res)
			}
			if len(rec.forms) != 2 {
				t.Fatalf("%d uploads recorded", len(rec.forms))
			}
			for _, f := range rec.forms {
				for _, k := range []string{"fileCreatedAt", "fileModifiedAt"} {
					if !dateWithOffset.MatchString(f[k]) {
						t.Fatalf("%s = %q, want a date with a UTC offset", k, f[k])
					}
				}
				_, hasDeviceID := f["deviceId"]
				_, hasDeviceAssetID := f["deviceAssetId"]
				switch {
				case !strings.HasPrefix(release, "2."):
					if hasDeviceID || hasDeviceAssetID || f["duration"] != "0" {
						t.Fatalf("3.x form %v: want no deviceId/deviceAssetId and duration 0", f)
					}
				default:
					if f["deviceId"] != "goimmich" || !strings.HasSuffix(f["deviceAssetId"], "-7") || f["duration"] != "0:00:00.000000" {
						t.Fatalf("2.x form %v: want deviceId, deviceAssetId and duration 0:00:00.000000", f)
					}
				}
			}
		})
	}
}

// A key without asset.upload fails Upload at once, naming the permission,
// before any file is scanned or hashed and before any bulk-upload-check or
// upload; a key lacking what the options need (albums) likewise. A key
// with exactly what the run needs passes.
func TestUploadChecksPermissionsFirst(t *testing.T) {
	s, _ := newUploadEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a", "b.jpg": "b"})
	for _, tc := range []struct {
		name    string
		perms   []string
		opts    UploadOptions
		missing []string
	}{
		{"no asset.upload", []string{"asset.read", "user.read"}, UploadOptions{}, []string{"asset.upload"}},
		{"no album permissions", []string{"asset.upload"}, UploadOptions{AlbumName: "Trip"}, []string{"album.read", "albumAsset.create"}},
		{"restore needs asset.delete", []string{"asset.upload"}, UploadOptions{RestoreTrashed: true}, []string{"asset.delete"}},
		{"enough for a dry run with an album", []string{"asset.upload", "album.read"}, UploadOptions{AlbumName: "Trip", DryRun: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.RequestCounts()
			c, err := New(s.URL(), WithAPIKey(s.NewAPIKey(tc.name, tc.perms...)), WithRetry(uploadRetry()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			prog := &recordingProgress{done: map[string]int{}}
			opts := tc.opts
			opts.Progress = prog
			res, err := c.Upload(context.Background(), []string{dir}, opts)
			after := s.RequestCounts()
			if tc.missing == nil {
				if err != nil || res.Stats.Total != 2 {
					t.Fatalf("%v %+v", err, res)
				}
				return
			}
			var pe *PermissionError
			if !errors.As(err, &pe) || !slices.Equal(pe.Missing, tc.missing) || !errors.Is(err, ErrForbidden) {
				t.Fatalf("err %v, want a *PermissionError missing %q (and ErrForbidden)", err, tc.missing)
			}
			for _, p := range tc.missing {
				if !strings.Contains(err.Error(), p) {
					t.Fatalf("%q does not name %s", err, p)
				}
			}
			if after["getMyApiKey"] != before["getMyApiKey"]+1 {
				t.Fatal("the key's permissions were not asked for")
			}
			for _, op := range []string{"checkBulkUpload", "uploadAsset", "getAllAlbums"} {
				if after[op] != before[op] {
					t.Fatalf("%s was called %d times before the permission check failed", op, after[op]-before[op])
				}
			}
			if prog.total != 0 || len(prog.done) != 0 || prog.added != 0 {
				t.Fatalf("files were scanned or hashed: total %d, done %v, %d bytes", prog.total, prog.done, prog.added)
			}
		})
	}
}

// A bearer token (a session) has no api-keys/me: the check is skipped.
func TestUploadBearerTokenSkipsPermissionCheck(t *testing.T) {
	s, _ := newUploadEnv(t)
	login, err := New(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer login.CloseIdleConnections()
	lr, err := login.LoginWithResponse(context.Background(), api.LoginCredentialDto{Email: immichtest.DefaultEmail, Password: immichtest.DefaultPassword})
	if err != nil || lr.JSON201 == nil {
		t.Fatalf("login: %v", err)
	}
	c, err := New(s.URL(), WithBearerToken(lr.JSON201.AccessToken), WithRetry(uploadRetry()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a"})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil || res.Stats.Uploaded != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if n := s.RequestCount("getMyApiKey"); n != 0 {
		t.Fatalf("GET /api-keys/me asked %d times with a bearer token", n)
	}
}

// NonRecursive takes only the files directly in a named folder; the hash
// cache is still pruned there (a file deleted from the folder is
// forgotten), while the entries of files in subfolders, not walked, stay.
func TestUploadNonRecursive(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	paths := photoFiles(t, dir, 2, 100) // directly in dir
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := photoFiles(t, filepath.Join(dir, "sub"), 1, 100)
	opts := cacheOpts(t)
	res, err := c.Upload(context.Background(), []string{dir}, opts) // recursive: fills the cache for all 3
	if err != nil || res.Stats.Uploaded != 3 {
		t.Fatalf("%v %+v", err, res.Stats)
	}
	if err := os.Remove(paths[1]); err != nil {
		t.Fatal(err)
	}
	opts.NonRecursive = true
	res, err = c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Total != 1 || res.Stats.Rejected != 1 || res.Rejected[0].Filepath != paths[0] {
		t.Fatalf("non-recursive run: %v %+v", err, res)
	}
	if len(s.Assets()) != 3 {
		t.Fatalf("%d assets", len(s.Assets()))
	}
	hc, err := hashcache.Open(opts.HashCache.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	cached := func(p string) bool {
		fi, err := os.Stat(p)
		if err != nil {
			return false
		}
		k := hashcache.StatKey(fi)
		k.Path, _ = filepath.Abs(p)
		_, ok := hc.Lookup(k)
		return ok
	}
	if !cached(paths[0]) || !cached(sub[0]) {
		t.Fatalf("cache entries lost: %s %v, %s %v", paths[0], cached(paths[0]), sub[0], cached(sub[0]))
	}
	gone, _ := filepath.Abs(paths[1])
	if n := hc.Prune(filepath.Dir(gone), func(p string) bool { return p != gone }); n != 0 {
		t.Fatalf("the non-recursive run did not prune the deleted file's entry (%d pruned now)", n)
	}
}

// SkipServerDeleted: a file this client saw confirmed, whose asset was then
// deleted for good on the server, is rejected as server_deleted, run after
// run; a trashed one is reported as a trashed duplicate, and as
// server_deleted once the trash is emptied. Without the option both are
// uploaded again.
func TestUploadSkipServerDeleted(t *testing.T) {
	s, c, paths, opts, ids := cachedLibrary(t, 3, 1000)
	dir := filepath.Dir(paths[0])
	purge(t, c, ids[paths[1]])
	trash(t, c, ids[paths[2]])

	skip := opts
	skip.SkipServerDeleted = true
	// run uploads with SkipServerDeleted and checks each file's reason.
	run := func(name string, reasons ...RejectReason) {
		t.Helper()
		res, err := c.Upload(context.Background(), []string{dir}, skip)
		if err != nil {
			t.Fatal(err)
		}
		checkPartition(t, res, 3)
		if res.Stats.Uploaded != 0 || res.Stats.Rejected != 3 {
			t.Fatalf("%s: %+v", name, res)
		}
		for _, rj := range res.Rejected {
			k := slices.Index(paths, rj.Filepath)
			want, trashed := reasons[k], reasons[k] == RejectDuplicate && k == 2
			if rj.Reason != want || (want == RejectServerDeleted) != (rj.AssetID == nil) || rj.Trashed != trashed {
				t.Fatalf("%s: %+v, want reason %s", name, rj, want)
			}
		}
	}
	run("first run with SkipServerDeleted", RejectDuplicate, RejectServerDeleted, RejectDuplicate)
	run("second run", RejectDuplicate, RejectServerDeleted, RejectDuplicate)
	// The trashed asset, its confirmation kept, is then deleted for good
	// (the trash emptied): it does not come back either.
	purge(t, c, ids[paths[2]])
	run("after the trash was emptied", RejectDuplicate, RejectServerDeleted, RejectServerDeleted)
	if len(s.Assets()) != 1 {
		t.Fatalf("%d assets on the server, want the one not deleted", len(s.Assets()))
	}

	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || res.Stats.Uploaded != 2 || res.Stats.Rejected != 1 {
		t.Fatalf("without SkipServerDeleted: %v %+v", err, res)
	}
	for _, p := range paths[1:] {
		content, _ := os.ReadFile(p)
		sum := sha1.Sum(content)
		if n := len(assetsByChecksum(s)[string(sum[:])]); n != 1 {
			t.Fatalf("%d assets with the content of %s, want 1 (uploaded again)", n, p)
		}
	}

	if _, err := c.Upload(context.Background(), []string{dir}, UploadOptions{SkipServerDeleted: true}); err == nil || !strings.Contains(err.Error(), "HashCache.Path") {
		t.Fatalf("SkipServerDeleted without a cache: %v", err)
	}
}

// OnFile receives every file's outcome once, the same facts the lists of
// an equal run without it hold, and the lists then stay empty.
func TestUploadOnFile(t *testing.T) {
	_, c := newUploadEnv(t)
	tree := func() (string, []string) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"a.jpg": "a in " + dir, "same.jpg": "a in " + dir, "b.jpg": "b in " + dir,
			"x.jpg": "x in " + dir, "x.jpg.xmp": "<x/>"})
		return dir, []string{dir, filepath.Join(dir, "x.jpg.xmp"), filepath.Join(dir, "missing.jpg")}
	}
	// facts is a result's lists, sorted, with paths relative to dir and no
	// ids. a.jpg and same.jpg hold the same bytes: which of them is sent
	// and which is its in-run duplicate depends on which is hashed first,
	// so they are one name here.
	facts := func(res *UploadResult, dir string) []string {
		r := func(p string) string {
			p = strings.TrimPrefix(p, dir)
			if p == "/a.jpg" || p == "/same.jpg" {
				return "/a.jpg|same.jpg"
			}
			return p
		}
		var out []string
		for _, u := range res.Uploaded {
			out = append(out, fmt.Sprintf("uploaded %s %s %d %s %v", r(u.Filepath), r(u.Sidecar), u.Bytes, u.Asset.Status, u.Deleted))
		}
		for _, j := range res.Rejected {
			out = append(out, fmt.Sprintf("rejected %s %s %v %v %v %v", r(j.Filepath), j.Reason, j.AssetID != nil, j.Trashed, j.Restored, j.Deleted))
		}
		for _, f := range res.Failed {
			out = append(out, fmt.Sprintf("failed %s %v", r(f.Filepath), f.Err != nil && f.Error == f.Err.Error()))
		}
		slices.Sort(out)
		return out
	}
	dir1, in1 := tree()
	listed, err := c.Upload(context.Background(), in1, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir2, in2 := tree()
	var got []FileOutcome
	streamed, err := c.Upload(context.Background(), in2, UploadOptions{OnFile: func(fo FileOutcome) { got = append(got, fo) }})
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Uploaded != nil || streamed.Rejected != nil || streamed.Failed != nil {
		t.Fatalf("lists filled with OnFile: %+v", streamed)
	}
	s1, s2 := listed.Stats, streamed.Stats
	s1.DurationMS, s2.DurationMS = 0, 0
	if s1 != s2 || s2.Total != len(got) || s2.Uploaded != 3 {
		t.Fatalf("stats %+v with OnFile (%d outcomes), %+v without", s2, len(got), s1)
	}
	var relisted UploadResult
	seen := map[string]bool{}
	for _, fo := range got {
		if seen[fo.Path] {
			t.Fatalf("%s reported twice", fo.Path)
		}
		seen[fo.Path] = true
		relisted.add(fo)
	}
	if a, b := facts(listed, dir1), facts(&relisted, dir2); !slices.Equal(a, b) {
		t.Fatalf("OnFile outcomes\n%q\nlists without it\n%q", b, a)
	}
}

// removeAfterScan is a Progress that deletes a file once the scan is done
// (Total), and records the Done calls.
type removeAfterScan struct {
	recordingProgress
	t    *testing.T
	path string
}

func (r *removeAfterScan) Total(files int, n int64) {
	if err := os.Remove(r.path); err != nil {
		r.t.Error(err)
	}
	r.recordingProgress.Total(files, n)
}

// A file that cannot be hashed (gone since the scan) fails with the reason,
// and the observer hears of it once, like every other file.
func TestUploadHashFailureIsReported(t *testing.T) {
	_, c := newUploadEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a", "gone.jpg": "g"})
	gone := filepath.Join(dir, "gone.jpg")
	prog := &removeAfterScan{recordingProgress: recordingProgress{done: map[string]int{}}, t: t, path: gone}
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{Progress: prog})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 2)
	if len(res.Failed) != 1 || res.Failed[0].Filepath != gone || !errors.Is(res.Failed[0].Err, os.ErrNotExist) ||
		!strings.HasPrefix(res.Failed[0].Error, "hashing: ") {
		t.Fatalf("failed %+v", res.Failed)
	}
	if prog.done[gone] != 1 || len(prog.done) != 2 {
		t.Fatalf("Done calls %v, want one per file", prog.done)
	}
}

// BenchmarkUploadResultPerFile measures what the result's lists cost per
// file (the doc comment of UploadResult states it): report over 10,000
// uploaded files and 10,000 duplicates, paths shared with the scan.
func BenchmarkUploadResultPerFile(b *testing.B) {
	const n = 10000
	for _, tc := range []struct {
		name string
		out  outcome
	}{
		{"uploaded", uploadedAs(uuid.New(), false)},
		{"duplicate", duplicateOf(uuid.New(), notTrashed)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sc := &scanner{}
			d := sc.folder("", "") // files named by the caller: the scan holds their paths
			for i := range n {
				p := fmt.Sprintf("/photos/IMG_%05d.jpg", i)
				dir, off := d.add(p)
				sc.res.files.add(fileRun{scannedFile: scannedFile{dir: dir, nameOff: off, nameLen: uint32(len(p))}, out: tc.out.fileState})
			}
			d.done()
			r := &uploadRun{scan: sc.res}
			var ms0, ms1 runtime.MemStats
			var bytes uint64
			for b.Loop() {
				runtime.ReadMemStats(&ms0)
				res := &UploadResult{}
				r.report(res)
				runtime.ReadMemStats(&ms1)
				bytes += ms1.TotalAlloc - ms0.TotalAlloc
				if res.Stats.Total != n {
					b.Fatal(res.Stats)
				}
			}
			b.ReportMetric(float64(bytes)/float64(b.N)/n, "B/file")
		})
	}
}
