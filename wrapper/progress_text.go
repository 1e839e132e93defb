package wrapper

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// TextProgress is a Progress for logs, pipes and other non-terminals: plain
// lines, never a cursor movement or a carriage return. Lines are whole and
// never interleaved, whatever goroutines call it.
//
// With every == 0 it writes one line per finished file, its status, path
// and size (or error):
//
//	uploaded   /photos/IMG_0001.jpg (2.4 MiB)
//	failed     /photos/IMG_0002.jpg: ...
//
// With every > 0 it writes a status line at most once per every, and only
// when a file or a byte moved since the previous one (an idle watch stays
// quiet), plus one line per failed file, and a last status line on Wait:
//
//	files 12 / 300, bytes 1.2 GiB / 4.0 GiB (30%), 35.2 MiB/s, ETA 1m30s, 1 failed
//	files 300 / 300, bytes 4.0 GiB / 4.0 GiB (100%), 33.9 MiB/s average, 1 failed
//
// The speed is of the bytes reported by Add since the previous tick, the
// ETA the bytes still to go at that speed; the last line's speed is the
// average since the first Start. Writes happen while the
// observed transfer waits, so w should be quick (a file, a pipe, stderr).
// Call Wait when the run is over: it stops the timer goroutine.
type TextProgress struct {
	w     io.Writer
	every time.Duration

	mu         sync.Mutex
	totalFiles int
	totalBytes int64
	doneFiles  int
	failed     int
	doneBytes  int64 // moved, plus what Done skipped
	moved      int64 // bytes reported by Add
	inFlight   map[string]*barFile
	started    time.Time // the first Start
	// When the previous status tick was and what its line showed, for the
	// speed and for staying quiet when nothing moved.
	lineAt                time.Time
	lineMoved             int64
	lineFiles, lineFailed int

	stop     chan struct{}
	stopped  chan struct{}
	waitOnce sync.Once
}

// NewTextProgress returns a TextProgress writing on w: one line per file
// when every is 0, else a status line at most once per every. With every >
// 0 it starts a goroutine that Wait stops.
func NewTextProgress(w io.Writer, every time.Duration) *TextProgress {
	t := &TextProgress{w: w, every: max(every, 0), inFlight: map[string]*barFile{}, lineAt: time.Now()}
	if t.every > 0 {
		t.stop, t.stopped = make(chan struct{}), make(chan struct{})
		go t.tick()
	}
	return t
}

func (t *TextProgress) tick() {
	defer close(t.stopped)
	tk := time.NewTicker(t.every)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.mu.Lock()
			t.statusLocked(time.Now(), false)
			t.mu.Unlock()
		}
	}
}

// Total sets the run's totals (called again as a scan finds more).
func (t *TextProgress) Total(files int, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.totalFiles, t.totalBytes = files, bytes
}

// Start registers path; a second Start of the same path is ignored.
func (t *TextProgress) Start(path string, size int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.inFlight[path]; !ok {
		t.inFlight[path] = &barFile{size: max(size, 0)}
	}
	if t.started.IsZero() {
		t.started = time.Now()
	}
}

// Add counts n more bytes of path, never past its size (retries resend).
func (t *TextProgress) Add(path string, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.inFlight[path]
	if f == nil {
		return
	}
	n = min(n, f.size-f.moved)
	if n > 0 {
		f.moved += n
		t.moved += n
		t.doneBytes += n
	}
}

// Done counts path as finished, with its bytes not sent (a duplicate, a
// failure), and writes its line: always for a failure, for every file
// when there is no status interval.
func (t *TextProgress) Done(path string, status Status, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.inFlight[path]
	delete(t.inFlight, path)
	if f != nil && f.size > f.moved {
		t.doneBytes += f.size - f.moved
	}
	t.doneFiles++
	failed := status == StatusFailed || err != nil
	if failed {
		t.failed++
	}
	switch {
	case err != nil:
		fmt.Fprintf(t.w, "%-10s %s: %v\n", status, path, err)
	case failed || t.every == 0 && f == nil:
		fmt.Fprintf(t.w, "%-10s %s\n", status, path)
	case t.every == 0:
		fmt.Fprintf(t.w, "%-10s %s (%s)\n", status, path, formatBytes(f.size))
	}
}

// Wait stops the timer and, with a status interval, writes the last status
// line if anything moved since the previous one. It is safe to call more
// than once.
func (t *TextProgress) Wait() {
	t.waitOnce.Do(func() {
		if t.every == 0 {
			return
		}
		close(t.stop)
		<-t.stopped
		t.mu.Lock()
		defer t.mu.Unlock()
		t.statusLocked(time.Now(), true)
	})
}

// statusLocked writes a status line if anything moved since the last tick.
// A quiet tick restarts the speed's clock, so idle time is not counted. The
// final line gives the average speed since the first Start instead.
func (t *TextProgress) statusLocked(now time.Time, final bool) {
	if t.moved == t.lineMoved && t.doneFiles == t.lineFiles && t.failed == t.lineFailed {
		t.lineAt = now
		return
	}
	line := fmt.Sprintf("files %d / %d, bytes %s / %s", t.doneFiles, t.totalFiles, formatBytes(t.doneBytes), formatBytes(t.totalBytes))
	if t.totalBytes > 0 {
		line += fmt.Sprintf(" (%d%%)", min(t.doneBytes*100/t.totalBytes, 100))
	}
	if secs := now.Sub(t.started).Seconds(); final && secs > 0 && t.moved > 0 {
		line += ", " + formatBytes(int64(float64(t.moved)/secs)) + "/s average"
	} else if secs := now.Sub(t.lineAt).Seconds(); !final && secs > 0 && t.moved > t.lineMoved {
		speed := float64(t.moved-t.lineMoved) / secs
		line += ", " + formatBytes(int64(speed)) + "/s"
		if left := t.totalBytes - t.doneBytes; left > 0 {
			eta := time.Duration(float64(left) / speed * float64(time.Second))
			line += ", ETA " + eta.Round(time.Second).String()
		}
	}
	if t.failed > 0 {
		line += fmt.Sprintf(", %d failed", t.failed)
	}
	fmt.Fprintln(t.w, line)
	t.lineAt, t.lineMoved, t.lineFiles, t.lineFailed = now, t.moved, t.doneFiles, t.failed
}

// formatBytes writes n in binary units with one decimal: "512 B", "2.4 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
