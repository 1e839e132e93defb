package wrapper

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
)

// fastRetry retries quickly so that fault tests stay fast.
func fastRetry() RetryPolicy {
	return RetryPolicy{MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, StallTimeout: 5 * time.Second}
}

func newDownloadClient(t testing.TB, serverURL string, p RetryPolicy) *Client {
	t.Helper()
	c, err := New(serverURL, WithAPIKey("test-key"), WithRetry(p))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func sha1b64(b []byte) string {
	s := sha1.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// plainAsset is an asset served by plainServer.
type plainAsset struct {
	name        string // originalFileName
	content     []byte
	etag        string
	disposition string // Content-Disposition; "" for none
	contentType string
	checksum    string // base64 SHA1 in the asset's JSON; sha1 of content when ""
}

// plainServer is a minimal Immich stand-in built on httptest, for the rules
// of the download engine that need precise control of the server's answers
// (where a body is cut, an ETag that changes, a server that ignores Range).
// The full behaviour is tested against immichtest further down.
type plainServer struct {
	t  *testing.T
	ts *httptest.Server

	mu       sync.Mutex
	assets   map[uuid.UUID]*plainAsset
	cuts     []int64 // for each original request in turn: bytes to send before cutting; -1 none
	stalls   []int64 // for each original request in turn: bytes to send before stalling; -1 none
	noRange  bool    // ignore Range headers
	badRange bool    // answer a Range request with a 206 of the wrong range
	onRanged func()  // called before serving a ranged request of an original
	requests []*http.Request
}

func newPlainServer(t *testing.T) *plainServer {
	s := &plainServer{t: t, assets: map[uuid.UUID]*plainAsset{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/assets/{id}", s.info)
	mux.HandleFunc("GET /api/assets/{id}/original", s.original)
	mux.HandleFunc("GET /api/assets/{id}/thumbnail", s.thumbnail)
	s.ts = httptest.NewServer(mux)
	t.Cleanup(s.ts.Close)
	return s
}

func (s *plainServer) add(a *plainAsset) uuid.UUID {
	id := uuid.New()
	if a.contentType == "" {
		a.contentType = "image/jpeg"
	}
	s.mu.Lock()
	s.assets[id] = a
	s.mu.Unlock()
	return id
}

func (s *plainServer) url() string { return s.ts.URL }

func (s *plainServer) get(r *http.Request) *plainAsset {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assets[id]
}

func (s *plainServer) info(w http.ResponseWriter, r *http.Request) {
	a := s.get(r)
	if a == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"message":"Not found or no asset.read access","error":"Bad Request","statusCode":400,"correlationId":"c1"}`)
		return
	}
	s.mu.Lock()
	sum := a.checksum
	if sum == "" {
		sum = sha1b64(a.content)
	}
	dto := map[string]any{
		"id": r.PathValue("id"), "checksum": sum, "originalFileName": a.name, "type": "IMAGE",
		"originalMimeType": a.contentType,
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(dto)
}

// cutWriter sends at most n body bytes, then aborts the connection.
type cutWriter struct {
	http.ResponseWriter
	n     int64
	stall bool
	ctx   context.Context
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= c.n {
		c.n -= int64(len(p))
		return c.ResponseWriter.Write(p)
	}
	c.ResponseWriter.Write(p[:c.n])
	c.n = 0
	http.NewResponseController(c.ResponseWriter).Flush()
	if c.stall {
		<-c.ctx.Done() // until the client gives up
	}
	panic(http.ErrAbortHandler)
}

func pop(list *[]int64) int64 {
	if len(*list) == 0 {
		return -1
	}
	n := (*list)[0]
	*list = (*list)[1:]
	return n
}

func (s *plainServer) original(w http.ResponseWriter, r *http.Request) {
	a := s.get(r)
	if a == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(context.Background()))
	cut, stall := pop(&s.cuts), pop(&s.stalls)
	content, etag := a.content, a.etag
	noRange, onRanged := s.noRange, s.onRanged
	s.mu.Unlock()
	if onRanged != nil && r.Header.Get("Range") != "" {
		onRanged()
		s.mu.Lock()
		content, etag = a.content, a.etag
		s.mu.Unlock()
	}
	if noRange {
		r.Header.Del("Range")
	}
	s.mu.Lock()
	badRange := s.badRange
	s.mu.Unlock()
	if badRange && r.Header.Get("Range") != "" {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(content)-1, len(content)))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(content)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	if a.disposition != "" {
		w.Header().Set("Content-Disposition", a.disposition)
	}
	var ww http.ResponseWriter = w
	switch {
	case cut >= 0:
		ww = &cutWriter{ResponseWriter: w, n: cut}
	case stall >= 0:
		ww = &cutWriter{ResponseWriter: w, n: stall, stall: true, ctx: r.Context()}
	}
	http.ServeContent(ww, r, "", time.Time{}, bytes.NewReader(content))
}

// thumbnail answers as Immich does: WebP thumbnails and previews named
// STEM_SIZE.webp in Content-Disposition; "fullsize" is a JPEG sent without
// a name, to exercise the fallback.
func (s *plainServer) thumbnail(w http.ResponseWriter, r *http.Request) {
	a := s.get(r)
	if a == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	size := r.URL.Query().Get("size")
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(context.Background()))
	s.mu.Unlock()
	if size == "" {
		size = "thumbnail"
	}
	body := []byte("RIFF....WEBPVP8 " + size)
	switch size {
	case "fullsize":
		w.Header().Set("Content-Type", "image/jpeg")
		body = []byte("\xff\xd8\xff\xe0 fullsize")
	case "thumbnail", "preview":
		w.Header().Set("Content-Type", "image/webp")
		stem := strings.TrimSuffix(a.name, filepath.Ext(a.name))
		w.Header().Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(stem+"_"+size+".webp"))
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func (s *plainServer) originalRequests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDownloadAssetToFileResumesAfterCuts(t *testing.T) {
	s := newPlainServer(t)
	content := randomBytes(3<<20+123, 1)
	id := s.add(&plainAsset{name: "IMG_0001.jpg", content: content, etag: `"v1"`})
	// Three cuts at random offsets, each within what is left.
	r := rand.New(rand.NewPCG(7, 7))
	var cuts []int64
	left := int64(len(content))
	for range 3 {
		n := r.Int64N(left / 2)
		cuts = append(cuts, n)
		left -= n
	}
	s.cuts = slices.Clone(cuts)
	dir := t.TempDir()
	c := newDownloadClient(t, s.url(), fastRetry())
	got, err := pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "IMG_0001.jpg"); got != want {
		t.Fatalf("path %q, want %q", got, want)
	}
	if !bytes.Equal(mustRead(t, got), content) {
		t.Fatal("downloaded bytes differ from the asset")
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"IMG_0001.jpg"}) {
		t.Fatalf("folder holds %q, want only the file", names)
	}
	reqs := s.originalRequests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests of the original, want 4 (3 cuts + 1)", len(reqs))
	}
	if h := reqs[0].Header.Get("Range"); h != "" {
		t.Errorf("first request has Range %q", h)
	}
	var off int64
	for i, req := range reqs[1:] {
		off += cuts[i]
		if want := fmt.Sprintf("bytes=%d-", off); req.Header.Get("Range") != want {
			t.Errorf("request %d: Range %q, want %q", i+2, req.Header.Get("Range"), want)
		}
		if req.Header.Get("If-Range") != `"v1"` {
			t.Errorf("request %d: If-Range %q, want the ETag", i+2, req.Header.Get("If-Range"))
		}
	}
}

func TestDownloadRestartsWhenTheFileChanged(t *testing.T) {
	s := newPlainServer(t)
	v1 := randomBytes(1<<20, 2)
	v2 := randomBytes(1<<20+5, 3)
	a := &plainAsset{name: "changing.jpg", content: v1, etag: `"v1"`, checksum: sha1b64(v2)}
	id := s.add(a)
	s.cuts = []int64{300_000}
	dir := t.TempDir()
	c := newDownloadClient(t, s.url(), fastRetry())
	// Change the file on the server after the first (cut) attempt.
	s.onRanged = func() {
		s.mu.Lock()
		a.content, a.etag = v2, `"v2"`
		s.mu.Unlock()
	}
	got, err := pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, got), v2) {
		t.Fatal("the file is not the new version alone: a resume joined two versions")
	}
	reqs := s.originalRequests()
	if len(reqs) != 2 || reqs[1].Header.Get("If-Range") != `"v1"` {
		t.Fatalf("want 2 requests, the second with If-Range \"v1\"; got %d", len(reqs))
	}
}

func TestDownloadRestartsWhenServerIgnoresRange(t *testing.T) {
	s := newPlainServer(t)
	content := randomBytes(2<<20, 4)
	id := s.add(&plainAsset{name: "norange.jpg", content: content})
	s.cuts = []int64{1 << 20, 500_000}
	s.noRange = true
	dir := t.TempDir()
	c := newDownloadClient(t, s.url(), fastRetry())
	got, err := pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, got), content) {
		t.Fatal("bytes differ")
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Fatalf("folder holds %q", names)
	}
}

func TestDownloadResumesAfterStall(t *testing.T) {
	s := newPlainServer(t)
	content := randomBytes(1<<20, 5)
	id := s.add(&plainAsset{name: "stall.jpg", content: content, etag: `"s"`})
	s.stalls = []int64{400_000}
	dir := t.TempDir()
	p := fastRetry()
	p.StallTimeout = 200 * time.Millisecond
	c := newDownloadClient(t, s.url(), p)
	got, err := pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, got), content) {
		t.Fatal("bytes differ")
	}
	reqs := s.originalRequests()
	if len(reqs) != 2 || reqs[1].Header.Get("Range") == "" {
		t.Fatalf("want a second, ranged request after the stall; got %d requests", len(reqs))
	}
}

func TestDownloadGivesUpWithoutProgress(t *testing.T) {
	s := newPlainServer(t)
	id := s.add(&plainAsset{name: "never.jpg", content: randomBytes(1000, 6)})
	s.cuts = []int64{0, 0, 0, 0, 0, 0, 0, 0}
	dir := t.TempDir()
	p := fastRetry()
	p.MaxAttempts = 3
	c := newDownloadClient(t, s.url(), p)
	_, err := c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{})
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Fatalf("err = %v, want giving up after 3 attempts", err)
	}
	if n := len(s.originalRequests()); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Fatalf("a failed download left %q", names)
	}
}

func TestDownloadChecksumMismatchLeavesNothing(t *testing.T) {
	s := newPlainServer(t)
	id := s.add(&plainAsset{name: "bad.jpg", content: randomBytes(100_000, 7), checksum: sha1b64([]byte("other bytes"))})
	dir := t.TempDir()
	c := newDownloadClient(t, s.url(), fastRetry())
	_, err := c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{})
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("err = %v, want ErrChecksumMismatch", err)
	}
	if !strings.Contains(err.Error(), id.String()) {
		t.Errorf("error %q does not name the asset", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Fatalf("a mismatch left %q", names)
	}
	// SkipVerify accepts the bytes as they are.
	got, err := pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{SkipVerify: true}))
	if err != nil || filepath.Base(got) != "bad.jpg" {
		t.Fatalf("SkipVerify: %q, %v", got, err)
	}
}

func TestDownloadExistingFileRules(t *testing.T) {
	s := newPlainServer(t)
	content := randomBytes(200_000, 8)
	id := s.add(&plainAsset{name: "IMG_7.jpg", content: content, disposition: `attachment; filename="IMG_7.jpg"`})
	c := newDownloadClient(t, s.url(), fastRetry())
	ctx := context.Background()

	t.Run("same bytes: returned, not downloaded", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "IMG_7.jpg"), content, 0o644); err != nil {
			t.Fatal(err)
		}
		before := len(s.originalRequests())
		got, err := pathOf(c.DownloadAssetToFile(ctx, id, dir, DownloadOptions{}))
		if err != nil || got != filepath.Join(dir, "IMG_7.jpg") {
			t.Fatalf("%q, %v", got, err)
		}
		if n := len(s.originalRequests()) - before; n != 0 {
			t.Fatalf("%d downloads of a file already there", n)
		}
	})
	t.Run("different bytes: numbered name, existing file untouched", func(t *testing.T) {
		dir := t.TempDir()
		mine := []byte("my own photo")
		os.WriteFile(filepath.Join(dir, "IMG_7.jpg"), mine, 0o644)
		os.WriteFile(filepath.Join(dir, "IMG_7 (1).jpg"), []byte("another"), 0o644)
		got, err := pathOf(c.DownloadAssetToFile(ctx, id, dir, DownloadOptions{}))
		if err != nil || got != filepath.Join(dir, "IMG_7 (2).jpg") {
			t.Fatalf("%q, %v", got, err)
		}
		if !bytes.Equal(mustRead(t, filepath.Join(dir, "IMG_7.jpg")), mine) {
			t.Fatal("the existing file was changed")
		}
		if !bytes.Equal(mustRead(t, got), content) {
			t.Fatal("bytes differ")
		}
		// A rerun finds the numbered copy and does not download.
		before := len(s.originalRequests())
		again, err := pathOf(c.DownloadAssetToFile(ctx, id, dir, DownloadOptions{}))
		if err != nil || again != got || len(s.originalRequests()) != before {
			t.Fatalf("rerun: %q, %v, %d downloads", again, err, len(s.originalRequests())-before)
		}
		if names := listDir(t, dir); len(names) != 3 {
			t.Fatalf("folder holds %q", names)
		}
	})
	t.Run("overwrite replaces", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "IMG_7.jpg"), []byte("old"), 0o644)
		got, err := pathOf(c.DownloadAssetToFile(ctx, id, dir, DownloadOptions{Overwrite: true}))
		if err != nil || got != filepath.Join(dir, "IMG_7.jpg") {
			t.Fatalf("%q, %v", got, err)
		}
		if !bytes.Equal(mustRead(t, got), content) {
			t.Fatal("not replaced")
		}
		if names := listDir(t, dir); len(names) != 1 {
			t.Fatalf("folder holds %q", names)
		}
	})
	t.Run("same bytes found only after download (name from header)", func(t *testing.T) {
		dir := t.TempDir()
		// The asset's originalFileName differs from the header's name, so
		// only the placement step can find the copy.
		id2 := s.add(&plainAsset{name: "other-name.jpg", content: content, disposition: `attachment; filename="IMG_7.jpg"`})
		os.WriteFile(filepath.Join(dir, "IMG_7.jpg"), content, 0o644)
		got, err := pathOf(c.DownloadAssetToFile(ctx, id2, dir, DownloadOptions{}))
		if err != nil || got != filepath.Join(dir, "IMG_7.jpg") {
			t.Fatalf("%q, %v", got, err)
		}
		if names := listDir(t, dir); len(names) != 1 {
			t.Fatalf("folder holds %q", names)
		}
	})
}

func TestDownloadNamesAreSafe(t *testing.T) {
	s := newPlainServer(t)
	c := newDownloadClient(t, s.url(), fastRetry())
	ctx := context.Background()
	content := []byte("\xff\xd8\xff\xe0 fake jpeg")
	tests := []struct {
		asset plainAsset
		opts  DownloadOptions
		want  string
	}{
		{plainAsset{name: "x.jpg", disposition: `attachment; filename="../../escape.jpg"`}, DownloadOptions{}, "escape.jpg"},
		{plainAsset{name: "x.jpg", disposition: `inline; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`}, DownloadOptions{}, "passwd.jpg"},
		{plainAsset{name: "x.jpg", disposition: `inline; filename*=UTF-8''%C3%A9t%C3%A9%201.jpg`}, DownloadOptions{}, "été 1.jpg"},
		{plainAsset{name: "x.jpg", disposition: `inline; filename*=UTF-8''IMG_0001%20(1)%20l'%C3%A9t%C3%A9.jpg`}, DownloadOptions{}, "IMG_0001 (1) l'été.jpg"},
		{plainAsset{name: "/abs/path/IMG.HEIC"}, DownloadOptions{}, "IMG.HEIC"},
		{plainAsset{name: "noext", contentType: "image/webp"}, DownloadOptions{}, "noext.webp"},
		{plainAsset{name: "CON"}, DownloadOptions{}, "_CON.jpg"},
		{plainAsset{name: ".."}, DownloadOptions{}, ""}, // asset-ID.jpg
		{plainAsset{name: "x.jpg"}, DownloadOptions{Filename: "../mine"}, "mine.jpg"},
	}
	for _, tt := range tests {
		a := tt.asset
		a.content = content
		id := s.add(&a)
		dir := t.TempDir()
		sub := filepath.Join(dir, "out")
		got, err := pathOf(c.DownloadAssetToFile(ctx, id, sub, tt.opts))
		if err != nil {
			t.Fatalf("%+v: %v", tt.asset, err)
		}
		want := tt.want
		if want == "" {
			want = "asset-" + id.String() + ".jpg"
		}
		if got != filepath.Join(sub, want) {
			t.Errorf("%+v: path %q, want %q", tt.asset, got, filepath.Join(sub, want))
		}
		if names := listDir(t, dir); !slices.Equal(names, []string{"out"}) {
			t.Errorf("%+v: wrote outside the target folder: %q", tt.asset, names)
		}
	}
}

func TestDownloadErrors(t *testing.T) {
	s := newPlainServer(t)
	c := newDownloadClient(t, s.url(), fastRetry())
	ctx := context.Background()
	missing := uuid.New()
	dir := t.TempDir()
	_, err := c.DownloadAssetToFile(ctx, missing, dir, DownloadOptions{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), missing.String()) {
		t.Fatalf("err = %v, want ErrNotFound naming %s", err, missing)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
		t.Fatalf("err = %v, want the server's *APIError too", err)
	}

	for _, tt := range []struct {
		status int
		opts   DownloadOptions
		is     error
		says   string
	}{
		{http.StatusUnauthorized, DownloadOptions{}, ErrUnauthorized, "API key"},
		{http.StatusUnauthorized, DownloadOptions{Key: "k"}, ErrUnauthorized, "shared link"},
		{http.StatusForbidden, DownloadOptions{Slug: "s"}, ErrForbidden, "shared link"},
		{http.StatusForbidden, DownloadOptions{}, ErrForbidden, "API key"},
		{http.StatusNotFound, DownloadOptions{}, ErrNotFound, "no such asset"},
	} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tt.status)
			fmt.Fprintf(w, `{"message":"nope","statusCode":%d}`, tt.status)
		}))
		c := newDownloadClient(t, ts.URL, fastRetry())
		id := uuid.New()
		_, err := c.DownloadAssetToFile(ctx, id, dir, tt.opts)
		ts.Close()
		if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), id.String()) {
			t.Errorf("%d %+v: err = %v, want %v saying %q and naming the id", tt.status, tt.opts, err, tt.is, tt.says)
		}
		if strings.Contains(err.Error(), "test-key") {
			t.Errorf("error leaks the API key: %v", err)
		}
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Fatalf("errors left %q", names)
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 0-99/100", 0, 100, true},
		{"bytes 100-199/1000", 100, 1000, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes 5-9/9", 0, 0, false},
		{"bytes 9-5/100", 0, 0, false},
		{"bytes */100", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		start, total, ok := parseContentRange(tt.in)
		if ok != tt.ok || (ok && (start != tt.start || total != tt.total)) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v", tt.in, start, total, ok)
		}
	}
}

func TestDecodeChecksum(t *testing.T) {
	sum := sha1.Sum([]byte("x"))
	for _, s := range []string{base64.StdEncoding.EncodeToString(sum[:]), fmt.Sprintf("%x", sum)} {
		b, err := decodeChecksum(s)
		if err != nil || !bytes.Equal(b, sum[:]) {
			t.Errorf("decodeChecksum(%q) = %x, %v", s, b, err)
		}
	}
	for _, s := range []string{"", "abc", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := decodeChecksum(s); err == nil {
			t.Errorf("decodeChecksum(%q) accepted", s)
		}
	}
}

// --- Against immichtest, the spec-validated fake Immich server. ---

func newImmich(t *testing.T, opts ...immichtest.Option) (*immichtest.Server, *Client) {
	t.Helper()
	s := immichtest.NewServer(opts...)
	t.Cleanup(s.Close)
	c, err := New(s.URL(), WithAPIKey(s.APIKey()), WithRetry(fastRetry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return s, c
}

// checkOnly asserts that dir holds exactly the files want (name -> bytes).
func checkOnly(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	names := listDir(t, dir)
	var wantNames []string
	for n := range want {
		wantNames = append(wantNames, n)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Fatalf("folder holds %q, want %q", names, wantNames)
	}
	for n, b := range want {
		if !bytes.Equal(mustRead(t, filepath.Join(dir, n)), b) {
			t.Fatalf("%s: bytes differ", n)
		}
	}
}

func TestImmichDownloadHelpers(t *testing.T) {
	s, c := newImmich(t)
	ctx := context.Background()
	photo := randomBytes(300_000, 10)
	video := randomBytes(500_000, 11)
	p := s.AddAsset("IMG_0001.jpg", photo)
	v := s.AddAsset("clip.MOV", video)
	dir := t.TempDir()

	got, err := pathOf(c.DownloadAssetToFile(ctx, p.ID, dir, DownloadOptions{}))
	if err != nil || got != filepath.Join(dir, "IMG_0001.jpg") {
		t.Fatalf("DownloadAssetToFile: %q, %v", got, err)
	}
	got, err = pathOf(c.PlayAssetVideoToFile(ctx, v.ID, dir, DownloadOptions{}))
	if err != nil || got != filepath.Join(dir, "clip.mov") {
		t.Fatalf("PlayAssetVideoToFile: %q, %v", got, err)
	}
	if _, err := c.PlayAssetVideoToFile(ctx, p.ID, dir, DownloadOptions{}); err == nil || !strings.Contains(err.Error(), "not a video") {
		t.Fatalf("PlayAssetVideoToFile of a photo: %v", err)
	}
	if n := s.RequestCount("playAssetVideo"); n != 1 {
		t.Fatalf("%d playAssetVideo requests, want 1 (none for the photo)", n)
	}
	for _, tt := range []struct {
		size api.AssetMediaSize
		w, h int
	}{{api.AssetMediaSizeThumbnail, 250, 250}} { // larger sizes: TestViewAssetToFileSizes (rendering them is slow under -race)
		got, err := pathOf(c.ViewAssetToFile(ctx, p.ID, dir, tt.size, DownloadOptions{}))
		want := filepath.Join(dir, "IMG_0001_"+string(tt.size)+".jpg")
		if err != nil || got != want {
			t.Fatalf("ViewAssetToFile(%s): %q, %v; want %q", tt.size, got, err, want)
		}
		f, _ := os.Open(got)
		cfg, err := jpeg.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != tt.w || cfg.Height != tt.h {
			t.Fatalf("%s: %dx%d, %v; want a %dx%d JPEG", got, cfg.Width, cfg.Height, err, tt.w, tt.h)
		}
	}
	if _, err := c.ViewAssetToFile(ctx, p.ID, dir, "huge", DownloadOptions{}); err == nil {
		t.Fatal("ViewAssetToFile accepted size huge")
	}
	names := listDir(t, dir)
	want := []string{"IMG_0001.jpg", "IMG_0001_thumbnail.jpg", "clip.mov"}
	if !slices.Equal(names, want) {
		t.Fatalf("folder holds %q, want %q", names, want)
	}
	if !bytes.Equal(mustRead(t, filepath.Join(dir, "IMG_0001.jpg")), photo) || !bytes.Equal(mustRead(t, filepath.Join(dir, "clip.mov")), video) {
		t.Fatal("bytes differ")
	}
	if f := s.ValidationFailures(); len(f) > 0 {
		t.Fatalf("requests the spec refuses: %+v", f)
	}
}

// Downloads whose bodies the server cuts (TruncateRate), for several seeds,
// end with complete, verified files and no .part.
func TestImmichDownloadTruncatedBodies(t *testing.T) {
	cutSomewhere := false
	for seed := int64(1); seed <= 5; seed++ {
		s, c := newImmich(t, immichtest.WithFaults(immichtest.Faults{
			Seed: seed, Operations: []string{"downloadAsset", "downloadArchive"}, TruncateRate: 0.5, ErrorRate: 0.1,
		}))
		ctx := context.Background()
		dir := t.TempDir()
		want := map[string][]byte{}
		var ids []uuid.UUID
		for i := range 4 {
			name := fmt.Sprintf("seed%d-%d.jpg", seed, i)
			content := randomBytes(200_000+int(seed)*7919*(i+1), uint64(seed*100)+uint64(i))
			a := s.AddAsset(name, content)
			ids = append(ids, a.ID)
			got, err := pathOf(c.DownloadAssetToFile(ctx, a.ID, dir, DownloadOptions{}))
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if got != filepath.Join(dir, name) {
				t.Fatalf("seed %d: path %q", seed, got)
			}
			want[name] = content
		}
		zips, err := pathsOf(c.DownloadArchiveToDir(ctx, ids, dir, DownloadOptions{}))
		if err != nil {
			t.Fatalf("seed %d: archive: %v", seed, err)
		}
		if n := checkZip(t, zips[0], want); n != 4 {
			t.Fatalf("seed %d: the zip holds %d files, want 4", seed, n)
		}
		want["immich-archive.zip"] = mustRead(t, zips[0])
		checkOnly(t, dir, want)
		t.Logf("seed %d: %d downloadAsset requests for 4 assets, %d downloadArchive requests for 1 zip",
			seed, s.RequestCount("downloadAsset"), s.RequestCount("downloadArchive"))
		if s.RequestCount("downloadAsset") > 4 || s.RequestCount("downloadArchive") > 1 {
			cutSomewhere = true
		}
	}
	if !cutSomewhere {
		t.Fatal("no body was cut: the test did not test resuming")
	}
}

// checkZip asserts that the zip at path holds the files of want (by name)
// that it names, with their bytes, and nothing else.
func checkZip(t *testing.T, path string, want map[string][]byte) int {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		w, ok := want[f.Name]
		if !ok {
			t.Fatalf("%s holds unexpected %q", path, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(b, w) {
			t.Fatalf("%s: %s differs (%v)", path, f.Name, err)
		}
	}
	return len(zr.File)
}

func TestImmichChecksumMismatchLeavesNoFile(t *testing.T) {
	data := t.TempDir()
	s, c := newImmich(t, immichtest.WithDataDir(data))
	content := randomBytes(150_000, 20)
	a := s.AddAsset("rot.jpg", content)
	// Bit rot on the server: the stored file no longer matches its checksum.
	id := a.ID.String()
	stored := filepath.Join(data, id[0:2], id[2:4], id+".jpg")
	rotten := bytes.Clone(content)
	rotten[100_000] ^= 0x40
	if err := os.WriteFile(stored, rotten, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err := c.DownloadAssetToFile(context.Background(), a.ID, dir, DownloadOptions{})
	if !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), a.ID.String()) {
		t.Fatalf("err = %v, want ErrChecksumMismatch naming the asset", err)
	}
	checkOnly(t, dir, nil)
}

func TestImmichExistingFileRules(t *testing.T) {
	s, c := newImmich(t)
	ctx := context.Background()
	content := randomBytes(120_000, 30)
	a := s.AddAsset("IMG_9.jpg", content)
	dir := t.TempDir()
	mine := []byte("not the asset")
	os.WriteFile(filepath.Join(dir, "IMG_9.jpg"), mine, 0o644)

	got, err := pathOf(c.DownloadAssetToFile(ctx, a.ID, dir, DownloadOptions{}))
	if err != nil || got != filepath.Join(dir, "IMG_9 (1).jpg") {
		t.Fatalf("%q, %v", got, err)
	}
	n := s.RequestCount("downloadAsset")
	again, err := pathOf(c.DownloadAssetToFile(ctx, a.ID, dir, DownloadOptions{}))
	if err != nil || again != got || s.RequestCount("downloadAsset") != n {
		t.Fatalf("rerun: %q, %v, downloaded again: %v", again, err, s.RequestCount("downloadAsset") != n)
	}
	checkOnly(t, dir, map[string][]byte{"IMG_9.jpg": mine, "IMG_9 (1).jpg": content})

	got, err = pathOf(c.DownloadAssetToFile(ctx, a.ID, dir, DownloadOptions{Overwrite: true}))
	if err != nil || got != filepath.Join(dir, "IMG_9.jpg") {
		t.Fatalf("overwrite: %q, %v", got, err)
	}
	checkOnly(t, dir, map[string][]byte{"IMG_9.jpg": content, "IMG_9 (1).jpg": content})
}

func TestImmichSharedLinks(t *testing.T) {
	s, owner := newImmich(t)
	ctx := context.Background()
	shared := s.AddAsset("shared.jpg", randomBytes(50_000, 40))
	private := s.AddAsset("private.jpg", randomBytes(50_000, 41))
	mkLink := func(slug string, allowDownload bool) string {
		ids := []uuid.UUID{shared.ID}
		r, err := owner.CreateSharedLinkWithResponse(ctx, api.SharedLinkCreateDto{
			Type: api.SharedLinkTypeINDIVIDUAL, AssetIds: &ids, Slug: &slug, AllowDownload: &allowDownload,
		})
		if err == nil {
			err = CheckResponse("createSharedLink", r.HTTPResponse, r.Body)
		}
		if err != nil {
			t.Fatal(err)
		}
		return r.JSON201.Key
	}
	key := mkLink("holiday", true)
	mkLink("no-download", false)

	// A recipient has the link only, no API key.
	guest, err := New(s.URL(), WithRetry(fastRetry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(guest.CloseIdleConnections)
	want, _ := s.AssetContent(shared.ID)
	for _, opts := range []DownloadOptions{{Key: key}, {Slug: "holiday"}} {
		dir := t.TempDir()
		got, err := pathOf(guest.DownloadAssetToFile(ctx, shared.ID, dir, opts))
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		checkOnly(t, dir, map[string][]byte{filepath.Base(got): want})
		zips, err := pathsOf(guest.DownloadArchiveToDir(ctx, []uuid.UUID{shared.ID}, dir, opts))
		if err != nil || len(zips) != 1 {
			t.Fatalf("archive %+v: %q, %v", opts, zips, err)
		}
		if n := checkZip(t, zips[0], map[string][]byte{"shared.jpg": want}); n != 1 {
			t.Fatalf("zip holds %d files", n)
		}
	}

	dir := t.TempDir()
	for _, tt := range []struct {
		id   uuid.UUID
		opts DownloadOptions
		is   error
		says string
	}{
		{private.ID, DownloadOptions{Key: key}, ErrNotFound, "not in this shared link"},
		{shared.ID, DownloadOptions{Key: "wrong"}, ErrUnauthorized, "shared link was refused"},
		{shared.ID, DownloadOptions{Slug: "wrong"}, ErrUnauthorized, "shared link was refused"},
		{shared.ID, DownloadOptions{Slug: "no-download"}, ErrNotFound, "does not allow downloads"},
	} {
		_, err := guest.DownloadAssetToFile(ctx, tt.id, dir, tt.opts)
		if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%+v: err = %v, want %v saying %q", tt.opts, err, tt.is, tt.says)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("error leaks the link key: %v", err)
		}
	}
	checkOnly(t, dir, nil)
}

func TestImmichArchiveOfSeveralGroups(t *testing.T) {
	s, c := newImmich(t)
	ctx := context.Background()
	want := map[string][]byte{}
	var ids []uuid.UUID
	for i := range 5 {
		name := fmt.Sprintf("P%d.jpg", i)
		b := randomBytes(100_000, uint64(50+i))
		ids = append(ids, s.AddAsset(name, b).ID)
		want[name] = b
	}
	dir := t.TempDir()
	zips, err := pathsOf(c.DownloadArchiveToDir(ctx, ids, dir, DownloadOptions{ArchiveSize: 150_000, Filename: "trip"}))
	if err != nil {
		t.Fatal(err)
	}
	wantZips := []string{"trip-1.zip", "trip-2.zip", "trip-3.zip"}
	if len(zips) != len(wantZips) {
		t.Fatalf("zips %q, want %q", zips, wantZips)
	}
	files := 0
	for i, z := range zips {
		if z != filepath.Join(dir, wantZips[i]) {
			t.Fatalf("zip %d is %q, want %q", i, z, wantZips[i])
		}
		files += checkZip(t, z, want)
	}
	if files != 5 || s.RequestCount("downloadArchive") != 3 {
		t.Fatalf("%d files in %d requests, want 5 in 3", files, s.RequestCount("downloadArchive"))
	}
	if names := listDir(t, dir); !slices.Equal(names, wantZips) {
		t.Fatalf("folder holds %q", names)
	}
	// A rerun finds the same zips: no new files.
	again, err := pathsOf(c.DownloadArchiveToDir(ctx, ids, dir, DownloadOptions{ArchiveSize: 150_000, Filename: "trip"}))
	if err != nil || !slices.Equal(again, zips) {
		t.Fatalf("rerun: %q, %v", again, err)
	}
	if names := listDir(t, dir); !slices.Equal(names, wantZips) {
		t.Fatalf("rerun left %q", names)
	}
}

func TestImmichErrors(t *testing.T) {
	s, c := newImmich(t)
	ctx := context.Background()
	dir := t.TempDir()
	id := uuid.New()
	_, err := c.DownloadAssetToFile(ctx, id, dir, DownloadOptions{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), id.String()) {
		t.Fatalf("unknown asset: %v", err)
	}
	_, err = c.DownloadArchiveToDir(ctx, []uuid.UUID{id}, dir, DownloadOptions{})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("archive of an unknown asset: %v", err)
	}
	bad, err := New(s.URL(), WithAPIKey("not-a-key"), WithRetry(fastRetry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bad.CloseIdleConnections)
	a := s.AddAsset("x.jpg", []byte("x"))
	_, err = bad.DownloadAssetToFile(ctx, a.ID, dir, DownloadOptions{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "API key") || strings.Contains(err.Error(), "not-a-key") {
		t.Fatalf("wrong key: %v", err)
	}
	checkOnly(t, dir, nil)
}

// --- Benchmark: memory stays flat while a large original streams to disk. ---

// patternFile is a large, deterministic file that holds only one block in
// memory: block repeated up to size bytes.
type patternFile struct {
	block     []byte
	size, off int64
}

func (p *patternFile) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	i := p.off % int64(len(p.block))
	n := copy(b, p.block[i:min(int64(len(p.block)), i+p.size-p.off)])
	p.off += int64(n)
	return n, nil
}

func (p *patternFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += p.off
	case io.SeekEnd:
		off += p.size
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	p.off = off
	return off, nil
}

// benchSize is the size of the benchmark's original: 1 GiB, or
// GOIMMICH_BENCH_BYTES.
func benchSize(b *testing.B) int64 {
	if s := os.Getenv("GOIMMICH_BENCH_BYTES"); s != "" {
		var n int64
		if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
			b.Fatalf("GOIMMICH_BENCH_BYTES=%q", s)
		}
		return n
	}
	return 1 << 30
}

// heapPeak samples the heap (runtime/metrics, no stop-the-world) until stop
// is called, and returns the highest value seen.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return max(peak, read())
	}
}

// BenchmarkDownloadOriginal downloads a 1 GiB original over loopback with
// DownloadAssetToFile (SHA1 verified, fsynced, renamed) and, in the same
// run, copies the same response body to a file with a plain io.Copy. It
// reports throughput (MB/s) and the peak heap growth during the transfer
// (peak-heap-MB, the fake server's side included), and fails when the
// helper's growth reaches 16 MB.
//
//	go test -run '^$' -bench BenchmarkDownloadOriginal -benchtime 3x ./wrapper/
func BenchmarkDownloadOriginal(b *testing.B) {
	size := benchSize(b)
	file := &patternFile{block: randomBytes(1<<20+7, 99), size: size}
	h := sha1.New()
	io.Copy(h, &patternFile{block: file.block, size: size})
	checksum := base64.StdEncoding.EncodeToString(h.Sum(nil))
	id := uuid.New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/assets/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"checksum":%q,"originalFileName":"big.mp4","type":"VIDEO"}`, id, checksum)
	})
	mux.HandleFunc("GET /api/assets/{id}/original", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", `"big"`)
		http.ServeContent(w, r, "", time.Time{}, &patternFile{block: file.block, size: size})
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	c := newDownloadClient(b, ts.URL, DefaultRetryPolicy())
	defer c.CloseIdleConnections()

	run := func(b *testing.B, limit uint64, get func(dir string) (string, error)) {
		b.SetBytes(size)
		var worst uint64
		for b.Loop() {
			b.StopTimer()
			dir, err := os.MkdirTemp(b.TempDir(), "dl")
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			stop := heapPeak()
			base := stop()
			stop = heapPeak()
			b.StartTimer()
			path, err := get(dir)
			b.StopTimer()
			peak := stop()
			if err != nil {
				b.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() != size {
				b.Fatalf("%s: %v, %d bytes; want %d", path, err, fi.Size(), size)
			}
			if peak > base {
				worst = max(worst, peak-base)
			}
			os.RemoveAll(dir)
			b.StartTimer()
		}
		b.ReportMetric(float64(worst)/1e6, "peak-heap-MB")
		if limit > 0 && worst >= limit {
			b.Fatalf("heap grew by %d bytes while downloading %d bytes; the limit is %d", worst, size, limit)
		}
	}
	b.Run("DownloadAssetToFile", func(b *testing.B) {
		run(b, 16<<20, func(dir string) (string, error) {
			return pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{}))
		})
	})
	plain := func(verify bool) func(dir string) (string, error) {
		return func(dir string) (string, error) {
			resp, err := c.hc.Get(ts.URL + "/api/assets/" + id.String() + "/original")
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			path := filepath.Join(dir, "big.mp4")
			f, err := os.Create(path)
			if err != nil {
				return "", err
			}
			var w io.Writer = f
			h := sha1.New()
			if verify {
				w = io.MultiWriter(f, h)
			}
			_, err = io.Copy(w, resp.Body)
			if verify && err == nil {
				if base64.StdEncoding.EncodeToString(h.Sum(nil)) != checksum {
					err = ErrChecksumMismatch
				}
				if err == nil {
					err = f.Sync()
				}
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return path, err
		}
	}
	// The same response body with a plain io.Copy to a file.
	b.Run("io.Copy", func(b *testing.B) { run(b, 0, plain(false)) })
	// io.Copy plus what safety costs: SHA1 of the bytes and fsync.
	b.Run("io.Copy+SHA1+fsync", func(b *testing.B) { run(b, 0, plain(true)) })
}

// recorder is a Progress that records what it is told.
type recorder struct {
	mu     sync.Mutex
	starts map[string]int64
	added  map[string]int64
	done   map[string]Status
}

func newRecorder() *recorder {
	return &recorder{starts: map[string]int64{}, added: map[string]int64{}, done: map[string]Status{}}
}
func (r *recorder) Total(int, int64) {}
func (r *recorder) Start(p string, n int64) {
	r.mu.Lock()
	r.starts[p] = n
	r.mu.Unlock()
}
func (r *recorder) Add(p string, n int64) {
	r.mu.Lock()
	r.added[p] += n
	r.mu.Unlock()
}
func (r *recorder) Done(p string, status Status, err error) {
	r.mu.Lock()
	r.done[p] = status
	r.mu.Unlock()
}

func TestDownloadProgress(t *testing.T) {
	s := newPlainServer(t)
	content := randomBytes(700_000, 60)
	id := s.add(&plainAsset{name: "p.jpg", content: content, etag: `"p"`})
	s.cuts = []int64{100_000, 200_000}
	s.noRange = true // restarts: bytes must not be counted twice
	dir := t.TempDir()
	c := newDownloadClient(t, s.url(), fastRetry())
	rec := newRecorder()
	got, err := pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{Progress: rec}))
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(content))
	if rec.starts[got] != n || rec.added[got] != n || rec.done[got] != "downloaded" {
		t.Fatalf("progress: start %d, added %d, done %q; want %d, %d, downloaded", rec.starts[got], rec.added[got], rec.done[got], n, n)
	}
	rec = newRecorder()
	if _, err := c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{Progress: rec}); err != nil {
		t.Fatal(err)
	}
	if rec.done[got] != StatusPresent || rec.added[got] != 0 {
		t.Fatalf("rerun: done %q, added %d; want present, 0", rec.done[got], rec.added[got])
	}
}

// Downloads racing into one folder: two different assets with the same
// name, each twice. Every call gets a file with its asset's bytes, no file
// is lost or mixed, no .part is left.
func TestDownloadConcurrentSameName(t *testing.T) {
	s := newPlainServer(t)
	a := randomBytes(400_000, 70)
	b := randomBytes(400_000, 71)
	ida := s.add(&plainAsset{name: "IMG_0001.JPG", content: a})
	idb := s.add(&plainAsset{name: "IMG_0001.JPG", content: b})
	dir := t.TempDir()
	c := newDownloadClient(t, s.url(), fastRetry())
	ids := []uuid.UUID{ida, idb, ida, idb}
	want := [][]byte{a, b, a, b}
	paths := make([]string, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			paths[i], errs[i] = pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{}))
		})
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(mustRead(t, paths[i]), want[i]) {
			t.Fatalf("call %d got %s with the wrong bytes", i, paths[i])
		}
	}
	names := listDir(t, dir)
	if len(names) != 2 || names[0] != "IMG_0001 (1).JPG" || names[1] != "IMG_0001.JPG" {
		t.Fatalf("folder holds %q, want the two assets under two names", names)
	}
}

func TestDownloadCancelledLeavesNothing(t *testing.T) {
	s := newPlainServer(t)
	id := s.add(&plainAsset{name: "c.jpg", content: randomBytes(500_000, 80)})
	s.stalls = []int64{100_000}
	dir := t.TempDir()
	c := newDownloadClient(t, s.url(), fastRetry())
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := c.DownloadAssetToFile(ctx, id, dir, DownloadOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Fatalf("a cancelled download left %q", names)
	}
}

func TestDownloadFromNonImmichServer(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>Welcome to nginx!</html>")
	}))
	defer ts.Close()
	c := newDownloadClient(t, ts.URL, fastRetry())
	defer c.CloseIdleConnections()
	dir := t.TempDir()
	_, err := c.DownloadAssetToFile(context.Background(), uuid.New(), dir, DownloadOptions{})
	if !errors.Is(err, ErrNotImmich) || !strings.Contains(err.Error(), "check the URL") || !strings.Contains(err.Error(), "Welcome to nginx!") {
		t.Fatalf("err = %v, want ErrNotImmich with a hint that the URL is not Immich", err)
	}
	_, err = c.DownloadArchiveToDir(context.Background(), []uuid.UUID{uuid.New()}, dir, DownloadOptions{})
	if !errors.Is(err, ErrNotImmich) || !strings.Contains(err.Error(), "check the URL") {
		t.Fatalf("archive: err = %v, want ErrNotImmich with a hint that the URL is not Immich", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Fatalf("left %q", names)
	}
}

// Bodies that stop moving (StallRate) are aborted after StallTimeout and
// resumed from where they stopped.
func TestImmichStalledDownloadsResume(t *testing.T) {
	s, _ := newImmich(t, immichtest.WithFaults(immichtest.Faults{
		Seed: 3, Operations: []string{"downloadAsset", "playAssetVideo"}, StallRate: 0.5, Stall: 30 * time.Second,
	}))
	p := fastRetry()
	p.StallTimeout = 150 * time.Millisecond
	c, err := New(s.URL(), WithAPIKey(s.APIKey()), WithRetry(p))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	dir := t.TempDir()
	want := map[string][]byte{}
	for i := range 3 {
		name := fmt.Sprintf("stall%d.mp4", i)
		b := randomBytes(300_000, uint64(90+i))
		a := s.AddAsset(name, b)
		want[name] = b
		var got string
		var err error
		if i%2 == 0 {
			got, err = pathOf(c.DownloadAssetToFile(context.Background(), a.ID, dir, DownloadOptions{}))
		} else {
			got, err = pathOf(c.PlayAssetVideoToFile(context.Background(), a.ID, dir, DownloadOptions{}))
		}
		if err != nil || got != filepath.Join(dir, name) {
			t.Fatalf("%s: %q, %v", name, got, err)
		}
	}
	checkOnly(t, dir, want)
	n := s.RequestCount("downloadAsset") + s.RequestCount("playAssetVideo")
	t.Logf("%d requests for 3 files", n)
	if n <= 3 {
		t.Fatalf("%d requests for 3 files: nothing stalled, the test tested nothing", n)
	}
}

// A symlink in the target folder, under the name the download wants or its
// .part, is never written through.
func TestDownloadNeverWritesThroughSymlinks(t *testing.T) {
	s := newPlainServer(t)
	content := randomBytes(10_000, 95)
	id := s.add(&plainAsset{name: "IMG.jpg", content: content})
	top := t.TempDir()
	dir := filepath.Join(top, "out")
	os.Mkdir(dir, 0o755)
	outside := filepath.Join(top, "outside.jpg")
	inside := filepath.Join(dir, "victim.jpg")
	os.WriteFile(inside, []byte("keep me"), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "IMG.jpg")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	os.Symlink("victim.jpg", filepath.Join(dir, "IMG.jpg.part"))
	c := newDownloadClient(t, s.url(), fastRetry())
	got, err := pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(dir, "IMG (1).jpg") || !bytes.Equal(mustRead(t, got), content) {
		t.Fatalf("got %q", got)
	}
	if _, err := os.Lstat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("wrote outside the folder through a symlink: %v", err)
	}
	if !bytes.Equal(mustRead(t, inside), []byte("keep me")) {
		t.Fatal("wrote through the .part symlink")
	}
}

// A shared link's key is a secret: it never appears in errors, even in the
// URL that a connection error prints.
func TestDownloadErrorsHideTheLinkKey(t *testing.T) {
	const secret = "s3cr3t-link-key"
	content := []byte("abc")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/assets/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"checksum":%q,"originalFileName":"a.jpg","type":"IMAGE"}`, r.PathValue("id"), sha1b64(content))
	})
	mux.HandleFunc("GET /api/assets/{id}/original", func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler) // the connection drops before any answer
	})
	ts := httptest.NewServer(mux)
	p := fastRetry()
	p.MaxAttempts = 2
	c := newDownloadClient(t, ts.URL, p)
	dir := t.TempDir()
	_, err := c.DownloadAssetToFile(context.Background(), uuid.New(), dir, DownloadOptions{Key: secret})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("err = %v: want an error without the key", err)
	}
	ts.Close()
	c.CloseIdleConnections()
	// Server gone: the asset lookup fails before any download.
	_, err = c.DownloadAssetToFile(context.Background(), uuid.New(), dir, DownloadOptions{Key: secret})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("server down: err = %v: want an error without the key", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Fatalf("left %q", names)
	}
}

func TestViewAssetToFileSizes(t *testing.T) {
	s := newPlainServer(t)
	id := s.add(&plainAsset{name: "IMG_1.HEIC", content: []byte("heic")})
	c := newDownloadClient(t, s.url(), fastRetry())
	dir := t.TempDir()
	for _, tt := range []struct {
		size      api.AssetMediaSize
		wantQuery string
		want      string
	}{
		{api.AssetMediaSizePreview, "size=preview", "IMG_1_preview.webp"},
		{api.AssetMediaSizeThumbnail, "size=thumbnail", "IMG_1_thumbnail.webp"},
		{"", "", "IMG_1_thumbnail.webp"},                                    // the server's default size; same bytes, same file
		{api.AssetMediaSizeFullsize, "size=fullsize", "IMG_1_fullsize.jpg"}, // no name from the server: STEM_SIZE + type's extension
	} {
		got, err := pathOf(c.ViewAssetToFile(context.Background(), id, dir, tt.size, DownloadOptions{}))
		if err != nil || got != filepath.Join(dir, tt.want) {
			t.Fatalf("%q: %q, %v; want %q", tt.size, got, err, tt.want)
		}
		reqs := s.originalRequests()
		if q := reqs[len(reqs)-1].URL.RawQuery; q != tt.wantQuery {
			t.Fatalf("%q: query %q, want %q", tt.size, q, tt.wantQuery)
		}
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"IMG_1_fullsize.jpg", "IMG_1_preview.webp", "IMG_1_thumbnail.webp"}) {
		t.Fatalf("folder holds %q", names)
	}
}

// A server whose file changed without a new ETag makes a resume join two
// versions; the checksum catches it and the download starts over once.
func TestDownloadStartsOverWhenAResumeJoinedTwoVersions(t *testing.T) {
	s := newPlainServer(t)
	v1 := randomBytes(600_000, 110)
	v2 := randomBytes(600_000, 111)
	a := &plainAsset{name: "same-etag.jpg", content: v1, etag: `"same"`, checksum: sha1b64(v2)}
	id := s.add(a)
	s.cuts = []int64{250_000}
	s.onRanged = func() {
		s.mu.Lock()
		a.content = v2 // the ETag stays "same"
		s.mu.Unlock()
	}
	dir := t.TempDir()
	c := newDownloadClient(t, s.url(), fastRetry())
	got, err := pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, got), v2) {
		t.Fatal("the file is not the server's current version")
	}
	reqs := s.originalRequests()
	if len(reqs) != 3 || reqs[1].Header.Get("Range") == "" || reqs[2].Header.Get("Range") != "" {
		t.Fatalf("want a cut, a resume, then a full download; got %d requests", len(reqs))
	}
	checkOnly(t, dir, map[string][]byte{"same-etag.jpg": v2})
}

// A 206 for another range than asked is not appended: the download starts
// over.
func TestDownloadRefusesTheWrongRange(t *testing.T) {
	s := newPlainServer(t)
	content := randomBytes(400_000, 112)
	id := s.add(&plainAsset{name: "r.jpg", content: content, etag: `"r"`})
	s.cuts = []int64{100_000}
	s.badRange = true
	dir := t.TempDir()
	c := newDownloadClient(t, s.url(), fastRetry())
	got, err := pathOf(c.DownloadAssetToFile(context.Background(), id, dir, DownloadOptions{SkipVerify: true}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, got), content) {
		t.Fatal("bytes differ: a wrong range was appended")
	}
	checkOnly(t, dir, map[string][]byte{"r.jpg": content})
}

// An archive body that is not a zip is refused, and nothing is kept.
func TestDownloadArchiveMustBeAZip(t *testing.T) {
	id := uuid.New()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/download/info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"totalSize":10,"archives":[{"size":10,"assetIds":[%q]}]}`, id)
	})
	mux.HandleFunc("POST /api/download/archive", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		fmt.Fprint(w, "PK\x03\x04 but not really a zip")
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	c := newDownloadClient(t, ts.URL, fastRetry())
	defer c.CloseIdleConnections()
	dir := t.TempDir()
	_, err := c.DownloadArchiveToDir(context.Background(), []uuid.UUID{id}, dir, DownloadOptions{})
	if err == nil || !strings.Contains(err.Error(), "not a zip archive") {
		t.Fatalf("err = %v, want not a zip archive", err)
	}
	checkOnly(t, dir, nil)
	paths, err := pathsOf(c.DownloadArchiveToDir(context.Background(), []uuid.UUID{id}, dir, DownloadOptions{SkipVerify: true}))
	if err != nil || len(paths) != 1 || filepath.Base(paths[0]) != "immich-archive.zip" {
		t.Fatalf("SkipVerify: %q, %v", paths, err)
	}
}

// pathOf is the path of a download helper's result, for tests that check
// only where the file went.
func pathOf(r DownloadResult, err error) (string, error) { return r.Path, err }

// pathsOf is pathOf for DownloadArchiveToDir.
func pathsOf(rs []DownloadResult, err error) ([]string, error) {
	var ps []string
	for _, r := range rs {
		ps = append(ps, r.Path)
	}
	return ps, err
}

// Progress and the result name the path the file really ended at, and say
// how it got there.
func TestDownloadOutcomeAndProgressPath(t *testing.T) {
	s := newPlainServer(t)
	content := randomBytes(150_000, 9)
	id := s.add(&plainAsset{name: "IMG_4.jpg", content: content, disposition: `attachment; filename="IMG_4.jpg"`})
	// Known to the server under another name: only placement finds a copy.
	id2 := s.add(&plainAsset{name: "other-name.jpg", content: content, disposition: `attachment; filename="IMG_4.jpg"`})
	c := newDownloadClient(t, s.url(), fastRetry())
	ctx := context.Background()
	dir := t.TempDir()
	check := func(rec *recorder, res DownloadResult, path string, outcome Status, added int64) {
		t.Helper()
		if res.Path != path || res.Outcome != outcome {
			t.Fatalf("result %+v, want %s %s", res, path, outcome)
		}
		if len(rec.done) != 1 || rec.done[path] != outcome || rec.added[path] != added {
			t.Fatalf("progress: done %v, added %v; want %s %s after %d bytes", rec.done, rec.added, path, outcome, added)
		}
	}

	rec := newRecorder()
	res, err := c.DownloadAssetToFile(ctx, id, dir, DownloadOptions{Progress: rec})
	if err != nil {
		t.Fatal(err)
	}
	check(rec, res, filepath.Join(dir, "IMG_4.jpg"), StatusDownloaded, int64(len(content)))

	rec = newRecorder()
	if res, err = c.DownloadAssetToFile(ctx, id, dir, DownloadOptions{Progress: rec}); err != nil {
		t.Fatal(err)
	}
	check(rec, res, filepath.Join(dir, "IMG_4.jpg"), StatusPresent, 0)

	// Without a checksum to find the copy first, the bytes move under the
	// name the file would have got; Done names the copy it turned out to be.
	rec = newRecorder()
	if res, err = c.DownloadAssetToFile(ctx, id2, dir, DownloadOptions{Progress: rec}); err != nil {
		t.Fatal(err)
	}
	check(rec, res, filepath.Join(dir, "IMG_4.jpg"), StatusPresent, 0)
	if rec.added[filepath.Join(dir, "IMG_4 (1).jpg")] != int64(len(content)) {
		t.Fatalf("bytes reported %v", rec.added)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Fatalf("folder holds %q", names)
	}

	// Another file holds the name: the download lands at "IMG_4 (1).jpg",
	// and Start, Add and Done all say so.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "IMG_4.jpg"), []byte("my edit"), 0o644)
	rec = newRecorder()
	if res, err = c.DownloadAssetToFile(ctx, id, other, DownloadOptions{Progress: rec}); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(other, "IMG_4 (1).jpg")
	check(rec, res, want, StatusRenamed, int64(len(content)))
	if len(rec.starts) != 1 || rec.starts[want] != int64(len(content)) {
		t.Fatalf("progress started %v, want only %s", rec.starts, want)
	}
}
