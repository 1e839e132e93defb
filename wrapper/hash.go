package wrapper

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
)

// hashBufSize is the read size of hashing; hashing holds one such buffer per
// worker (GOMAXPROCS of them), whatever the file sizes.
const hashBufSize = 256 << 10

var hashBufs = sync.Pool{New: func() any { b := make([]byte, hashBufSize); return &b }}

// Checksum is a SHA-1 digest of a file's content, as Immich keys assets.
type Checksum [sha1.Size]byte

// Hex is the lower-case hex form (bulk-upload-check and x-immich-checksum
// take hex or base64).
func (c Checksum) Hex() string { return hex.EncodeToString(c[:]) }

// hashFile streams the file at path through SHA-1. It reads hashBufSize at a
// time, calls onRead with the bytes read, and stops early when ctx ends.
func hashFile(ctx context.Context, path string, onRead func(n int)) (Checksum, int64, error) {
	var sum Checksum
	f, err := openRead(path)
	if err != nil {
		return sum, 0, err
	}
	defer f.Close()
	bp := hashBufs.Get().(*[]byte)
	defer hashBufs.Put(bp)
	buf := *bp
	h := sha1.New()
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return sum, total, err
		}
		n, err := f.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			total += int64(n)
			if onRead != nil {
				onRead(n)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, total, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	copy(sum[:], h.Sum(nil))
	return sum, total, nil
}
