package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
)

// A 2xx answer that is not Immich's is an error matching ErrNotImmich on
// every path, never a nil JSON200; a JSON body under another content type
// is decoded; binary operations keep their bytes.
func TestTwoHundredThatIsNotImmich(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		notImmich         bool
	}{
		{name: "login portal page", ctype: "text/html; charset=utf-8", body: "<!DOCTYPE html><html><head><title>Sign in - Authelia</title></head></html>", notImmich: true},
		{name: "page without a content type", body: "<html><head><title>It works!</title></head></html>", notImmich: true},
		{name: "plain text", ctype: "text/plain", body: "OK", notImmich: true},
		{name: "JSON as text/plain", ctype: "text/plain", body: `{"res":"pong","id":"u1"}`},
		{name: "JSON", ctype: "application/json", body: `{"res":"pong","id":"u1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, quickPolicy(1))

			r, err := c.PingServerWithResponse(context.Background())
			if tt.notImmich {
				if !errors.Is(err, ErrNotImmich) || r != nil || !strings.Contains(err.Error(), "check the URL") {
					t.Fatalf("generated call: %v, %v; want ErrNotImmich and no response", r, err)
				}
			} else if err != nil || r.JSON200 == nil || r.JSON200.Res != "pong" {
				t.Fatalf("generated call: %+v, %v; want JSON200 decoded", r, err)
			}

			var ping struct{ Res string }
			err = c.callJSON(context.Background(), "pingServer", http.MethodGet, "/server/ping", nil, &ping)
			if tt.notImmich != errors.Is(err, ErrNotImmich) || (!tt.notImmich && ping.Res != "pong") {
				t.Fatalf("callJSON: %+v, %v; want ErrNotImmich %v", ping, err, tt.notImmich)
			}
		})
	}
}

// A binary answer of any type but a web page goes through; an empty JSON
// answer (204, or 200 without a body) is no error.
func TestBinaryAndEmptyAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/thumbnail"):
			w.Header().Set("Content-Type", "image/webp")
			io.WriteString(w, "RIFF....WEBP")
		case strings.HasSuffix(r.URL.Path, "/original"):
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><title>Login</title></html>")
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Type", "text/plain")
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, quickPolicy(1))
	ctx := context.Background()
	id := uuid.New()
	r, err := c.ViewAssetWithResponse(ctx, id, nil)
	if err != nil || string(r.Body) != "RIFF....WEBP" {
		t.Fatalf("viewAsset: %v", err)
	}
	if _, err := c.DownloadAssetWithResponse(ctx, id, nil); !errors.Is(err, ErrNotImmich) {
		t.Fatalf("downloadAsset answering a web page: %v, want ErrNotImmich", err)
	}
	if _, err := c.DeleteAlbumWithResponse(ctx, id); err != nil {
		t.Fatalf("204: %v", err)
	}
	if err := c.callJSON(ctx, "pingServer", http.MethodGet, "/server/ping", nil, nil); err != nil {
		t.Fatalf("empty 200: %v", err)
	}
}

// Immich answers an id it does not have (or the caller may not see) with
// 400 "Not found or no asset.read access": ErrNotFound on every path.
func TestImmichNotFoundOnEveryPath(t *testing.T) {
	s := immichtest.NewTestServer(t)
	c := newTestClient(t, s.URL(), quickPolicy(1))
	c.apiKey = s.APIKey()
	ctx := context.Background()
	missing := uuid.New()

	_, err := c.GetAssetInfoWithResponse(ctx, missing, nil)
	var ae *APIError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || !strings.HasPrefix(ae.Message, "Not found or no ") {
		t.Fatalf("generated call: %v; want Immich's 400 matching ErrNotFound", err)
	}
	if !strings.HasPrefix(err.Error(), "getAssetInfo: ") {
		t.Fatalf("generated call's error does not name the call: %v", err)
	}
	err = c.callJSON(ctx, "getAssetInfo", http.MethodGet, "/assets/"+missing.String(), nil, &struct{}{})
	if !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "getAssetInfo: ") {
		t.Fatalf("callJSON: %v; want ErrNotFound", err)
	}
	_, err = c.DownloadAssetToFile(ctx, missing, t.TempDir(), DownloadOptions{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no such asset") {
		t.Fatalf("download helper: %v; want ErrNotFound with a hint", err)
	}
	_, err = c.AddAssetsToAlbumWithResponse(ctx, uuid.New(), api.BulkIdsDto{Ids: []uuid.UUID{missing}})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("album: %v; want ErrNotFound", err)
	}
}

// A 429 is retried for every request, a POST that is not safe to repeat
// included: the server did nothing with it. A 503 of such a POST is not.
func TestRateLimitRetriedForEveryRequest(t *testing.T) {
	var n atomic.Int32
	status := http.StatusTooManyRequests
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if n.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"albumName":"Trip"}`, uuid.New())
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour})
	if _, err := c.CreateAlbumWithResponse(context.Background(), api.CreateAlbumDto{AlbumName: "Trip"}); err != nil || n.Load() != 3 {
		t.Fatalf("createAlbum after two 429s: %v after %d requests; want success after 3", err, n.Load())
	}
	n.Store(0)
	status = http.StatusServiceUnavailable
	_, err := c.CreateAlbumWithResponse(context.Background(), api.CreateAlbumDto{AlbumName: "Trip"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 || n.Load() != 1 {
		t.Fatalf("createAlbum after a 503: %v after %d requests; want the 503 at once", err, n.Load())
	}
}

// A MultipartBody streams its fields and files with an exact length and
// can be sent again on a retry.
func TestMultipartBody(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(dir, `IMG "1".jpg`)
	content := bytes.Repeat([]byte("jpeg"), 50_000)
	os.WriteFile(photo, content, 0o644)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			io.CopyN(io.Discard, r.Body, 1000)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f, fh, err := r.FormFile("assetData")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got, _ := io.ReadAll(f)
		f.Close()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"field":%q,"name":%q,"type":%q,"same":%v}`, r.FormValue("deviceId"), fh.Filename, fh.Header.Get("Content-Type"), bytes.Equal(got, content))
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, quickPolicy(3))

	body := NewMultipartBody()
	if err := body.AddField("deviceId", "goimmich"); err != nil {
		t.Fatal(err)
	}
	var read atomic.Int64
	if err := body.AddFile("assetData", photo, int64(len(content)), func(n int) { read.Add(int64(n)) }); err != nil {
		t.Fatal(err)
	}
	first, err := body.Open()
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.NewRequest(context.Background(), http.MethodPost, "/assets", nil, first)
	if err != nil {
		t.Fatal(err)
	}
	req.GetBody, req.ContentLength = body.Open, body.Len()
	req.Header.Set("Content-Type", body.ContentType())
	resp, err := c.Do(req, "uploadAsset")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Field, Name, Type string
		Same              bool
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatal(err)
	}
	if ans.Field != "goimmich" || ans.Name != `IMG %221%22.jpg` || ans.Type != "image/jpeg" || !ans.Same || n.Load() != 2 {
		t.Fatalf("server saw %+v after %d requests", ans, n.Load())
	}
	if read.Load() < int64(len(content)) {
		t.Fatalf("onRead told of %d bytes, want at least %d", read.Load(), len(content))
	}

	// A file that shrank since it was added fails the send.
	os.WriteFile(photo, content[:10], 0o644)
	r, _ := body.Open()
	_, err = io.Copy(io.Discard, r)
	r.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("shrunk file: %v", err)
	}
}

// writeCounter counts the writes made on the connections it dialed.
type writeCounter struct {
	net.Conn
	n *atomic.Int64
}

func (w writeCounter) Write(p []byte) (int, error) {
	w.n.Add(1)
	return w.Conn.Write(p)
}

// A small photo's upload (headers, form and file) leaves in one write on
// the connection, a large one in more; a file that shrank before it was
// sent fails at once, naming the body, without a second attempt.
func TestSmallRequestInOneWrite(t *testing.T) {
	s := immichtest.NewServer()
	t.Cleanup(s.Close)
	var writes atomic.Int64
	tr := defaultTransport()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return writeCounter{conn, &writes}, nil
	}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := New(s.URL(), WithAPIKey(s.APIKey()), WithHTTPClient(&http.Client{Transport: tr}), WithRetry(fastRetry()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	send := func(name string, content []byte, shrink bool) (*http.Response, error) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		b := NewMultipartBody()
		for _, kv := range [][2]string{{"fileCreatedAt", "2024-01-02T03:04:05.000Z"}, {"fileModifiedAt", "2024-01-02T03:04:05.000Z"}} {
			if err := b.AddField(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.AddFile("assetData", p, int64(len(content)), nil); err != nil {
			t.Fatal(err)
		}
		body, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		req, err := c.NewRequest(context.Background(), http.MethodPost, "/assets", nil, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength, req.GetBody = b.Len(), b.Open
		req.Header.Set("Content-Type", b.ContentType())
		if shrink {
			if err := os.Truncate(p, int64(len(content)/2)); err != nil {
				t.Fatal(err)
			}
		}
		writes.Store(0)
		return c.Do(req, "uploadAsset")
	}
	resp, err := send("small.jpg", randomBytes(20_000, 1), false)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := writes.Load(); n != 1 {
		t.Fatalf("a 20 kB upload took %d writes, want 1", n)
	}
	resp, err = send("large.jpg", randomBytes(300_000, 2), false)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := writes.Load(); n < 2 {
		t.Fatalf("a 300 kB upload took %d writes: it cannot fit the 64 KiB write buffer", n)
	}
	before := s.RequestCount("uploadAsset")
	_, err = send("shrunk.jpg", randomBytes(20_000, 3), true)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "reading the request body") || !strings.Contains(err.Error(), "shrunk.jpg") {
		t.Fatalf("shrunk file: err = %v", err)
	}
	if n := writes.Load(); n != 0 || s.RequestCount("uploadAsset") != before {
		t.Fatalf("shrunk file: %d writes, %d requests sent; want none", n, s.RequestCount("uploadAsset")-before)
	}
}
