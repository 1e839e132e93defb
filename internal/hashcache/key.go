package hashcache

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"time"
)

// FileKey identifies one version of one local file: the absolute path plus
// the metadata that changes whenever its bytes are rewritten. Two FileKeys
// are equal only if every field is equal; any difference is a cache miss.
//
// Dev, Ino and ChangeTime are filled on Linux, macOS and FreeBSD (from
// syscall.Stat_t) and are zero elsewhere. ChangeTime (ctime) is set by the
// kernel on every write, chmod, chown, rename, xattr and utimes call and
// cannot be set by programs, so a file whose bytes changed and whose mtime
// was then restored (touch -d, cp -p, some photo tools) still misses; the
// price is a re-hash after metadata-only changes. Without ctime (Windows,
// other systems) that case is a known limitation: the stale hash is
// returned. A file moved to another disk or restored from a backup misses
// (other device or inode) and is simply re-hashed.
type FileKey struct {
	Path       string // absolute, cleaned path
	Size       int64  // bytes
	ModTime    int64  // mtime, Unix nanoseconds
	ChangeTime int64  // ctime, Unix nanoseconds; 0 where unavailable
	Dev        uint64 // device id; 0 where unavailable
	Ino        uint64 // inode number; 0 where unavailable
}

// KeyFor builds the FileKey of path from fi, which must come from os.Stat or
// os.Lstat (or (*os.File).Stat) of that same path. Take fi BEFORE opening the
// file for hashing, then Store under that key: if the file is modified while
// it is hashed, its new mtime differs from the key and the next run misses
// instead of trusting a hash of half-old bytes.
//
// A relative path is made absolute against the current directory; if that
// fails, the cleaned relative path is used. KeyFor does no I/O of its own
// beyond os.Getwd for relative paths (a caller keying many files should
// pass absolute paths, or use StatKey).
func KeyFor(path string, fi os.FileInfo) FileKey {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = filepath.Clean(path)
	}
	k := StatKey(fi)
	k.Path = abs
	return k
}

// StatKey is KeyFor without the path: fi's part of the key, with Path
// empty. It lets a caller keep the stat it took while scanning (with the
// same rule: taken before the file is read) and set Path, absolute and
// cleaned, only when it looks the file up.
func StatKey(fi os.FileInfo) FileKey {
	k := FileKey{Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	fillSys(&k, fi)
	return k
}

// racy reports whether the key's mtime is so close to now that a write in
// the same timestamp tick could change the bytes without changing the key.
// "Close" is either side of now: a network file system's clock may run
// ahead of ours. An mtime far in the future (a camera with a wrong clock)
// is not racy: any later write sets mtime to the real time, which differs.
func (k FileKey) racy(now time.Time, window time.Duration) bool {
	if window <= 0 {
		return false
	}
	d := now.UnixNano() - k.ModTime
	return d < int64(window) && d > -int64(window)
}

// fileValueLen is the encoded size of a level 1 value:
// size, mtime, ctime, dev, ino (8 bytes each) then the SHA1 (20 bytes).
const fileValueLen = 5*8 + 20

func (k FileKey) encode(sum [20]byte) []byte {
	v := make([]byte, fileValueLen)
	binary.BigEndian.PutUint64(v[0:], uint64(k.Size))
	binary.BigEndian.PutUint64(v[8:], uint64(k.ModTime))
	binary.BigEndian.PutUint64(v[16:], uint64(k.ChangeTime))
	binary.BigEndian.PutUint64(v[24:], k.Dev)
	binary.BigEndian.PutUint64(v[32:], k.Ino)
	copy(v[40:], sum[:])
	return v
}

// match returns the stored SHA1 when v was encoded from a key equal to k.
func (k FileKey) match(v []byte) ([20]byte, bool) {
	var sum [20]byte
	if len(v) != fileValueLen ||
		int64(binary.BigEndian.Uint64(v[0:])) != k.Size ||
		int64(binary.BigEndian.Uint64(v[8:])) != k.ModTime ||
		int64(binary.BigEndian.Uint64(v[16:])) != k.ChangeTime ||
		binary.BigEndian.Uint64(v[24:]) != k.Dev ||
		binary.BigEndian.Uint64(v[32:]) != k.Ino {
		return sum, false
	}
	copy(sum[:], v[40:])
	return sum, true
}
