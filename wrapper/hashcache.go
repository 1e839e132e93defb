package wrapper

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"time"

	"github.com/goimmich/goimmich/internal/hashcache"
)

// HashCacheOptions configures Upload's local cache. It is off unless Path
// is set: a library caller decides whether, and where, Upload writes to
// disk (the goimmich command sets it; DefaultHashCachePath is its usual
// place).
//
// Level 1 remembers the SHA-1 of each local file, keyed by absolute path,
// size, mtime, ctime, device and inode: a re-run does not read unchanged
// files again. Level 2 remembers which checksums this server (URL + user id
// from GET /users/me) confirmed, with their asset ids: uploads' answers and
// bulk-upload-check's duplicates, once the uploads are done or cancelled,
// in checksum order, chunk by chunk.
//
// Re-check: every checksum, cached or not, still goes to POST
// /assets/bulk-upload-check in batches of 500 (one request per 500 files,
// answered by one indexed query on the server, telling accept, duplicate +
// asset id and isTrashed). So an asset deleted on the server is uploaded
// again on the next run (unless UploadOptions.SkipServerDeleted), and a
// trashed one is reported as trashed. Only
// RecheckAfter > 0 skips that question for recent confirmations.
//
// Growth: after a complete walk of a named folder (no path failed, no
// Ignore patterns, not cancelled, not a dry run), the level 1 entries of
// files no longer found under it (deleted, moved, renamed) are forgotten;
// after a NonRecursive walk, those of files directly in it.
//
// The cache is a bbolt file (mode 0600 in a 0700 folder). It is never fatal:
// a corrupt or unreadable file is moved aside and rebuilt, a file locked by
// a concurrent Upload (another process or goroutine) makes this run keep its
// entries in memory and save them at the end if the lock is free by then;
// each such event is a warning in the Client's logger.
//
// A file rewritten within 2 seconds after the scan saw it may be reported
// with its previous checksum in that run (the scan's stat stands for a
// fresh one that long); the next run uploads it. Later in a run, files are
// stat'ed again before the lookup.
//
// Known limitation: on systems without ctime (Windows), a file whose bytes
// changed while its size and mtime were restored keeps its stale checksum
// and is not uploaded again. On Linux, macOS and FreeBSD the ctime catches
// it. Delete options never trust the cache (see UploadOptions.HashCache).
type HashCacheOptions struct {
	// Path is the cache file, created when missing (with its folder). ""
	// (the default) turns the cache off: every file is read and hashed,
	// nothing is written to disk.
	Path string
	// RecheckAfter, when > 0, trusts the server's confirmations younger than
	// it: such files are reported as duplicates without asking the server
	// again (Trashed unknown, so never restored by RestoreTrashed). An
	// asset deleted on the server within that time is uploaded again only
	// once its confirmation is older. 0 (the default) re-checks every
	// checksum on every run. Ignored with DeleteUploaded/DeleteDuplicates.
	RecheckAfter time.Duration
}

// DefaultHashCachePath returns the usual place of the cache:
// os.UserCacheDir()/goimmich/hashes.db (e.g. ~/.cache/goimmich/hashes.db on
// Linux). Upload uses it only when it is given as HashCacheOptions.Path.
func DefaultHashCachePath() (string, error) { return hashcache.DefaultPath() }

// openHashCache opens the cache Upload uses, or returns nil (a valid,
// disabled cache) when it is off or useless. The caller closes it with
// closeHashCache.
func (c *Client) openHashCache(opts UploadOptions) *hashcache.Cache {
	if opts.HashCache.Path == "" || opts.SkipDuplicateCheck {
		return nil
	}
	hc, err := hashcache.Open(opts.HashCache.Path, hashcache.WithLogger(c.logger))
	if err != nil {
		c.logger.Warn("hash cache unavailable, hashing every file", "path", opts.HashCache.Path, "error", err)
		return nil
	}
	return hc
}

func (c *Client) closeHashCache(hc *hashcache.Cache) {
	if err := hc.Close(); err != nil {
		c.logger.Warn("closing the hash cache", "path", hc.Path(), "error", err)
	}
}

// serverCache is level 2 of the cache bound to one server and user. The
// zero value (nil cache) does nothing.
type serverCache struct {
	hc           *hashcache.Cache
	server, user string
	// refresh is the age after which an unchanged confirmation is written
	// again (its time matters to RecheckAfter); 0: never.
	refresh time.Duration
}

// confirm records that the server confirmed sum as assetID. An unchanged
// confirmation younger than refresh is not rewritten: a re-run of an
// unchanged library then writes nothing (each write costs ~10 µs of
// commits and fsyncs).
func (s serverCache) confirm(sum Checksum, assetID string) {
	if s.hc == nil {
		return
	}
	var id string
	var ok bool
	if s.refresh > 0 {
		id, ok = s.hc.ConfirmedSince(s.server, s.user, sum, time.Now().Add(-s.refresh))
	} else {
		id, ok = s.hc.Confirmed(s.server, s.user, sum)
	}
	if ok && id == assetID {
		return
	}
	s.hc.Confirm(s.server, s.user, sum, assetID)
}

// confirmAll is confirm for a batch (a chunk of confirmAnswers),
// looked up in one sorted pass. It reorders items.
func (s serverCache) confirmAll(items []hashcache.Confirmation) {
	if s.hc == nil {
		return
	}
	var keepSince time.Time
	if s.refresh > 0 {
		keepSince = time.Now().Add(-s.refresh)
	}
	s.hc.ConfirmAll(s.server, s.user, items, keepSince)
}

// confirmAnswers records in the cache the assets the server named in the
// run (fileRun.confirmLater: uploads, and live duplicates found by
// bulk-upload-check), in checksum order. The cache reads each
// confirmation before it writes one, and checksums are spread over the
// whole file: confirmed as they came, each cost a page fault (the kernel
// maps 64 KiB around it), a re-run of a million files spent 50 of its 78 s
// of CPU there, and a first run's commits kept up to 70 MB of the file
// resident. In one ordered pass, each page of the confirmations is read,
// and written, once. Run after the pipeline: nothing in it reads these
// back. A run killed before it loses them; the next run's
// bulk-upload-check finds the assets again.
func (r *uploadRun) confirmAnswers() {
	if r.cache.hc == nil {
		return
	}
	n := 0
	for i := range r.nfiles() {
		if r.file(i).confirmLater {
			n++
		}
	}
	idx := make([]int32, 0, n)
	for i := range r.nfiles() {
		if r.file(i).confirmLater {
			idx = append(idx, int32(i))
		}
	}
	r.sortBySum(idx)
	const chunk = 4096
	items := make([]hashcache.Confirmation, 0, min(chunk, len(idx)))
	for len(idx) > 0 {
		items = items[:0]
		for _, i := range idx[:min(chunk, len(idx))] {
			fr := r.file(int(i))
			items = append(items, hashcache.Confirmation{Sum: fr.sum, AssetID: fr.out.assetID.String()})
		}
		idx = idx[min(chunk, len(idx)):]
		r.cache.confirmAll(items)
	}
}

// sortBySum sorts file indexes by their files' checksums, comparing a copy
// of each checksum's first 4 bytes first: comparing whole checksums alone
// would read a random file record for each comparison.
func (r *uploadRun) sortBySum(idx []int32) {
	type key struct {
		prefix uint32
		i      int32
	}
	keys := make([]key, len(idx))
	for k, i := range idx {
		keys[k] = key{binary.BigEndian.Uint32(r.file(int(i)).sum[:4]), i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		return bytes.Compare(r.file(int(a.i)).sum[:], r.file(int(b.i)).sum[:])
	})
	for k := range keys {
		idx[k] = keys[k].i
	}
}

func (s serverCache) forget(sum Checksum) { s.hc.Forget(s.server, s.user, sum) }

// confirmed reports whether the server ever confirmed sum (and the
// confirmation was not forgotten since).
func (s serverCache) confirmed(sum Checksum) bool {
	_, ok := s.hc.Confirmed(s.server, s.user, sum)
	return ok
}

// confirmedSinceAll calls found with the index in sums of each checksum
// confirmed at or after since, and its asset id.
func (s serverCache) confirmedSinceAll(sums [][20]byte, since time.Time, found func(k int, assetID string)) {
	s.hc.ConfirmedSinceAll(s.server, s.user, sums, since, found)
}

// trustCache says whether cached checksums and confirmations may stand in
// for reading the file: never when a local file may be deleted on the
// strength of the server's answer (a stale checksum could make the server
// answer "duplicate" for bytes it never received).
func trustCache(opts UploadOptions) bool {
	return !opts.DeleteUploaded && !opts.DeleteDuplicates
}

// lookup is cache.Lookup when the cache may be trusted, a miss otherwise.
func lookup(cache *hashcache.Cache, key hashcache.FileKey, trusted bool) (Checksum, bool) {
	if !trusted {
		return Checksum{}, false
	}
	return cache.Lookup(key)
}
