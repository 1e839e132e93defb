package download_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/internal/cli/root"
	"github.com/goimmich/goimmich/wrapper"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run runs goimmich args against s with the Factory f gets (credentials
// from the environment) and returns the exit code and both outputs.
func run(t *testing.T, s *immichtest.Server, f *cmdutil.Factory, args ...string) (code int, out, errOut string) {
	t.Helper()
	ios, _, o, e := iostreams.Test()
	f.IOStreams, f.Version = ios, "test"
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": home, "IMMICH_INSTANCE_URL": s.URL(), "IMMICH_API_KEY": s.APIKey()}
	f.Getenv = func(k string) string { return vars[k] }
	code = root.Run(context.Background(), f, args)
	return code, o.String(), e.String()
}

func newServer(t *testing.T, opts ...immichtest.Option) *immichtest.Server {
	s := immichtest.NewServer(opts...)
	t.Cleanup(func() {
		if f := s.ValidationFailures(); len(f) > 0 {
			t.Errorf("requests or answers that break the spec: %+v", f)
		}
		s.Close()
	})
	return s
}

// A re-run into the same folder downloads nothing and says so; the JSON
// output says how each file got there.
func TestRerunSaysNothingDownloaded(t *testing.T) {
	s := newServer(t)
	var ids []string
	for i := range 3 {
		a := s.AddAsset(fmt.Sprintf("IMG_%04d.jpg", i), []byte(fmt.Sprintf("photo %d", i)))
		ids = append(ids, a.ID.String())
	}
	dir := t.TempDir()
	args := append([]string{"download", "-o", dir}, ids...)
	f := &cmdutil.Factory{}
	if code, _, errOut := run(t, s, f, args...); code != 0 || !strings.Contains(errOut, "3 downloaded, 0 already present, 0 failed") {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	before := s.RequestCount("downloadAsset")
	code, out, errOut := run(t, s, f, append(args, "-j")...)
	if code != 0 || !strings.Contains(errOut, "0 downloaded, 3 already present, 0 failed") {
		t.Fatalf("re-run: exit %d: %s", code, errOut)
	}
	if n := s.RequestCount("downloadAsset") - before; n != 0 {
		t.Fatalf("re-run downloaded %d files again", n)
	}
	var items []struct{ ID, Path, Outcome string }
	if err := json.Unmarshal([]byte(out), &items); err != nil || len(items) != 3 {
		t.Fatalf("re-run JSON: %v: %s", err, out)
	}
	for _, it := range items {
		if it.Outcome != string(wrapper.StatusPresent) || filepath.Dir(it.Path) != dir {
			t.Fatalf("re-run item %+v, want present in %s", it, dir)
		}
	}

	// A different file under one of the names: that asset lands under a
	// numbered name, and the summary says so.
	os.WriteFile(filepath.Join(dir, "IMG_0000.jpg"), []byte("my edit"), 0o644)
	code, _, errOut = run(t, s, f, args...)
	if code != 0 || !strings.Contains(errOut, "1 downloaded, 2 already present") || !strings.Contains(errOut, "1 saved under a numbered name") {
		t.Fatalf("after an edit: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "IMG_0000 (1).jpg")); err != nil {
		t.Fatal(err)
	}
}

// statusCounter counts the answers with a given status, and those of them
// to GET /api/users/me (the login check).
type statusCounter struct {
	rt     http.RoundTripper
	status int
	n, me  atomic.Int32
}

func (c *statusCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	if err == nil && resp.StatusCode == c.status {
		c.n.Add(1)
		if r.Method == http.MethodGet && r.URL.Path == "/api/users/me" {
			c.me.Add(1)
		}
	}
	return resp, err
}

// A server answering 429 with Retry-After to 30% of requests: the login
// check and every call of every command are retried as the RetryPolicy
// says, and succeed.
func TestRateLimitedServer(t *testing.T) {
	s := newServer(t, immichtest.WithFaults(immichtest.Faults{Seed: 7, RateLimitRate: 0.3, RetryAfter: 0}))
	photos := t.TempDir()
	for i := range 3 {
		os.WriteFile(filepath.Join(photos, fmt.Sprintf("IMG_%d.jpg", i)), []byte(fmt.Sprintf("\xff\xd8\xff photo %d", i)), 0o644)
	}
	counter := &statusCounter{rt: http.DefaultTransport.(*http.Transport).Clone(), status: http.StatusTooManyRequests}
	hc := &http.Client{Transport: counter}
	defer hc.CloseIdleConnections()
	// Ten attempts: a request hit by four 429s in a row still gets through.
	f := &cmdutil.Factory{HTTPClient: hc, Retry: &wrapper.RetryPolicy{MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
	for _, args := range [][]string{
		{"whoami"},
		{"upload", "-r", "-A", "Trip", photos},
		{"server"},
		{"api", "getServerVersion"},
	} {
		if code, _, errOut := run(t, s, f, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	albums := s.Albums()
	if len(albums) != 1 {
		t.Fatalf("albums %+v, want Trip", albums)
	}
	if code, _, errOut := run(t, s, f, "download", "--album", albums[0].ID.String(), "-o", t.TempDir()); code != 0 || !strings.Contains(errOut, "3 downloaded") {
		t.Fatalf("download: exit %d: %s", code, errOut)
	}
	if n, me := counter.n.Load(), counter.me.Load(); n < 3 || me < 1 {
		t.Fatalf("the server answered 429 %d times, %d of them to the login check: the test did not test", n, me)
	}
	if got := len(s.Assets()); got != 3 {
		t.Fatalf("%d assets on the server, want 3", got)
	}
}
