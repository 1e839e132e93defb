package wrapper

import "encoding/binary"

// fileChunkBits sets the size of fileList's chunks: fileChunk = 4096
// files, about 450 KiB.
const (
	fileChunkBits = 12
	fileChunk     = 1 << fileChunkBits
)

// fileList holds a run's files in chunks of fileChunk: one slice
// of a million files would be copied whole at each growth, and its last
// growth would leave up to half of it unused. The first chunk starts
// small and doubles, so a run of a few files allocates for a few.
type fileList struct {
	chunks [][]fileRun
	n      int
}

// add appends f and returns its index.
func (l *fileList) add(f fileRun) int {
	switch {
	case len(l.chunks) == 0:
		l.chunks = append(l.chunks, make([]fileRun, 0, 8))
	case len(l.chunks[len(l.chunks)-1]) == fileChunk:
		l.chunks = append(l.chunks, make([]fileRun, 0, fileChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	if len(*last) == cap(*last) { // the first chunk: double it, up to fileChunk
		c := make([]fileRun, len(*last), min(2*cap(*last), fileChunk))
		copy(c, *last)
		*last = c
	}
	*last = append(*last, f)
	l.n++
	return l.n - 1
}

// at is file i (0 <= i < len).
func (l *fileList) at(i int) *fileRun {
	return &l.chunks[i>>fileChunkBits][i&(fileChunk-1)]
}

func (l *fileList) len() int { return l.n }

// truncate keeps the first n files (n <= len).
func (l *fileList) truncate(n int) {
	l.chunks = l.chunks[:(n+fileChunk-1)/fileChunk]
	if n%fileChunk != 0 {
		last := &l.chunks[len(l.chunks)-1]
		*last = (*last)[:n%fileChunk]
	}
	l.n = n
}

// leaderIndex finds the first file of the run with a given checksum: an
// open-addressing table of file indexes, 4 bytes a slot and at most half
// full (about 10 bytes a file, where a map from checksum prefix to index
// cost about 23).
type leaderIndex struct {
	slots []int32 // file index + 1; 0 is free
}

// newLeaderIndex makes room for n files.
func newLeaderIndex(n int) leaderIndex {
	size := 64
	for size < 2*n {
		size <<= 1
	}
	return leaderIndex{slots: make([]int32, size)}
}

// firstWith returns the earlier file of r recorded with file i's checksum,
// or records file i and returns -1. Each file is recorded at most once.
func (x *leaderIndex) firstWith(r *uploadRun, i int) int32 {
	sum := &r.file(i).sum
	mask := uint64(len(x.slots) - 1)
	// A SHA-1's first bytes are as good a hash as any.
	for h := binary.LittleEndian.Uint64(sum[:8]) & mask; ; h = (h + 1) & mask {
		s := x.slots[h]
		if s == 0 {
			x.slots[h] = int32(i + 1)
			return -1
		}
		if r.file(int(s-1)).sum == *sum {
			return s - 1
		}
	}
}
