package iostreams

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/goimmich/goimmich/wrapper"
)

// TestNewProgressNotATerminal: with standard error not a terminal (a log,
// a pipe, a container), the display is plain lines on standard error and
// standard output stays empty.
func TestNewProgressNotATerminal(t *testing.T) {
	for _, every := range []time.Duration{0, time.Hour} {
		s, _, out, errOut := Test()
		p := s.NewProgress(every)
		if _, ok := p.(*wrapper.TextProgress); !ok {
			t.Fatalf("every %v: NewProgress gave %T off a terminal, want *wrapper.TextProgress", every, p)
		}
		p.Total(2, 300)
		p.Start("/photos/a.jpg", 100)
		p.Add("/photos/a.jpg", 100)
		p.Done("/photos/a.jpg", "uploaded", nil)
		p.Start("/photos/b.jpg", 200)
		p.Done("/photos/b.jpg", "failed", errors.New("server said no"))
		p.Wait()
		want := `^uploaded   /photos/a.jpg \(100 B\)\nfailed     /photos/b.jpg: server said no\n$`
		if every > 0 {
			want = `^failed     /photos/b.jpg: server said no\nfiles 2 / 2, bytes 300 B / 300 B \(100%\)(, [0-9.]+ [KMG]?i?B/s average)?, 1 failed\n$`
		}
		if got := errOut.String(); !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("every %v: standard error:\n%s\nwant:\n%s", every, got, want)
		}
		if out.Len() != 0 {
			t.Errorf("every %v: standard output got %q, want nothing", every, out)
		}
	}
}

// TestNewProgressTerminal: on a terminal the display is the bars, which
// never touch standard output.
func TestNewProgressTerminal(t *testing.T) {
	s, _, out, _ := Test()
	s.SetStderrTTY(true)
	p := s.NewProgress(DefaultStatusInterval)
	if _, ok := p.(*wrapper.BarProgress); !ok {
		t.Fatalf("NewProgress gave %T on a terminal, want *wrapper.BarProgress", p)
	}
	p.Total(1, 100)
	p.Start("a.jpg", 100)
	p.Add("a.jpg", 100)
	p.Done("a.jpg", "uploaded", nil)
	p.Wait()
	if out.Len() != 0 {
		t.Fatalf("bars wrote %q on standard output", out)
	}
}
