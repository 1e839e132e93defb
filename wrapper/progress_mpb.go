package wrapper

import (
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// BarProgress is a Progress that draws two mpb bars: files done (with the
// count of failures) and bytes (sent, or skipped as duplicates), with speed
// and ETA. Speed and ETA are moving averages of the bytes reported by Add
// over the time between them, all files together; bytes skipped (a
// duplicate, a failure) move the bar but not the speed. It is for command
// lines; library code should take a Progress. Call Wait when the run is
// over to draw the final state and stop the drawing goroutine.
type BarProgress struct {
	p     *mpb.Progress
	files *mpb.Bar
	bytes *mpb.Bar

	mu       sync.Mutex
	inFlight map[string]*barFile
	// barMu serialises updates of the bars: mpb's EWMA speed and ETA
	// decorators are not safe for concurrent updates. The drawing goroutine
	// never takes it.
	barMu sync.Mutex
	// lastMove is when bytes last moved (or a transfer began after none was
	// in flight); each Add feeds the speed and ETA its bytes over the time
	// since. Guarded by barMu.
	lastMove time.Time
	failed   int
	waitOnce sync.Once
}

type barFile struct{ size, moved int64 }

// NewBarProgress returns a BarProgress drawing on w (usually os.Stderr).
// When w is not a terminal nothing is drawn, so logs stay clean (the
// UploadResult is the record of the run).
func NewBarProgress(w io.Writer) *BarProgress { return newBarProgress(w) }

func newBarProgress(w io.Writer, extra ...mpb.ContainerOption) *BarProgress {
	b := &BarProgress{inFlight: map[string]*barFile{}}
	b.p = mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(40)}, extra...)...)
	b.files = b.p.AddBar(0,
		mpb.PrependDecorators(decor.Name("files ", decor.WC{C: decor.DindentRight}), decor.CountersNoUnit("%d / %d")),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.failed == 0 {
				return ""
			}
			return " failed: " + itoa(b.failed)
		})),
	)
	b.bytes = b.p.AddBar(0,
		mpb.PrependDecorators(decor.Name("bytes ", decor.WC{C: decor.DindentRight}), decor.Counters(decor.SizeB1024(0), "% .1f / % .1f")),
		mpb.AppendDecorators(decor.EwmaSpeed(decor.SizeB1024(0), " % .1f", 30), decor.Name(" "), decor.EwmaETA(decor.ET_STYLE_GO, 30)),
	)
	return b
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

// Total sets the bars' totals.
func (b *BarProgress) Total(files int, bytes int64) {
	b.files.SetTotal(int64(files), false)
	b.bytes.SetTotal(bytes, false)
}

// Start registers path; a second Start of the same path is ignored. When
// no other file is in flight the speed's clock restarts, so time spent
// between transfers (scanning, the server's checks) does not count as slow
// bytes.
func (b *BarProgress) Start(path string, size int64) {
	b.mu.Lock()
	idle := len(b.inFlight) == 0
	if _, ok := b.inFlight[path]; !ok {
		b.inFlight[path] = &barFile{size: max(size, 0)}
	}
	b.mu.Unlock()
	if idle {
		b.barMu.Lock()
		b.lastMove = time.Now()
		b.barMu.Unlock()
	}
}

// Add moves the bytes bar, never past the file's size (retries resend), and
// feeds the speed and ETA with n bytes over the time since bytes last moved.
func (b *BarProgress) Add(path string, n int64) {
	b.mu.Lock()
	f := b.inFlight[path]
	if f != nil {
		n = min(n, f.size-f.moved)
		f.moved += n
	}
	b.mu.Unlock()
	if f != nil && n > 0 {
		b.barMu.Lock()
		now := time.Now()
		b.bytes.EwmaIncrInt64(n, now.Sub(b.lastMove))
		b.lastMove = now
		b.barMu.Unlock()
	}
}

// Done counts path as finished; its bytes not sent (a duplicate, a
// failure) are counted too, so the bytes bar reaches its total.
func (b *BarProgress) Done(path string, status Status, err error) {
	b.mu.Lock()
	f := b.inFlight[path]
	delete(b.inFlight, path)
	if status == StatusFailed || err != nil {
		b.failed++
	}
	b.mu.Unlock()
	b.barMu.Lock()
	defer b.barMu.Unlock()
	if f != nil && f.size > f.moved {
		b.bytes.IncrInt64(f.size - f.moved)
	}
	b.files.Increment()
}

// Wait completes the bars and waits for mpb to draw the final state. It is
// safe to call more than once.
func (b *BarProgress) Wait() {
	b.waitOnce.Do(func() {
		b.files.SetTotal(-1, true)
		b.bytes.SetTotal(-1, true)
		b.p.Wait()
	})
}
