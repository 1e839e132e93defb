package wrapper

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// zeros is an endless (or n-byte) reader that allocates nothing.
type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), z.left)
	clear(p[:n])
	z.left -= n
	return int(n), nil
}

func stallPolicy(attempts int, stall, answer time.Duration) RetryPolicy {
	return RetryPolicy{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, StallTimeout: stall, AnswerTimeout: answer}
}

func postBig(t *testing.T, c *Client, ctx context.Context, size int64) (*http.Response, error) {
	t.Helper()
	req, err := c.NewRequest(ctx, http.MethodPost, "/assets", nil, &zeros{left: size})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(&zeros{left: size}), nil }
	return c.Do(req, "uploadAsset")
}

// The server reads the whole body, then takes longer than the stall timeout
// to answer: the stall timer must not run during that wait.
func TestStallTimerPausedWhileServerAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(time.Second)
		io.WriteString(w, `{"id":"x","status":"created"}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, stallPolicy(1, 300*time.Millisecond, 10*time.Second))
	resp, err := postBig(t, c, context.Background(), 1<<20)
	if err != nil {
		t.Fatalf("slow answer after the last byte was treated as a stall: %v", err)
	}
	resp.Body.Close()
}

// ...but the answer wait has its own limit.
func TestAnswerTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, srv.URL, stallPolicy(1, time.Minute, 150*time.Millisecond))
	_, err := postBig(t, c, context.Background(), 1<<20)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("got %v, want ErrStalled for the answer wait", err)
	}
}

// The server stops reading the body: the sender moves no bytes and the
// attempt is aborted, then retried; the second attempt succeeds.
func TestStalledUploadIsAbortedAndRetried(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			io.CopyN(io.Discard, r.Body, 1024)
			select { // read nothing more: the client's socket buffers fill up
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"id":"x","status":"created"}`)
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, srv.URL, stallPolicy(4, 300*time.Millisecond, time.Minute))
	resp, err := postBig(t, c, context.Background(), 32<<20)
	if err != nil {
		t.Fatalf("retry after stall failed: %v", err)
	}
	resp.Body.Close()
	if n.Load() < 2 {
		t.Fatalf("%d attempts, want the stalled one and a retry", n.Load())
	}

	// With one attempt, the stall is the error.
	n.Store(0)
	c1 := newTestClient(t, srv.URL, stallPolicy(1, 300*time.Millisecond, time.Minute))
	_, err = postBig(t, c1, context.Background(), 32<<20)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "no bytes moved") {
		t.Fatalf("got %v, want ErrStalled", err)
	}
}

// A response body that stops arriving fails the read with ErrStalled.
func TestStalledResponseBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write(make([]byte, 10))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, srv.URL, stallPolicy(1, 150*time.Millisecond, time.Minute))
	req, _ := c.NewRequest(context.Background(), http.MethodGet, "/assets/x/original", nil, nil)
	resp, err := c.Do(req, "op")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("read error %v, want ErrStalled", err)
	}
}

// A slow but steady transfer is never cut, however long it takes in total.
func TestSlowSteadyTransferCompletes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 8 {
			w.Write([]byte("chunk"))
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	}))
	defer srv.Close()
	// 800 ms in total, twice the stall timeout, with bytes every 100 ms.
	c := newTestClient(t, srv.URL, stallPolicy(1, 400*time.Millisecond, time.Minute))
	req, _ := c.NewRequest(context.Background(), http.MethodGet, "/assets/x/original", nil, nil)
	resp, err := c.Do(req, "op")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || len(b) != 40 {
		t.Fatalf("read %d bytes, err %v", len(b), err)
	}
}

func TestNewStallReader(t *testing.T) {
	ctx, w := newStallWatch(context.Background(), 50*time.Millisecond, time.Minute)
	defer w.stop()
	pr, pw := io.Pipe()
	r := newStallReader(ctx, pr, w)
	go func() {
		pw.Write([]byte("abc"))
		<-ctx.Done()
		pw.CloseWithError(context.Cause(ctx))
	}()
	buf := make([]byte, 3)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	_, err := r.Read(buf)
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("got %v, want ErrStalled", err)
	}
	r.Close()
}
