package hashcache

import (
	"encoding/binary"
	"hash/fnv"
	"os"
	"path/filepath"
	"time"
)

// FileKey identifies one version of one local file: the absolute path plus
// the metadata that changes whenever its bytes are rewritten. Two FileKeys
// are equal only if every field is equal; any difference is a cache miss.
//
// ID is a 64-bit digest of the file's ctime, device and inode (StatID),
// filled on Linux, macOS and FreeBSD (from syscall.Stat_t) and zero
// elsewhere: a caller keeping the keys of a million files keeps 8 bytes
// of them, not 24. ChangeTime (ctime) is set by the kernel on every
// write, chmod, chown, rename, xattr and utimes call and cannot be set by
// programs, so a file whose bytes changed and whose mtime was then
// restored (touch -d, cp -p, some photo tools) still misses; the price is
// a re-hash after metadata-only changes. Without ctime (Windows, other
// systems) that case is a known limitation: the stale hash is returned. A
// file moved to another disk or restored from a backup misses (other
// device or inode) and is simply re-hashed.
type FileKey struct {
	Path    string // absolute, cleaned path
	Size    int64  // bytes
	ModTime int64  // mtime, Unix nanoseconds
	ID      uint64 // StatID(ctime, device, inode); 0 where unavailable
}

// StatID digests a file's ctime (Unix nanoseconds), device and inode into
// FileKey.ID: FNV-1a over their big-endian bytes. It is stored in the
// cache's file, so it never changes. Two versions of one path with equal
// size and mtime are told apart unless their digests collide (a chance of
// 2^-64).
func StatID(changeTime int64, dev, ino uint64) uint64 {
	if changeTime == 0 && dev == 0 && ino == 0 {
		return 0
	}
	var b [24]byte
	binary.BigEndian.PutUint64(b[0:], uint64(changeTime))
	binary.BigEndian.PutUint64(b[8:], dev)
	binary.BigEndian.PutUint64(b[16:], ino)
	h := fnv.New64a()
	h.Write(b[:])
	return h.Sum64()
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

// fileValueLen is the encoded size of a level 1 value: size, mtime and
// ID (8 bytes each), then the SHA1 (20 bytes). Values written before IDs
// (oldFileValueLen) hold ctime, device and inode in place of the ID; they
// are read as their StatID, so an upgrade re-hashes nothing.
const (
	fileValueLen    = 3*8 + 20
	oldFileValueLen = 5*8 + 20
)

func (k FileKey) encode(sum [20]byte) []byte {
	v := make([]byte, fileValueLen)
	binary.BigEndian.PutUint64(v[0:], uint64(k.Size))
	binary.BigEndian.PutUint64(v[8:], uint64(k.ModTime))
	binary.BigEndian.PutUint64(v[16:], k.ID)
	copy(v[24:], sum[:])
	return v
}

// match returns the stored SHA1 when v was encoded from a key equal to k.
func (k FileKey) match(v []byte) ([20]byte, bool) {
	var sum [20]byte
	if len(v) != fileValueLen && len(v) != oldFileValueLen ||
		int64(binary.BigEndian.Uint64(v[0:])) != k.Size ||
		int64(binary.BigEndian.Uint64(v[8:])) != k.ModTime {
		return sum, false
	}
	id := binary.BigEndian.Uint64(v[16:])
	if len(v) == oldFileValueLen {
		id = StatID(int64(binary.BigEndian.Uint64(v[16:])), binary.BigEndian.Uint64(v[24:]), binary.BigEndian.Uint64(v[32:]))
	}
	if id != k.ID {
		return sum, false
	}
	copy(sum[:], v[len(v)-20:])
	return sum, true
}
