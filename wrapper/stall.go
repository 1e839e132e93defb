package wrapper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Stall detection replaces a total timeout. Every attempt of every request
// sent through the Client (retryDoer.send) gets a stallWatch:
//
//   - while the request body is sent and while the response body is read,
//     the attempt is aborted when no byte moved for RetryPolicy.StallTimeout;
//   - between the last byte of the request and the response headers (the
//     server may need minutes to store a 10 GB file) only the much longer
//     RetryPolicy.AnswerTimeout applies.
//
// An aborted attempt fails with an error wrapping ErrStalled and is retried
// like a connection error. Helpers outside the retry loop (download) get
// this for free: the body of a response returned by c.do is watched until it
// is closed. Code that moves bytes by other means can use newStallReader.

const (
	phaseMoving    int32 = iota // bytes should move: stall timeout
	phaseAnswering              // waiting for the server's answer: answer timeout
	phaseStopped
)

// stallWatch cancels a context when a transfer stops moving. Its methods are
// safe for concurrent use; kick is cheap (one atomic store).
type stallWatch struct {
	stall, answer time.Duration // <= 0: that limit is off
	cancel        context.CancelCauseFunc
	last          atomic.Int64 // UnixNano of the last progress or phase change
	phase         atomic.Int32
	mu            sync.Mutex
	timer         *time.Timer
}

// newStallWatch returns a context derived from parent that is cancelled with
// an error wrapping ErrStalled when the watch sees no progress for stall
// (phase moving) or answer (phase answering). The watch starts in phase
// moving. Call stop when the transfer is over: it releases the timer and
// cancels the returned context.
func newStallWatch(parent context.Context, stall, answer time.Duration) (context.Context, *stallWatch) {
	ctx, cancel := context.WithCancelCause(parent)
	w := &stallWatch{stall: stall, answer: answer, cancel: cancel}
	w.last.Store(time.Now().UnixNano())
	w.arm()
	return ctx, w
}

func (w *stallWatch) limit() time.Duration {
	switch w.phase.Load() {
	case phaseMoving:
		return w.stall
	case phaseAnswering:
		return w.answer
	}
	return 0
}

// arm (re)starts the timer for the current phase's limit.
func (w *stallWatch) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase.Load() == phaseStopped {
		return
	}
	d := w.limit()
	if d <= 0 {
		if w.timer != nil {
			w.timer.Stop()
		}
		return
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
		return
	}
	w.timer.Reset(d)
}

func (w *stallWatch) fire() {
	phase := w.phase.Load()
	d := w.limit()
	if phase == phaseStopped || d <= 0 {
		return
	}
	idle := time.Duration(time.Now().UnixNano() - w.last.Load())
	if idle < d {
		w.mu.Lock()
		if w.phase.Load() == phase {
			w.timer.Reset(d - idle)
		}
		w.mu.Unlock()
		return
	}
	if phase == phaseAnswering {
		w.cancel(fmt.Errorf("%w: no answer from the server %s after the request was sent (RetryPolicy.AnswerTimeout)", ErrStalled, d))
	} else {
		w.cancel(fmt.Errorf("%w: no bytes moved for %s (RetryPolicy.StallTimeout)", ErrStalled, d))
	}
}

// kick records progress.
func (w *stallWatch) kick() { w.last.Store(time.Now().UnixNano()) }

func (w *stallWatch) setPhase(p int32) {
	for {
		old := w.phase.Load()
		if old == phaseStopped || old == p {
			return
		}
		if w.phase.CompareAndSwap(old, p) {
			break
		}
	}
	w.kick()
	w.arm()
}

// answering says the request is fully sent: only the answer timeout runs.
func (w *stallWatch) answering() { w.setPhase(phaseAnswering) }

// moving says bytes should move again (the response body is being read).
func (w *stallWatch) moving() { w.setPhase(phaseMoving) }

// stop ends the watch and cancels its context (without a stall cause).
func (w *stallWatch) stop() {
	w.phase.Store(phaseStopped)
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	w.cancel(context.Canceled)
}

// stallCause returns the ErrStalled cause of ctx, or nil when ctx was not
// cancelled by a stall.
func stallCause(ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil && errors.Is(cause, ErrStalled) {
		return cause
	}
	return nil
}

// stallReader is an io.ReadCloser that kicks its watch on every read that
// moves bytes, turns a read error caused by a stall into that stall error,
// and, for a request body, switches the watch to the answer phase once the
// body is fully read (size bytes, EOF or Close).
type stallReader struct {
	rc      io.ReadCloser
	w       *stallWatch
	ctx     context.Context // the watched context, for the stall cause
	size    int64           // request body length, -1 unknown
	read    int64
	request bool // a request body: switch to answering at the end
	closeFn func()
}

// newStallReader wraps r, read within ctx (a context from newStallWatch),
// so that every byte read counts as progress for w. Download code that
// copies a body it got outside c.do can use it:
//
//	ctx, w := newStallWatch(ctx, c.retry.stallTimeout(), c.retry.answerTimeout())
//	defer w.stop()
//	body := newStallReader(ctx, resp.Body, w)
//
// A read that fails because the watch fired returns an error wrapping
// ErrStalled. Closing it closes r.
func newStallReader(ctx context.Context, r io.ReadCloser, w *stallWatch) io.ReadCloser {
	return &stallReader{rc: r, w: w, ctx: ctx, size: -1}
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	if n > 0 {
		s.w.kick()
		s.read += int64(n)
	}
	if s.request && (err == io.EOF || (s.size >= 0 && s.read >= s.size)) {
		s.w.answering()
	}
	if err != nil && err != io.EOF {
		if cause := stallCause(s.ctx); cause != nil {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
	}
	return n, err
}

func (s *stallReader) Close() error {
	if s.request {
		s.w.answering()
	}
	err := s.rc.Close()
	if s.closeFn != nil {
		s.closeFn()
	}
	return err
}
