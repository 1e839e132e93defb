package wrapper

import "testing"

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
		s[0] = 0xff // every checksum starts the same: all probe from one slot
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
