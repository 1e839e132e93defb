package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// ServerVersion asks the server once per Client, and the answer is the
// release the fake server's spec is.
func TestServerVersionReadOnce(t *testing.T) {
	s, c := newUploadEnv(t)
	for range 3 {
		v, err := c.ServerVersion(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if v.String() != s.SpecVersion() {
			t.Fatalf("ServerVersion = %s, the server runs %s", v, s.SpecVersion())
		}
	}
	if n := s.RequestCount("getServerVersion"); n != 1 {
		t.Fatalf("%d GET /server/version for 3 calls, want 1", n)
	}
}

// versionServer answers GET /server/version with answer(n) for the n-th
// request (from 1), and pings like Immich.
func versionServer(t *testing.T, answer func(n int64) (int, string)) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/server/ping":
			fmt.Fprint(w, `{"res":"pong"}`)
		case "/api/server/version":
			code, body := answer(n.Add(1))
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A failed read is not kept: the next call asks again, and then keeps the
// answer.
func TestServerVersionFailureNotCached(t *testing.T) {
	srv, n := versionServer(t, func(n int64) (int, string) {
		if n == 1 {
			return http.StatusNotFound, `{"message":"not yet"}`
		}
		return http.StatusOK, `{"major":3,"minor":0,"patch":3}`
	})
	c := newTestClient(t, srv.URL, uploadRetry())
	if _, err := c.ServerVersion(context.Background()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("first call: %v, want the 404", err)
	}
	for range 2 {
		if v, err := c.ServerVersion(context.Background()); err != nil || v != (Version{3, 0, 3}) {
			t.Fatalf("ServerVersion = %v, %v", v, err)
		}
	}
	if n.Load() != 2 {
		t.Fatalf("%d requests, want 2 (the failure, then one success)", n.Load())
	}
}

// A server older than 2.3.0 gets one error naming both releases, matched by
// ErrServerTooOld; Upload stops on it before asking anything else.
func TestServerTooOld(t *testing.T) {
	srv, _ := versionServer(t, func(int64) (int, string) { return http.StatusOK, `{"major":2,"minor":2,"patch":9}` })
	c := newTestClient(t, srv.URL, uploadRetry())
	v, err := c.ServerVersion(context.Background())
	if !errors.Is(err, ErrServerTooOld) || v != (Version{2, 2, 9}) {
		t.Fatalf("ServerVersion = %v, %v; want 2.2.9 and ErrServerTooOld", v, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "2.2.9") || !strings.Contains(msg, "2.3.0") || !strings.Contains(msg, "upgrade") {
		t.Fatalf("error %q should name both releases and the remedy", msg)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a"})
	// versionServer fails the test on any request but ping and version.
	if _, err := c.Upload(context.Background(), []string{dir}, UploadOptions{}); !errors.Is(err, ErrServerTooOld) {
		t.Fatalf("Upload: %v, want ErrServerTooOld", err)
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b Version
		less bool
	}{
		{Version{2, 2, 9}, Version{2, 3, 0}, true},
		{Version{2, 3, 0}, Version{2, 3, 0}, false},
		{Version{1, 99, 99}, Version{2, 0, 0}, true},
		{Version{3, 0, 0}, Version{2, 7, 3}, false},
		{Version{2, 3, 1}, Version{2, 3, 0}, false},
	} {
		if got := tc.a.Less(tc.b); got != tc.less {
			t.Errorf("%s.Less(%s) = %v", tc.a, tc.b, got)
		}
	}
}
