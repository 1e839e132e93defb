package wrapper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func quickPolicy(attempts int) RetryPolicy {
	return RetryPolicy{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}
}

func newTestClient(t *testing.T, url string, p RetryPolicy) *Client {
	t.Helper()
	c, err := New(url, WithAPIKey("test"), WithRetry(p))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// flaky answers fail(n) for the n-th request (from 1), else 200 "ok" (JSON); it
// records each request body.
type flaky struct {
	n      atomic.Int32
	fail   func(n int32, w http.ResponseWriter) bool
	mu     sync.Mutex
	bodies [][]byte
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.n.Add(1)
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, b)
	f.mu.Unlock()
	if f.fail != nil && f.fail(n, w) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `"ok"`)
}

func cut(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestRetryRules(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		path     string
		fail     func(n int32, w http.ResponseWriter) bool
		attempts int
		wantN    int32
		wantOK   bool
	}{
		{name: "GET 503 twice then ok", method: "GET", path: "/api/x", attempts: 5, wantN: 3, wantOK: true,
			fail: func(n int32, w http.ResponseWriter) bool {
				if n < 3 {
					w.WriteHeader(503)
					return true
				}
				return false
			}},
		{name: "GET cut connection then ok", method: "GET", path: "/api/x", attempts: 5, wantN: 2, wantOK: true,
			fail: func(n int32, w http.ResponseWriter) bool {
				if n == 1 {
					cut(w)
					return true
				}
				return false
			}},
		{name: "bounded attempts", method: "GET", path: "/api/x", attempts: 3, wantN: 3,
			fail: func(n int32, w http.ResponseWriter) bool { w.WriteHeader(500); return true }},
		{name: "429 retried", method: "PUT", path: "/api/albums/1/assets", attempts: 3, wantN: 2, wantOK: true,
			fail: func(n int32, w http.ResponseWriter) bool {
				if n == 1 {
					w.WriteHeader(429)
					return true
				}
				return false
			}},
		{name: "4xx not retried", method: "GET", path: "/api/x", attempts: 5, wantN: 1,
			fail: func(n int32, w http.ResponseWriter) bool { w.WriteHeader(400); return true }},
		{name: "plain POST not retried", method: "POST", path: "/api/albums", attempts: 5, wantN: 1,
			fail: func(n int32, w http.ResponseWriter) bool { w.WriteHeader(503); return true }},
		{name: "upload POST retried with the whole body", method: "POST", path: "/api/assets", attempts: 5, wantN: 2, wantOK: true,
			fail: func(n int32, w http.ResponseWriter) bool {
				if n == 1 {
					w.WriteHeader(502)
					return true
				}
				return false
			}},
		{name: "bulk-upload-check retried", method: "POST", path: "/api/assets/bulk-upload-check", attempts: 5, wantN: 2, wantOK: true,
			fail: func(n int32, w http.ResponseWriter) bool {
				if n == 1 {
					cut(w)
					return true
				}
				return false
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flaky{fail: tt.fail}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c := newTestClient(t, srv.URL, quickPolicy(tt.attempts))
			body := []byte("payload-" + tt.name)
			req, err := c.NewRequest(context.Background(), tt.method, tt.path[len("/api"):], nil, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req, "op")
			if tt.wantOK {
				if err != nil {
					t.Fatalf("do: %v", err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(got) != `"ok"` {
					t.Fatalf("body %q", got)
				}
			} else if err == nil {
				resp.Body.Close()
				t.Fatal("want an error")
			}
			if n := f.n.Load(); n != tt.wantN {
				t.Fatalf("server saw %d requests, want %d", n, tt.wantN)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			for i, b := range f.bodies {
				if len(b) > 0 && !bytes.Equal(b, body) {
					t.Fatalf("attempt %d sent body %q, want %q", i+1, b, body)
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for n := 1; n <= 10; n++ {
		ceil := min(100*time.Millisecond<<(n-1), time.Second)
		for range 50 {
			if d := p.backoff(n, nil); d <= 0 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want in (0, %v]", n, d, ceil)
			}
		}
	}
	h := func(v string) *http.Response { return &http.Response{Header: http.Header{"Retry-After": {v}}} }
	if d := p.backoff(1, h("3")); d != 3*time.Second {
		t.Fatalf("Retry-After 3: %v", d)
	}
	if d := p.backoff(1, h("99999")); d != maxRetryAfter {
		t.Fatalf("huge Retry-After: %v, want capped at %v", d, maxRetryAfter)
	}
	if d := p.backoff(1, h(time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))); d != 0 {
		t.Fatalf("past Retry-After date: %v", d)
	}
	if d := DefaultRetryPolicy(); d.attempts() != 5 || d.stallTimeout() != time.Minute || d.answerTimeout() != 10*time.Minute {
		t.Fatalf("defaults %+v", d)
	}
	if (RetryPolicy{StallTimeout: -1}).stallTimeout() > 0 {
		t.Fatal("negative StallTimeout should disable it")
	}
}

// A TLS certificate error is final: retrying cannot fix it.
func TestRetryNotOnCertificateError(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	c := newTestClient(t, srv.URL, quickPolicy(5))
	req, _ := c.NewRequest(context.Background(), "GET", "/x", nil, nil)
	_, err := c.Do(req, "op")
	if err == nil {
		t.Fatal("untrusted certificate accepted")
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1 (no retry)", n)
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	c := newTestClient(t, srv.URL, RetryPolicy{MaxAttempts: 100, BaseDelay: time.Hour, MaxDelay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	req, _ := c.NewRequest(ctx, "GET", "/x", nil, nil)
	_, err := c.Do(req, "op")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	return addr
}

// A connection that could not be made, for any reason, counts as
// unreachable; one that broke after it was made does not.
func TestUnreachable(t *testing.T) {
	dialTimeout := &url.Error{Op: "Get", URL: "http://10.255.255.1/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}}
	reset := &url.Error{Op: "Get", URL: "http://nas/api", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}
	unknown := &net.DNSError{Err: "no such host", Name: "nas.invalid", IsNotFound: true}
	for err, want := range map[error]bool{dialTimeout: true, unknown: true, reset: false, io.ErrUnexpectedEOF: false} {
		if got := unreachable(err); got != want {
			t.Errorf("unreachable(%v) = %v, want %v", err, got, want)
		}
	}
	if !strings.Contains((&ConnectionError{URL: "http://10.255.255.1/api", Err: dialTimeout}).Error(), "no answer in time") {
		t.Error("a dial timeout is not explained as one")
	}
}

// TestNoRetryWhileUnreachable: with nothing listening and no answer ever
// received, a request fails after one attempt with the refusal, unless
// the policy says RetryUnreachable.
func TestNoRetryWhileUnreachable(t *testing.T) {
	addr := closedAddr(t)
	var err error
	for _, tc := range []struct {
		retryUnreachable bool
		want             int32
	}{{false, 1}, {true, 5}} {
		p := quickPolicy(5)
		p.RetryUnreachable = tc.retryUnreachable
		c := newTestClient(t, "http://"+addr, p)
		ctx, attempts := withAttemptCounter(context.Background())
		req, _ := c.NewRequest(ctx, "GET", "/server/ping", nil, nil)
		_, err = c.Do(req, "pingServer")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("err = %v, want connection refused", err)
		}
		if n := attempts.Load(); n != tc.want {
			t.Fatalf("RetryUnreachable %v: %d attempts, want %d", tc.retryUnreachable, n, tc.want)
		}
	}
}

// TestRetryRefusedAfterAnAnswer: once the server has answered, a refused
// connection (the server restarting) is retried until it is back.
func TestRetryRefusedAfterAnAnswer(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"res":"pong"}`) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: ok}
	go srv.Serve(ln)
	c := newTestClient(t, "http://"+addr, RetryPolicy{MaxAttempts: 50, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond})
	call := func() (int32, error) {
		ctx, attempts := withAttemptCounter(context.Background())
		req, _ := c.NewRequest(ctx, "GET", "/server/ping", nil, nil)
		resp, err := c.Do(req, "pingServer")
		if err == nil {
			resp.Body.Close()
		}
		return attempts.Load(), err
	}
	if _, err := call(); err != nil {
		t.Fatal(err)
	}
	srv.Close() // down: connections are refused until it is back
	back := make(chan *http.Server, 1)
	time.AfterFunc(100*time.Millisecond, func() {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			back <- nil
			return
		}
		s := &http.Server{Handler: ok}
		back <- s
		s.Serve(ln)
	})
	n, err := call()
	s := <-back
	if s == nil {
		t.Fatal("could not listen again on " + addr)
	}
	defer s.Close()
	if err != nil || n < 2 {
		t.Fatalf("after the restart: %d attempts, err %v; want success after retries", n, err)
	}
}
