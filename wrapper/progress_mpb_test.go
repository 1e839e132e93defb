package wrapper

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
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
	driveConcurrently(b, workers, chunks)
	if got := b.bytes.Current(); got != workers*chunks {
		t.Fatalf("bytes bar at %d, want %d", got, workers*chunks)
	}
	if got := b.files.Current(); got != workers {
		t.Fatalf("files bar at %d, want %d", got, workers)
	}
	b.Wait()
}

// TestBarProgressShowsSpeedAndETA sends timed chunks, as a transfer does,
// and reads the bytes bar as drawn: mid-transfer it must show a non-zero
// speed and a non-zero ETA (mpb's moving averages get nothing without the
// time each chunk took, and then read "0.0 b/s" and "0s" throughout).
func TestBarProgressShowsSpeedAndETA(t *testing.T) {
	var out lockedBuffer
	b := newBarProgress(&out, mpb.ForceAutoRefresh(), mpb.WithRefreshRate(5*time.Millisecond))
	defer b.Wait()
	const chunk, chunks = 64 << 10, 40
	// 1 GiB in all, so at tens of MiB/s the ETA is many seconds.
	b.Total(2, 1<<30)
	b.Start("a.mov", 1<<29)
	b.Start("b.mov", 1<<29)
	for i := range chunks {
		time.Sleep(2 * time.Millisecond)
		b.Add([]string{"a.mov", "b.mov"}[i%2], chunk)
	}
	speed, eta := lastBytesFigures(t, &out, chunk*chunks)
	t.Logf("mid-transfer: speed %q, ETA %q", speed, eta)
	if m := regexp.MustCompile(`^([0-9.]+) ?([KMG]i)?[bB]/s$`).FindStringSubmatch(speed); m == nil {
		t.Fatalf("speed %q is not a byte rate", speed)
	} else if v, _ := strconv.ParseFloat(m[1], 64); v == 0 {
		t.Fatalf("speed reads %q mid-transfer, want more than zero", speed)
	}
	d, err := time.ParseDuration(eta)
	if err != nil {
		t.Fatalf("ETA %q is not a duration: %v", eta, err)
	}
	if d <= 0 {
		t.Fatalf("ETA reads %q with most of 1 GiB to go, want more than zero", eta)
	}
}

// lastBytesFigures waits (up to 10 s) for mpb to draw the bytes bar with at
// least 90% of sent bytes moved and returns the speed and ETA it shows.
func lastBytesFigures(t *testing.T, out *lockedBuffer, sent int64) (speed, eta string) {
	t.Helper()
	// "bytes 2.5 MiB / 1.0 GiB [===---] 25.6 MiB/s 39s" (the bar itself
	// only when it fits)
	line := regexp.MustCompile(`bytes +([0-9.]+) ?([KMG]i)?[bB] / [0-9.]+ ?[KMG]?i?[bB] +(?:\[[^\]]*\] +)?([0-9.]+ ?[KMG]?i?[bB]/s) +(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var last []string
		for _, m := range line.FindAllStringSubmatch(out.String(), -1) {
			last = m
		}
		if last != nil {
			v, _ := strconv.ParseFloat(last[1], 64)
			mult := map[string]float64{"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}[last[2]]
			if int64(v*mult) >= sent*9/10 {
				return last[3], last[4]
			}
		}
		if time.Now().After(deadline) {
			s := out.String()
			t.Fatalf("no frame of the bytes bar with %d bytes sent; the last drawn: %q", sent, s[max(0, len(s)-300):])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// driveConcurrently moves workers files of chunks bytes each through p, one
// byte per Add, all at once, as Upload's workers do; it returns when all
// are Done.
func driveConcurrently(p Progress, workers, chunks int) {
	p.Total(workers, int64(workers*chunks))
	var wg sync.WaitGroup
	for w := range workers {
		path := "f" + itoa(w)
		wg.Go(func() {
			p.Start(path, int64(chunks))
			for range chunks {
				p.Add(path, 1)
			}
			p.Done(path, StatusUploaded, nil)
		})
	}
	wg.Wait()
}
