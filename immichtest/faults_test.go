package immichtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func pingStatuses(t *testing.T, s *Server, n int) []int {
	t.Helper()
	var out []int
	for range n {
		out = append(out, do(t, s, "GET", "/server/ping", nil).status)
	}
	return out
}

func TestFaultErrorsDeterministic(t *testing.T) {
	f := Faults{Seed: 7, ErrorRate: 0.5, Operations: []string{"pingServer"}}
	s1 := start(t, WithFaults(f))
	s2 := start(t, WithFaults(f))
	a, b := pingStatuses(t, s1, 30), pingStatuses(t, s2, 30)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	var errs []int
	for _, st := range a {
		if st != 200 {
			errs = append(errs, st)
		}
	}
	if len(errs) < 5 || len(errs) > 25 {
		t.Fatalf("%d of 30 failed at rate 0.5: %v", len(errs), a)
	}
	if errs[0] != 500 || errs[1] != 502 || errs[2] != 503 {
		t.Fatalf("error statuses %v", errs)
	}
	s2.SetFaults(Faults{Seed: 8, ErrorRate: 0.5, Operations: []string{"pingServer"}})
	if slices.Equal(a, pingStatuses(t, s2, 30)) {
		t.Fatal("another seed gave the same faults")
	}
	// Operations limits the faults.
	for range 10 {
		if r := do(t, s1, "GET", "/server/version", nil); r.status != 200 {
			t.Fatalf("fault outside Operations: %d", r.status)
		}
	}
}

func TestFaultErrorBodies(t *testing.T) {
	s := start(t, WithFaults(Faults{ErrorRate: 1}))
	r := do(t, s, "GET", "/users/me", nil)
	if r.status != 500 || r.errBody(t).Message == "" {
		t.Fatalf("500: %d %s", r.status, r.body)
	}
	r = do(t, s, "GET", "/users/me", nil)
	if r.status != 502 || !strings.Contains(string(r.body), "502 Bad Gateway") || r.header.Get("Content-Type") != "text/html" {
		t.Fatalf("502: %d %s", r.status, r.body)
	}
	if cid := r.header.Get("X-Correlation-ID"); cid != "" {
		t.Fatalf("a proxy's answer carries Immich's correlation id %q", cid)
	}
	s.SetFaults(Faults{})
	if r := do(t, s, "GET", "/users/me", nil); r.status != 200 {
		t.Fatalf("after SetFaults(Faults{}): %d", r.status)
	}
}

func TestFaultRateLimit(t *testing.T) {
	s := start(t, WithFaults(Faults{RateLimitRate: 1, RetryAfter: 1500 * time.Millisecond}))
	r := do(t, s, "GET", "/server/ping", nil)
	if r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("%d %v", r.status, r.header)
	}
	r.errBody(t)
}

func TestFaultMaxBodySize(t *testing.T) {
	s := start(t, WithFaults(Faults{MaxBodySize: 10 << 10}))
	body := form("big.jpg", bytes.Repeat([]byte("x"), 100<<10), dates...)
	r := do(t, s, "POST", "/assets", body)
	if r.status != 413 || !strings.Contains(string(r.body), "413") {
		t.Fatalf("declared size: %d %s", r.status, r.body)
	}
	// Without Content-Length (chunked), the limit applies while reading.
	req, _ := http.NewRequest("POST", s.URL()+"/assets", io.MultiReader(bytes.NewReader(body.buf.Bytes())))
	req.Header.Set("Content-Type", body.ct)
	req.Header.Set("x-api-key", s.APIKey())
	res, err := s.Client().Do(req)
	if err == nil {
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("chunked: %d", res.StatusCode)
		}
	}
	if small := form("small.jpg", []byte("x"), dates...); do(t, s, "POST", "/assets", small).status != 201 {
		t.Fatal("small upload refused")
	}
	if len(s.Assets()) != 1 {
		t.Fatalf("%d assets", len(s.Assets()))
	}
}

func TestFaultCut(t *testing.T) {
	s := start(t, WithFaults(Faults{CutRate: 1, Operations: []string{"uploadAsset"}}))
	body := form("a.jpg", bytes.Repeat([]byte("x"), 1<<20), dates...)
	req, _ := http.NewRequest("POST", s.URL()+"/assets", bytes.NewReader(body.buf.Bytes()))
	req.Header.Set("Content-Type", body.ct)
	req.Header.Set("x-api-key", s.APIKey())
	res, err := s.Client().Do(req)
	if err == nil {
		res.Body.Close()
		t.Fatalf("cut upload got an answer: %d", res.StatusCode)
	}
	if len(s.Assets()) != 0 || s.BytesReceived() == 0 || s.BytesReceived() >= 1<<20 {
		t.Fatalf("assets %d, bytes received %d", len(s.Assets()), s.BytesReceived())
	}
}

func TestFaultTruncate(t *testing.T) {
	s := start(t, WithFaults(Faults{TruncateRate: 1, Operations: []string{"downloadAsset"}}))
	content := bytes.Repeat([]byte("0123456789"), 10000)
	a := s.AddAsset("a.jpg", content)
	req, _ := http.NewRequest("GET", s.URL()+"/assets/"+a.ID.String()+"/original", nil)
	req.Header.Set("x-api-key", s.APIKey())
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if res.ContentLength != int64(len(content)) || !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != len(content)/2 {
		t.Fatalf("Content-Length %d, read %d bytes, err %v", res.ContentLength, len(got), err)
	}
	if !bytes.Equal(got, content[:len(got)]) {
		t.Fatal("truncated body is not a prefix")
	}
}

func TestFaultLatencyAndStall(t *testing.T) {
	s := start(t, WithFaults(Faults{Latency: 100 * time.Millisecond}))
	t0 := time.Now()
	do(t, s, "GET", "/server/ping", nil)
	if d := time.Since(t0); d < 100*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	a := s.AddAsset("a.jpg", bytes.Repeat([]byte("s"), 100000))
	s.SetFaults(Faults{StallRate: 1, Stall: 300 * time.Millisecond, Operations: []string{"downloadAsset"}})
	req, _ := http.NewRequest("GET", s.URL()+"/assets/"+a.ID.String()+"/original", nil)
	req.Header.Set("x-api-key", s.APIKey())
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	first := make([]byte, 100)
	if _, err := io.ReadFull(res.Body, first); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	rest, err := io.ReadAll(res.Body)
	if err != nil || len(rest) != 100000-100 {
		t.Fatalf("after stall: %d bytes, %v", len(rest), err)
	}
	if d := time.Since(t1); d < 250*time.Millisecond {
		t.Fatalf("no stall: rest came after %v", d)
	}
}

// TestCloseEndsStall: Close returns while a request is stalled, and leaves
// no goroutine behind (goleak in TestMain).
func TestCloseEndsStall(t *testing.T) {
	s := NewServer(WithFaults(Faults{StallRate: 1, Stall: time.Hour}))
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL()+"/server/ping", nil)
		res, err := s.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	for s.RequestCount("pingServer") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	s.Close()
	s.Close() // idempotent
	<-done
}

func TestFaultStallUpload(t *testing.T) {
	s := start(t, WithFaults(Faults{StallRate: 1, Stall: 300 * time.Millisecond, Operations: []string{"uploadAsset"}}))
	t0 := time.Now()
	r := do(t, s, "POST", "/assets", form("a.jpg", bytes.Repeat([]byte("x"), 256<<10), dates...))
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if d := time.Since(t0); d < 300*time.Millisecond {
		t.Fatalf("upload not stalled: %v", d)
	}
}

// TestResponseViolationIsLoud: a response of the fake that breaks the spec
// is answered 500 and recorded, never sent.
func TestResponseViolationIsLoud(t *testing.T) {
	s := NewServer()
	defer s.Close()
	for _, e := range s.ts.Config.Handler.(*router).routes {
		if e.rt.opID == "getMyUser" {
			e.h = func(c *call) { c.json(http.StatusOK, map[string]any{"id": 5}) }
		}
	}
	r := do(t, s, "GET", "/users/me", nil)
	if r.status != 500 || !strings.Contains(r.errBody(t).Message, "bug of the fake") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	f := s.ValidationFailures()
	if len(f) != 1 || !f[0].Response || f[0].OperationID != "getMyUser" {
		t.Fatalf("failures %+v", f)
	}
}

// recTB records what NewTestServer reports to its test.
type recTB struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (r *recTB) Helper()                   {}
func (r *recTB) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recTB) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }

func TestNewTestServerReportsViolations(t *testing.T) {
	rt := &recTB{TB: t}
	s := NewTestServer(rt)
	for _, e := range s.ts.Config.Handler.(*router).routes {
		if e.rt.opID == "pingServer" {
			e.h = func(c *call) { c.json(http.StatusOK, map[string]any{"res": 1}) }
		}
	}
	do(t, s, "GET", "/server/ping", nil)
	do(t, s, "GET", "/no/such/path", nil) // a bad request is not the fake's fault
	for _, f := range rt.cleanups {
		f()
	}
	if len(rt.errs) != 1 || !strings.Contains(rt.errs[0], "pingServer") {
		t.Fatalf("reported %q", rt.errs)
	}
	if r, err := http.Get(s.URL() + "/server/ping"); err == nil {
		r.Body.Close()
		t.Fatal("server still running after cleanup")
	}
}

func TestFaultMaxBodySizeJSON(t *testing.T) {
	s := start(t, WithFaults(Faults{MaxBodySize: 100}))
	items := make([]map[string]string, 20)
	for i := range items {
		items[i] = map[string]string{"id": fmt.Sprint(i), "checksum": strings.Repeat("0", 40)}
	}
	body, _ := json.Marshal(map[string]any{"assets": items})
	req, _ := http.NewRequest("POST", s.URL()+"/assets/bulk-upload-check", io.MultiReader(bytes.NewReader(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", s.APIKey())
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 || len(s.ValidationFailures()) != 0 {
		t.Fatalf("%d, failures %+v", res.StatusCode, s.ValidationFailures())
	}
}
