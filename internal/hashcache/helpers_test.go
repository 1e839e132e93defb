package hashcache

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// logBuffer collects slog output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

// past is an mtime safely outside the racy window, the same in child processes.
var past = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// writeFile writes content to dir/name with mtime past and returns its key
// (from a stat taken after the write) and SHA1.
func writeFile(t testing.TB, dir, name string, content []byte) (string, FileKey, [20]byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, past, past); err != nil {
		t.Fatal(err)
	}
	return p, statKey(t, p), hashFile(t, p)
}

func statKey(t testing.TB, p string) FileKey {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return KeyFor(p, fi)
}

func hashFile(t testing.TB, p string) [20]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [20]byte
	h.Sum(sum[:0])
	return sum
}

func mustOpen(t testing.TB, path string, opts ...Option) *Cache {
	t.Helper()
	c, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return c
}

func mustClose(t testing.TB, c *Cache) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// synthKey builds a distinct key for entry i (no file needed).
func synthKey(prefix string, i int) (FileKey, [20]byte) {
	k := FileKey{
		Path:    fmt.Sprintf("/photos/%s/2024/%05d/IMG_%05d.JPG", prefix, i/100, i),
		Size:    int64(1_000_000 + i),
		ModTime: past.UnixNano() + int64(i),
		ID:      StatID(past.UnixNano(), 2049, uint64(100_000+i)),
	}
	return k, sha1.Sum([]byte(k.Path))
}
