//go:build linux

package hashcache

import (
	"bufio"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mappedRSS returns the resident kB of this process's maps of file path
// (from /proc/self/smaps).
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[len(fields)-1] == path
			continue
		}
		if in && len(fields) >= 2 && fields[0] == "Rss:" {
			kb, _ := strconv.Atoi(fields[1])
			total += kb
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// A cache whose file is many MB keeps only a small part of it resident
// while every entry is looked up and then pruned: the map's pages are
// released as it goes, so a run over a million files does not hold the
// whole file in memory.
func TestLookupsKeepFewPagesResident(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hashes.db")
	const n = 40000
	key := func(i int) FileKey {
		return FileKey{Path: fmt.Sprintf("/library/%03d/IMG_%07d.jpg", i/400, i), Size: int64(i), ModTime: past.UnixNano(), ID: uint64(i)}
	}
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c.Store(key(i), [20]byte{byte(i), byte(i >> 8), 1})
		// Confirmations are keyed by checksum: each batch changes pages
		// all over their part of the file.
		c.Confirm("http://immich:2283/api", "user", sha1.Sum(fmt.Append(nil, i)), "9e6ccea5-d47e-4ac5-8b31-e770d24ce57a")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Stores (flushed in batches; the last batch is still pending) leave
	// little of the file resident either.
	if rss, fileKB := mappedRSS(t, path), int(fi.Size()/1024); rss > fileKB/4 {
		t.Fatalf("after %d stores %d kB of the %d kB file are resident", n, rss, fileKB)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	fileKB := int(fi.Size() / 1024)
	if fileKB < 4096 {
		t.Fatalf("the cache file is only %d kB; the test needs a larger one", fileKB)
	}

	c, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range n {
		if sum, ok := c.Lookup(key(i)); !ok || sum[0] != byte(i) {
			t.Fatalf("entry %d: %v %v", i, sum, ok)
		}
	}
	if rss := mappedRSS(t, path); rss > fileKB/4 {
		t.Fatalf("after %d lookups %d kB of the %d kB file are resident", n, rss, fileKB)
	}
	if pruned := c.Prune("/library", func(p string) bool { return !strings.HasSuffix(p, "0.jpg") }); pruned != n/10 {
		t.Fatalf("pruned %d entries, want %d", pruned, n/10)
	}
	if rss := mappedRSS(t, path); rss > fileKB/4 {
		t.Fatalf("after a prune %d kB of the %d kB file are resident", rss, fileKB)
	}
}
