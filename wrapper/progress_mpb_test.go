package wrapper

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"
)

// lockedBuffer is a bytes.Buffer safe for mpb's drawing goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBarProgress(t *testing.T) {
	var out lockedBuffer
	b := newBarProgress(&out, mpb.ForceAutoRefresh(), mpb.WithRefreshRate(time.Millisecond))
	var _ Progress = b
	b.Total(3, 3000)
	b.Start("a", 1000)
	b.Start("a", 1000) // ignored
	b.Add("a", 600)
	b.Add("a", 600) // a retry resends: capped at the size
	b.Done("a", "uploaded", nil)
	b.Start("b", 1000)
	b.Done("b", "duplicate", nil)
	b.Start("c", 1000)
	b.Add("c", 10)
	b.Done("c", "failed", errors.New("boom"))
	if got := b.bytes.Current(); got != 3000 {
		t.Fatalf("bytes bar at %d, want 3000 (sent, capped, plus skipped)", got)
	}
	if got := b.files.Current(); got != 3 {
		t.Fatalf("files bar at %d, want 3", got)
	}
	b.Wait()
	b.Wait() // idempotent
	s := out.String()
	for _, want := range []string{"files", "3 / 3", "failed: 1", "bytes"} {
		if !strings.Contains(s, want) {
			t.Fatalf("output %q lacks %q", s, want)
		}
	}
}

// TestBarProgressConcurrentUse drives the bars from several goroutines at
// once, as Upload's workers do; under -race it fails if the bars' updates
// (mpb's EWMA decorators) are not serialised.
func TestBarProgressConcurrentUse(t *testing.T) {
	var out lockedBuffer
	b := newBarProgress(&out, mpb.ForceAutoRefresh(), mpb.WithRefreshRate(time.Millisecond))
	const workers, chunks = 8, 200
	b.Total(workers, workers*chunks)
	var wg sync.WaitGroup
	for w := range workers {
		path := "f" + itoa(w)
		wg.Go(func() {
			b.Start(path, chunks)
			for range chunks {
				b.Add(path, 1)
			}
			b.Done(path, "uploaded", nil)
		})
	}
	wg.Wait()
	if got := b.bytes.Current(); got != workers*chunks {
		t.Fatalf("bytes bar at %d, want %d", got, workers*chunks)
	}
	if got := b.files.Current(); got != workers {
		t.Fatalf("files bar at %d, want %d", got, workers)
	}
	b.Wait()
}
