package wrapper

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/goimmich/goimmich/immichtest"
)

// TestMain points the user cache folder (where DefaultHashCachePath puts
// the hash cache) at a temporary folder, so no test or example writes into the
// developer's real cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goimmich-wrapper-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", dir) // Linux and other Unix systems
	os.Setenv("HOME", dir)           // macOS: $HOME/Library/Caches
	os.Setenv("LocalAppData", dir)   // Windows
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// proxyURL serves s through a reverse proxy, as handed to handler (which
// may set its hooks, or wrap it), and returns the proxy's API URL.
func proxyURL(t testing.TB, s *immichtest.Server, handler func(*httputil.ReverseProxy) http.Handler) string {
	t.Helper()
	target, err := url.Parse(strings.TrimSuffix(s.URL(), "/api"))
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = s.Client().Transport
	ps := httptest.NewServer(handler(rp))
	t.Cleanup(ps.Close)
	return ps.URL + "/api"
}
