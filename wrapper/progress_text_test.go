package wrapper

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTextProgressLinePerFile(t *testing.T) {
	var out lockedBuffer
	p := NewTextProgress(&out, 0)
	var _ Progress = p
	p.Total(4, 3<<20)
	p.Start("/photos/a.jpg", 2<<20)
	p.Add("/photos/a.jpg", 1<<20)
	p.Add("/photos/a.jpg", 1<<20)
	p.Done("/photos/a.jpg", "uploaded", nil)
	p.Done("/photos/b.jpg", "duplicate", nil) // found by the bulk check, never started
	p.Start("/photos/c.jpg", 1<<20)
	p.Done("/photos/c.jpg", "failed", errors.New("server said no"))
	p.Start("/photos/d.heic", 1500)
	p.Done("/photos/d.heic", "duplicate", nil)
	p.Wait()
	p.Wait() // idempotent
	want := "uploaded   /photos/a.jpg (2.0 MiB)\n" +
		"duplicate  /photos/b.jpg\n" +
		"failed     /photos/c.jpg: server said no\n" +
		"duplicate  /photos/d.heic (1.5 KiB)\n"
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

// statusLine is one TextProgress status line, parsed.
var statusLine = regexp.MustCompile(`^files (\d+) / (\d+), bytes ([0-9.]+ [KMG]?i?B) / ([0-9.]+ [KMG]?i?B) \((\d+)%\)(?:, ([0-9.]+) ([KMG]?i?B)/s(?:, ETA ([0-9hms.]+)| average)?)?(?:, (\d+) failed)?$`)

func TestTextProgressStatusLines(t *testing.T) {
	var out lockedBuffer
	p := NewTextProgress(&out, 20*time.Millisecond)
	const chunk = 64 << 10
	p.Total(3, 1<<30)
	p.Start("a.mov", 1<<29)
	p.Start("b.mov", 1<<29)
	// About 200 ms of sending at a few tens of MiB/s: several status lines.
	for i := range 100 {
		time.Sleep(2 * time.Millisecond)
		p.Add([]string{"a.mov", "b.mov"}[i%2], chunk)
	}
	p.Done("a.mov", "failed", errors.New("stalled"))
	p.Done("b.mov", "uploaded", nil)
	p.Done("c.mov", "duplicate", nil)
	p.Wait()

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	t.Logf("output:\n%s", out.String())
	var withSpeed int
	for _, l := range lines {
		if l == "failed     a.mov: stalled" {
			continue
		}
		m := statusLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is neither a status line nor the failed file's", l)
		}
		if m[8] == "" {
			continue // nothing left to go, or nothing moved since the last tick
		}
		withSpeed++
		if v, _ := strconv.ParseFloat(m[6], 64); v == 0 {
			t.Errorf("line %q: zero speed", l)
		}
		if d, err := time.ParseDuration(m[8]); err != nil || d <= 0 {
			t.Errorf("line %q: ETA %q, want a positive duration", l, m[8])
		}
	}
	if withSpeed < 2 {
		t.Fatalf("%d status lines with a speed and ETA during 200 ms at a 20 ms interval, want several", withSpeed)
	}
	if !strings.Contains(out.String(), "failed     a.mov: stalled\n") {
		t.Fatalf("no line for the failed file")
	}
	// The last line has the final counts: Wait's, with the average speed,
	// or, when a tick already wrote them after the last Done (Wait then
	// has nothing new to say), that tick's, with the speed of its interval.
	last := lines[len(lines)-1]
	m := regexp.MustCompile(`^files 3 / 3, bytes 1.0 GiB / 1.0 GiB \(100%\), ([0-9.]+) MiB/s( average)?, 1 failed$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line %q, want every file and byte done, a speed and 1 failed", last)
	}
	if v, _ := strconv.ParseFloat(m[1], 64); v == 0 {
		t.Fatalf("last line %q: zero average speed", last)
	}
}

// TestTextProgressQuietWhenIdle: with nothing moving, no status line is
// written however many intervals pass (a watch waiting for new photos).
func TestTextProgressQuietWhenIdle(t *testing.T) {
	var out lockedBuffer
	p := NewTextProgress(&out, 5*time.Millisecond)
	p.Total(1, 100)
	p.Start("a", 100)
	p.Add("a", 100)
	p.Done("a", "uploaded", nil)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "files 1 / 1") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	first := out.String()
	if !strings.Contains(first, "files 1 / 1") {
		t.Fatalf("no status line with the file done: %q", first)
	}
	time.Sleep(50 * time.Millisecond) // ten intervals
	p.Wait()
	if got := out.String(); got != first {
		t.Fatalf("lines written while idle: %q after %q", got[len(first):], first)
	}
}

// TestTextProgressConcurrentUse drives it from several goroutines while
// the ticker writes; under -race it fails on unguarded state.
func TestTextProgressConcurrentUse(t *testing.T) {
	var out lockedBuffer
	p := NewTextProgress(&out, time.Millisecond)
	driveConcurrently(p, 8, 200)
	p.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "files 8 / 8, bytes 1.6 KiB / 1.6 KiB (100%)") {
		t.Fatalf("last line %q", last)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 603 << 20: "603.0 MiB", 5 << 30: "5.0 GiB", 3 << 40: "3.0 TiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
