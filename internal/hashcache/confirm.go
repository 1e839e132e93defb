package hashcache

import (
	"bytes"
	"encoding/binary"
	"net/url"
	"slices"
	"strings"
	"time"
)

// serverKey identifies a server and user; "" if either is empty.
func serverKey(server, user string) string {
	s := normalizeServer(server)
	if s == "" || user == "" {
		return ""
	}
	return s + "\n" + user
}

// serverMemo is one serverKey result: an upload asks for the same server
// and user once per file, and normalizing parses the URL.
type serverMemo struct{ server, user, key string }

// serverKey is the package's serverKey, remembering the last answer.
func (c *Cache) serverKey(server, user string) string {
	if m := c.lastServer.Load(); m != nil && m.server == server && m.user == user {
		return m.key
	}
	k := serverKey(server, user)
	c.lastServer.Store(&serverMemo{server, user, k})
	return k
}

// normalizeServer makes equivalent spellings of one server URL equal:
// scheme and host lower-cased, default port, user info, query, fragment,
// trailing slashes and a trailing "/api" dropped. The user info is dropped
// so no credential is ever written to the cache file.
func normalizeServer(server string) string {
	server = strings.TrimSpace(server)
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return strings.TrimRight(server, "/")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && !(scheme == "https" && p == "443") && !(scheme == "http" && p == "80") {
		host += ":" + p
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	path = strings.TrimSuffix(path, "/api")
	path = strings.TrimRight(path, "/")
	return scheme + "://" + host + path
}

// Confirmed returns the asset id that server (the Immich URL, with or
// without /api) last confirmed for user (the user id from GET /users/me)
// and checksum sum. ok is false when nothing is recorded, when server or
// user is empty, and on a nil Cache. An entry is a hint, not the truth:
// see the package documentation for the re-check the caller still owes.
func (c *Cache) Confirmed(server, user string, sum [20]byte) (assetID string, ok bool) {
	return c.ConfirmedSince(server, user, sum, time.Time{})
}

// ConfirmedSince is Confirmed restricted to confirmations recorded at or
// after since (second precision): a caller that re-checks only
// confirmations older than some interval passes time.Now().Add(-interval).
func (c *Cache) ConfirmedSince(server, user string, sum [20]byte, since time.Time) (assetID string, ok bool) {
	if c == nil {
		return "", false
	}
	sk := c.serverKey(server, user)
	if sk == "" {
		return "", false
	}
	var at int64
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, buffered := c.pending[pkey{server: sk, key: string(sum[:])}]; buffered {
		assetID, at, ok = decodeConfirmation(v)
	} else {
		c.readLocked(func(r *reader) {
			assetID, at, ok = decodeConfirmation(r.confirmation(sk, sum[:]))
		})
	}
	if !ok || (!since.IsZero() && at < since.Unix()) {
		return "", false
	}
	return assetID, true
}

// ConfirmedSinceAll is ConfirmedSince for many checksums, looked up in
// the order given in one read of the file: sorted, a page of the file is
// read once for all its checksums, where calls one by one read a page for
// each. found is called, in order, with the index in sums of each one
// confirmed and its asset id, while the cache's lock is held: it must not
// call the Cache, and other callers wait until the lookup ends.
func (c *Cache) ConfirmedSinceAll(server, user string, sums [][20]byte, since time.Time, found func(k int, assetID string)) {
	if c == nil || len(sums) == 0 {
		return
	}
	sk := c.serverKey(server, user)
	if sk == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	check := func(r *reader) {
		for k := range sums {
			v, buffered := c.pending[pkey{server: sk, key: string(sums[k][:])}]
			if !buffered && r != nil {
				v = r.confirmation(sk, sums[k][:])
				c.readKeysLocked(1)
			}
			if id, at, ok := decodeConfirmation(v); ok && (since.IsZero() || at >= since.Unix()) {
				found(k, id)
			}
		}
	}
	read := false
	c.readLocked(func(r *reader) { read = true; check(r) })
	if !read { // memory mode: the buffered writes are all there is
		check(nil)
	}
}

// Confirm records that server confirmed, for user, the asset assetID with
// checksum sum: after an upload answered "created" or "duplicate", or a
// bulk-upload-check answered a non-trashed duplicate. Buffered like Store.
// Does nothing when server, user or assetID is empty, or on a nil Cache.
func (c *Cache) Confirm(server, user string, sum [20]byte, assetID string) {
	if c == nil || assetID == "" {
		return
	}
	sk := c.serverKey(server, user)
	if sk == "" {
		return
	}
	v := encodeConfirmation(time.Now(), assetID)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(pkey{server: sk, key: string(sum[:])}, v)
	c.maybeFlushLocked(time.Now())
}

// Forget removes the confirmation of sum for server and user: call it when
// the re-check says the asset is gone or trashed. Buffered like Store;
// Confirmed answers false immediately. Does nothing on a nil Cache.
func (c *Cache) Forget(server, user string, sum [20]byte) {
	if c == nil {
		return
	}
	sk := c.serverKey(server, user)
	if sk == "" {
		return
	}
	k := pkey{server: sk, key: string(sum[:])}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Nothing to forget is nothing to write: a first upload forgets every
	// file the server accepts, and a delete costs as much as a put.
	if v, buffered := c.pending[k]; buffered {
		if v == nil {
			return
		}
	} else {
		recorded := true
		c.readLocked(func(r *reader) { recorded = r.confirmation(sk, sum[:]) != nil })
		if !recorded {
			return
		}
	}
	c.putLocked(k, nil)
	c.maybeFlushLocked(time.Now())
}

// encodeConfirmation writes "unix seconds (8 bytes) + asset id".
func encodeConfirmation(at time.Time, assetID string) []byte {
	v := make([]byte, 8+len(assetID))
	binary.BigEndian.PutUint64(v, uint64(at.Unix()))
	copy(v[8:], assetID)
	return v
}

// decodeConfirmation reads "unix seconds (8 bytes) + asset id".
func decodeConfirmation(v []byte) (assetID string, at int64, ok bool) {
	if len(v) <= 8 {
		return "", 0, false
	}
	return string(v[8:]), int64(binary.BigEndian.Uint64(v)), true
}

// Confirmation is one answer of a server to record with ConfirmAll.
type Confirmation struct {
	Sum     [20]byte
	AssetID string
}

// ConfirmAll records a batch of confirmations as Confirm does, except that
// one already recorded with the same asset id at or after keepSince is
// left alone (zero keepSince: whenever it was recorded), so a re-run of an
// unchanged library writes nothing. It looks the batch up in checksum
// order in one read of the file, where one Confirmed call per checksum
// walks the tree from the root each time, and releases the pages it read
// once, at the end. It reorders items.
func (c *Cache) ConfirmAll(server, user string, items []Confirmation, keepSince time.Time) {
	if c == nil || len(items) == 0 {
		return
	}
	sk := c.serverKey(server, user)
	if sk == "" {
		return
	}
	slices.SortFunc(items, func(a, b Confirmation) int { return bytes.Compare(a.Sum[:], b.Sum[:]) })
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var write []int
	check := func(r *reader) {
		for k, it := range items {
			if it.AssetID == "" {
				continue
			}
			v, buffered := c.pending[pkey{server: sk, key: string(it.Sum[:])}]
			if !buffered && r != nil {
				v = r.confirmation(sk, it.Sum[:])
			}
			got, at, ok := decodeConfirmation(v)
			if !ok || got != it.AssetID || (!keepSince.IsZero() && at < keepSince.Unix()) {
				write = append(write, k)
			}
		}
	}
	read := false
	c.readLocked(func(r *reader) { read = true; check(r) })
	switch {
	case !read: // memory mode: the buffered writes are all there is
		check(nil)
	case c.rtx != nil:
		c.readKeysLocked(releaseEvery) // release the batch's pages now
	}
	for _, k := range write {
		it := items[k]
		c.putLocked(pkey{server: sk, key: string(it.Sum[:])}, encodeConfirmation(now, it.AssetID))
	}
	c.maybeFlushLocked(now)
}
