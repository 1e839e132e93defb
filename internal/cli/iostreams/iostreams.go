// Package iostreams holds the terminal concerns of the goimmich command line:
// where input comes from, where output goes, and whether each stream is a
// terminal (which decides progress bars versus plain status lines). Commands
// ask it and never touch os.Stdout directly.
package iostreams

import (
	"bytes"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/goimmich/goimmich/wrapper"
)

// IOStreams is the input and outputs of one command run.
type IOStreams struct {
	// In is the standard input (request bodies given as "-").
	In io.Reader
	// Out receives the command's result (JSON, tables); nothing else.
	Out io.Writer
	// ErrOut receives progress, warnings, summaries and errors.
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	termWidth                      int
}

// System returns the process's standard streams, with TTY detection.
func System() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	s.stdinTTY = isTerminal(os.Stdin)
	s.stdoutTTY = isTerminal(os.Stdout)
	s.stderrTTY = isTerminal(os.Stderr)
	if s.stderrTTY {
		if w, _, err := term.GetSize(int(os.Stderr.Fd())); err == nil {
			s.termWidth = w
		}
	}
	return s
}

// Test returns streams backed by buffers, none of them a terminal, and the
// buffers: standard input, output and error.
func Test() (s *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// IsStdinTTY reports whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetStdinTTY overrides terminal detection of standard input (tests).
func (s *IOStreams) SetStdinTTY(v bool) { s.stdinTTY = v }

// SetStdoutTTY overrides terminal detection of standard output (tests).
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }

// SetStderrTTY overrides terminal detection of standard error (tests).
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// CanShowProgress reports whether live progress bars may be drawn: only
// when standard error is a terminal. Otherwise NewProgress gives plain
// lines.
func (s *IOStreams) CanShowProgress() bool { return s.stderrTTY }

// Progress is the display of one transfer run: the wrapper.Progress to pass
// to Upload or a download helper, and Wait, which the command calls once the
// run is over (it draws the final state and stops the display's goroutine).
type Progress interface {
	wrapper.Progress
	Wait()
}

// DefaultStatusInterval is how often NewProgress's plain-text display
// writes a status line when given no other interval.
const DefaultStatusInterval = 10 * time.Second

// NewProgress returns the progress display for a transfer, on standard
// error: mpb bars (wrapper.BarProgress) when it is a terminal, else plain
// lines (wrapper.TextProgress) fit for logs: a status line with speed and
// ETA at most every textEvery and a line per failed file, or, with a
// textEvery of 0, one line per file. Standard output is never written, so
// JSON output stays clean.
func (s *IOStreams) NewProgress(textEvery time.Duration) Progress {
	if s.CanShowProgress() {
		return wrapper.NewBarProgress(s.ErrOut)
	}
	return wrapper.NewTextProgress(s.ErrOut, textEvery)
}

// TerminalWidth is the width of the terminal on standard error, 80 when
// unknown.
func (s *IOStreams) TerminalWidth() int {
	if s.termWidth > 0 {
		return s.termWidth
	}
	return 80
}
