//go:build linux

package hashcache

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// exhaustFDs lowers RLIMIT_NOFILE and opens /dev/null until the process is
// out of file descriptors; the returned func closes them again.
func exhaustFDs() func() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	lim.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	var files []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		files = append(files, f)
	}
	return func() {
		for _, f := range files {
			f.Close()
		}
	}
}

// TestOutOfFileDescriptors: a run that cannot open the cache for a reason
// unrelated to its content leaves the file where it is (no rebuild, nothing
// lost), runs in memory, and saves its entries at Close once it can.
func TestOutOfFileDescriptors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hashes.db")
	fillCache(t, db, 100)
	ch := startChild(t, "emfile", db, "e", 50)
	if l := ch.line(t); l != "opened false" {
		t.Fatalf("child: %q, want it in memory mode; stderr: %s", l, ch.stderr.String())
	}
	r := ch.finish(t)
	if r.CloseErr != "" || r.Dropped != 0 {
		t.Fatalf("child result %+v: entries not saved at Close", r)
	}
	if !strings.Contains(ch.stderr.String(), "cannot open the cache file now") {
		t.Fatalf("no warning; stderr: %s", ch.stderr.String())
	}
	if asides, _ := filepath.Glob(db + ".corrupt-*"); len(asides) != 0 {
		t.Fatalf("a valid cache was moved aside for EMFILE: %v", asides)
	}
	assertEntries(t, db, map[string]int{"a": 100, "e": 50})
}
