package wrapper

// fileChunkBits sets the size of fileList's chunks: 4096 files, about
// 450 KiB.
const fileChunkBits = 12

// fileList holds a run's files in chunks of 1<<fileChunkBits: one slice
// of a million files would be copied whole at each growth, and its last
// growth would leave up to half of it unused. The first chunk starts
// small and doubles, so a run of a few files allocates for a few.
type fileList struct {
	chunks [][]fileRun
	n      int
}

// add appends f and returns its index.
func (l *fileList) add(f fileRun) int {
	const size = 1 << fileChunkBits
	switch {
	case len(l.chunks) == 0:
		l.chunks = append(l.chunks, make([]fileRun, 0, 8))
	case len(l.chunks[len(l.chunks)-1]) == size:
		l.chunks = append(l.chunks, make([]fileRun, 0, size))
	}
	last := &l.chunks[len(l.chunks)-1]
	if len(*last) == cap(*last) { // the first chunk: double it, up to size
		c := make([]fileRun, len(*last), min(2*cap(*last), size))
		copy(c, *last)
		*last = c
	}
	*last = append(*last, f)
	l.n++
	return l.n - 1
}

// at is file i (0 <= i < len).
func (l *fileList) at(i int) *fileRun {
	return &l.chunks[i>>fileChunkBits][i&(1<<fileChunkBits-1)]
}

func (l *fileList) len() int { return l.n }
