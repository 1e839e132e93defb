package wrapper

import (
	"crypto/sha1"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/internal/hashcache"
)

// fileList hands back every file at its index across chunks, and only its
// first chunk is smaller than a whole one.
func TestFileList(t *testing.T) {
	const size = 1 << fileChunkBits
	var l fileList
	n := 3*size + 5
	for i := range n {
		if got := l.add(fileRun{leader: int32(i)}); got != i {
			t.Fatalf("add returned %d, want %d", got, i)
		}
	}
	if l.len() != n {
		t.Fatalf("len %d, want %d", l.len(), n)
	}
	for i := range n {
		if got := l.at(i).leader; got != int32(i) {
			t.Fatalf("at(%d) holds file %d", i, got)
		}
	}
	if len(l.chunks) != 4 {
		t.Fatalf("%d chunks, want 4", len(l.chunks))
	}
	for k, c := range l.chunks {
		if cap(c) > size || (k > 0 && cap(c) != size) {
			t.Errorf("chunk %d has capacity %d, want %d", k, cap(c), size)
		}
	}
	l.truncate(size + 3)
	if l.len() != size+3 || l.at(size+2).leader != int32(size+2) {
		t.Fatalf("after truncate: len %d", l.len())
	}
	if got := l.add(fileRun{leader: -7}); got != size+3 || l.at(size+3).leader != -7 || l.len() != size+4 {
		t.Fatalf("add after truncate: index %d, len %d", got, l.len())
	}
	l.truncate(size)
	if got := l.add(fileRun{leader: -8}); got != size || l.at(size).leader != -8 || len(l.chunks) != 2 {
		t.Fatalf("add after truncating to a whole chunk: index %d, %d chunks", got, len(l.chunks))
	}
	var small fileList
	small.add(fileRun{})
	if c := cap(small.chunks[0]); c > 8 {
		t.Errorf("a one-file list allocated room for %d", c)
	}
}

// leaderIndex names the first file with each checksum, also when many
// checksums share their first 8 bytes (the slot they hash to) and probing
// wraps around the table's end.
func TestLeaderIndex(t *testing.T) {
	var r uploadRun
	sumOf := func(k int) Checksum {
		var s Checksum
		for b := range 8 { // every checksum starts the same: all probe from the last slot
			s[b] = 0xff
		}
		s[19] = byte(k)
		s[18] = byte(k >> 8)
		return s
	}
	const n = 300
	for i := range n {
		r.scan.files.add(fileRun{sum: sumOf(i % 100)}) // files 100.. repeat 0..99
	}
	x := newLeaderIndex(n)
	for i := range n {
		want := int32(-1)
		if i >= 100 {
			want = int32(i % 100)
		}
		if got := x.firstWith(&r, i); got != want {
			t.Fatalf("file %d: leader %d, want %d", i, got, want)
		}
	}
	if len(x.slots) < 2*n {
		t.Errorf("%d slots for %d files: more than half full", len(x.slots), n)
	}
}

// skipConfirmed settles the files the cache confirmed and hands back the
// others in the order it was given (the order they are checked and
// uploaded in), though it looks them up in checksum order.
func TestSkipConfirmedKeepsOrder(t *testing.T) {
	const server, user = "http://127.0.0.1:2283", "u"
	hc, err := hashcache.Open(filepath.Join(t.TempDir(), "hashes.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	sc := &scanner{}
	d := sc.folder("", "")
	var idx, want []int32
	for i := range 50 {
		p := fmt.Sprintf("/photos/%d.jpg", i)
		dir, off := d.add(p)
		sc.res.files.add(fileRun{scannedFile: scannedFile{dir: dir, nameOff: off, nameLen: uint32(len(p))},
			sum: sha1.Sum([]byte(p)), leader: -1})
		idx = append(idx, int32(i))
		if i%3 == 0 {
			hc.Confirm(server, user, sc.res.files.at(i).sum, uuid.NewString())
		} else {
			want = append(want, int32(i))
		}
	}
	d.done()
	r := &uploadRun{scan: sc.res, prog: nopProgress{}, cache: serverCache{hc: hc, server: server, user: user}}
	if got := r.skipConfirmed(idx, time.Time{}); !slices.Equal(got, want) {
		t.Fatalf("files to check %v, want %v", got, want)
	}
	for i := range 50 {
		if fr := r.file(i); fr.checkSkipped != (i%3 == 0) || (fr.out.status == rejected) != (i%3 == 0) {
			t.Errorf("file %d: skipped %v, status %v", i, fr.checkSkipped, fr.out.status)
		}
	}
}
