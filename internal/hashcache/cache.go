// Package hashcache remembers, across runs, the SHA1 of local files and which
// checksums an Immich server already confirmed, so that a re-run over an
// unchanged library neither re-reads the files nor re-asks the server.
//
// Level 1 maps a FileKey (absolute path, size, mtime, and a digest of
// ctime, device and inode) to the file's SHA1: a hit means the file need
// not be read. Level 2 maps a (server URL, user id, SHA1) triple to the
// asset id the server answered.
//
// Everything lives in one bbolt file (default DefaultPath, mode 0600, in a
// 0700 directory). The cache is an optimisation and is never fatal: a
// corrupt or unreadable file is moved aside and rebuilt, a file locked by a
// concurrent run makes this run fall back to memory, and every such event is
// logged as a warning through the configured slog.Logger. A nil *Cache is a
// valid, disabled cache (every lookup misses, every write is dropped), which
// is how callers implement "--no-cache".
//
// The package is internal: the upload path in package wrapper opens and
// closes it; library users only switch it off or move it through options.
//
// # The level 2 re-check
//
// A level 2 entry says "on its last check, server S told user U that the
// asset with this SHA1 exists, with this id". It is a hint, not the truth:
// the asset may have been deleted or trashed since. The caller re-checks
// confirmed checksums with POST /assets/bulk-upload-check in batches (up to
// 1000 checksums per request): one request per 1000 files, answered by one
// indexed query on the server, and each answer carries the asset id and
// isTrashed. For each result:
//
//   - reject/duplicate, not trashed, same id: still confirmed, nothing to do;
//   - reject/duplicate, not trashed, other id: Confirm the new id;
//   - reject/duplicate, isTrashed: Forget, and apply the upload's trash
//     policy (report or restore) as for any trashed duplicate;
//   - accept: the asset is gone from the server: Forget, and upload again.
//
// The alternative, POST /search/metadata by checksum, costs one request per
// file and hides trashed assets unless asked, so it is not recommended.
// ConfirmedSince lets a caller skip the re-check for confirmations younger
// than an interval, at the price of noticing server-side deletions later.
package hashcache

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Defaults for the options of Open.
const (
	// DefaultLockTimeout is how long Open waits for another process to
	// release the cache file before falling back to memory.
	DefaultLockTimeout = 500 * time.Millisecond
	// DefaultBatchSize is how many buffered writes trigger one commit.
	DefaultBatchSize = 1000
	// DefaultFlushInterval is the age of the oldest buffered write after
	// which the next write commits the buffer, so a crash loses at most
	// this much work.
	DefaultFlushInterval = 5 * time.Second
	// DefaultRacyWindow: a file whose mtime is newer than this when Store is
	// called is not cached, because a second write within the same
	// timestamp tick (2 s on FAT/exFAT) would leave size and mtime unchanged.
	DefaultRacyWindow = 3 * time.Second
	// MaxMemoryEntries bounds the writes buffered while the cache runs in
	// memory (file locked by another run, or unusable): about 100 bytes plus
	// the path length each, so at most ~40 MB for typical paths. Writes
	// beyond it are dropped (counted in Stats.Dropped).
	MaxMemoryEntries = 200_000
)

const schemaVersion = "1"

var (
	bucketMeta    = []byte("meta")
	bucketFiles   = []byte("files")
	bucketServers = []byte("servers")
	keyVersion    = []byte("version")
)

// ErrNotSaved is wrapped by the error Close returns when buffered entries
// could not be written to disk. It only means the next run re-hashes or
// re-checks those files; nothing local or on the server is affected.
var ErrNotSaved = errors.New("hashcache: entries not saved")

// Option configures Open.
type Option func(*config) error

type config struct {
	logger        *slog.Logger
	lockTimeout   time.Duration
	batchSize     int
	flushInterval time.Duration
	racyWindow    time.Duration
}

// WithLogger sets where warnings go (corrupt file moved aside, file locked
// by another run, entries not saved). Default: discarded.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("hashcache: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithLockTimeout sets how long Open (and Close, when it retries saving an
// in-memory run) waits for the file lock held by another process. Default
// DefaultLockTimeout.
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("hashcache: lock timeout %v must be positive", d)
		}
		c.lockTimeout = d
		return nil
	}
}

// WithBatchSize sets how many buffered writes are committed in one
// transaction (one fsync). Default DefaultBatchSize.
func WithBatchSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("hashcache: batch size %d must be at least 1", n)
		}
		c.batchSize = n
		return nil
	}
}

// WithFlushInterval sets the age after which buffered writes are committed
// by the next write even if the batch is not full. Default
// DefaultFlushInterval.
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("hashcache: flush interval %v must be positive", d)
		}
		c.flushInterval = d
		return nil
	}
}

// WithRacyWindow sets how recent an mtime makes Store skip a file (see
// DefaultRacyWindow). Zero disables the check: only for file systems and
// tests where nothing writes the files during a run.
func WithRacyWindow(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("hashcache: racy window %v must not be negative", d)
		}
		c.racyWindow = d
		return nil
	}
}

// Stats counts what a Cache did since Open.
type Stats struct {
	Hits        int64 // level 1 lookups answered from the cache
	Misses      int64 // level 1 lookups that found nothing valid
	Stored      int64 // level 1 entries accepted by Store
	SkippedRacy int64 // Store calls ignored because the mtime was too recent
	Dropped     int64 // writes dropped: memory fallback full, or unsaved at Close
	Pruned      int64 // level 1 entries forgotten by Prune
	Persistent  bool  // false while the cache runs in memory only
}

// Cache is the two-level cache. It is safe for concurrent use by many
// goroutines. Writes are buffered and committed in batches; Lookup and
// Confirmed see buffered writes immediately.
type Cache struct {
	path string
	cfg  config

	mu        sync.Mutex
	db        *bolt.DB        // nil: memory mode
	rtx       *bolt.Tx        // shared read transaction, ended before every write
	rd        reader          // lookups in rtx
	pending   map[pkey][]byte // buffered writes; nil value = delete
	reads     int             // keys read in rtx since the map was last released
	lastFlush time.Time
	closed    bool

	hits, misses, stored, racy, dropped, pruned atomic.Int64

	lastServer atomic.Pointer[serverMemo] // the last serverKey computed
}

// pkey addresses one entry: server == "" is level 1 (key = path), otherwise
// level 2 (server = server key, key = raw 20-byte SHA1).
type pkey struct {
	server string
	key    string
}

// DefaultPath returns os.UserCacheDir()/goimmich/hashes.db.
func DefaultPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("hashcache: no user cache directory (set XDG_CACHE_HOME or HOME): %w", err)
	}
	return filepath.Join(dir, "goimmich", "hashes.db"), nil
}

// Open opens (creating if needed) the cache file at path; "" means
// DefaultPath. It returns an error only for invalid options: every problem
// with the file itself is logged as a warning and handled so the run goes on:
//
//   - locked by another process for longer than the lock timeout: this run
//     keeps its writes in memory (bounded by MaxMemoryEntries) and Close
//     tries once more to take the lock and save them;
//   - corrupt or unreadable (not a bbolt file, bad checksum, wrong schema,
//     a directory): moved aside to path+".corrupt-<UTC time>" and rebuilt
//     empty; if it cannot be moved, memory mode;
//   - directory not creatable: memory mode;
//   - out of file descriptors, space or quota, read-only file system:
//     memory mode, the file is left as it is.
//
// Open costs one file open, one flock and one small write transaction (a
// few milliseconds, see BenchmarkOpenClose); the caller must Close the Cache.
func Open(path string, opts ...Option) (*Cache, error) {
	cfg := config{
		logger:        slog.New(slog.DiscardHandler),
		lockTimeout:   DefaultLockTimeout,
		batchSize:     DefaultBatchSize,
		flushInterval: DefaultFlushInterval,
		racyWindow:    DefaultRacyWindow,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	c := &Cache{cfg: cfg, pending: make(map[pkey][]byte), lastFlush: time.Now()}
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			c.warn("hash cache disabled for this run", "error", err)
			return c, nil
		}
		path = p
	}
	c.path = path
	c.db = c.openDB()
	return c, nil
}

// Path returns the cache file's path ("" if none could be determined).
func (c *Cache) Path() string {
	if c == nil {
		return ""
	}
	return c.path
}

// Stats returns counters since Open. A nil Cache returns zero Stats.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.Lock()
	persistent := c.db != nil
	c.mu.Unlock()
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Stored: c.stored.Load(),
		SkippedRacy: c.racy.Load(), Dropped: c.dropped.Load(), Pruned: c.pruned.Load(), Persistent: persistent,
	}
}

func (c *Cache) warn(msg string, args ...any) {
	c.cfg.logger.Warn("hashcache: "+msg, append([]any{"path", c.path}, args...)...)
}

// openDB returns an open, schema-checked database, or nil (memory mode)
// after logging why.
func (c *Cache) openDB() *bolt.DB {
	if c.path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		c.warn("cannot create the cache directory; hashes are kept in memory for this run", "error", err)
		return nil
	}
	db, err := c.tryOpen()
	if err == nil {
		return db
	}
	if errors.Is(err, bolterrors.ErrTimeout) {
		c.warn("cache file is in use by another goimmich run; this run keeps its hashes in memory and saves them at the end if the other run has finished",
			"waited", c.cfg.lockTimeout)
		return nil
	}
	if transient(err) {
		c.warn("cannot open the cache file now; hashes are kept in memory for this run", "error", err)
		return nil
	}
	aside, mvErr := c.moveAside()
	if mvErr != nil {
		c.warn("cache file is unreadable and cannot be moved aside; hashes are kept in memory for this run",
			"error", err, "move_error", mvErr)
		return nil
	}
	c.warn("cache file was unreadable; moved it aside and started an empty cache", "error", err, "moved_to", aside)
	db, err = c.tryOpen()
	if err != nil {
		c.warn("cannot create a new cache file; hashes are kept in memory for this run", "error", err)
		return nil
	}
	return db
}

// transient reports errors that say nothing about the file's content (out
// of space, quota, file descriptors or memory; read-only file system): the
// file is left where it is.
func transient(err error) bool {
	for _, e := range []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EROFS, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// tryOpen opens the file and checks or creates the schema. A panic inside
// bbolt (it panics on some corrupt pages) is returned as an error.
func (c *Cache) tryOpen() (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("hashcache: corrupt cache file: %v", r)
			if db != nil {
				closeQuietly(db)
				db = nil
			}
		}
	}()
	db, err = bolt.Open(c.path, 0o600, &bolt.Options{Timeout: c.cfg.lockTimeout})
	if err != nil {
		return nil, err
	}
	// A read transaction checks the schema: a write transaction commits
	// and syncs even when it changes nothing (tens of milliseconds).
	current := false
	err = db.View(func(tx *bolt.Tx) error {
		current = schemaCurrent(tx)
		return nil
	})
	if err == nil && current {
		return db, nil
	}
	rebuilt := false
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || !bytes.Equal(meta.Get(keyVersion), []byte(schemaVersion)) {
			// New file, or one written by another schema: start clean.
			rebuilt = tx.Bucket(bucketFiles) != nil || tx.Bucket(bucketServers) != nil || meta != nil
			for _, name := range [][]byte{bucketMeta, bucketFiles, bucketServers} {
				if tx.Bucket(name) != nil {
					if err := tx.DeleteBucket(name); err != nil {
						return err
					}
				}
			}
			m, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			if err := m.Put(keyVersion, []byte(schemaVersion)); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bucketFiles, bucketServers} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		closeQuietly(db)
		return nil, fmt.Errorf("hashcache: initialising cache file: %w", err)
	}
	if rebuilt {
		c.warn("cache file had another schema version; it was emptied", "schema", schemaVersion)
	}
	return db, nil
}

// schemaCurrent reports whether tx holds this schema version's buckets.
func schemaCurrent(tx *bolt.Tx) bool {
	meta := tx.Bucket(bucketMeta)
	return meta != nil && bytes.Equal(meta.Get(keyVersion), []byte(schemaVersion)) &&
		tx.Bucket(bucketFiles) != nil && tx.Bucket(bucketServers) != nil
}

func closeQuietly(db *bolt.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// moveAside renames the cache file out of the way, keeping it for inspection.
func (c *Cache) moveAside() (string, error) {
	aside := c.path + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000000000")
	if err := os.Rename(c.path, aside); err != nil {
		return "", err
	}
	return aside, nil
}

// errCorrupt marks a panic recovered from bbolt while reading or writing.
var errCorrupt = errors.New("hashcache: corrupt cache file")

// readLocked runs fn on the shared read transaction, beginning it if
// needed. One bbolt read transaction per lookup costs ~1.7 µs and 10
// allocations; sharing one (under c.mu, as bbolt transactions are not safe
// for concurrent use) makes a lookup a B+tree walk. The transaction is
// ended before every write so our own commits never wait on it.
//
// Faults on the memory map are turned into panics (debug.SetPanicOnFault)
// and recovered, so a corrupt page pointing outside the file is handled
// like any other corruption (moved aside, memory mode) instead of killing
// the process.
func (c *Cache) readLocked(fn func(*reader)) {
	if c.db == nil {
		return
	}
	err := func() (err error) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: %v", errCorrupt, r)
			}
		}()
		if c.rtx == nil {
			tx, err := c.db.Begin(false)
			if err != nil {
				return err
			}
			c.rtx = tx
			files, servers := tx.Bucket(bucketFiles), tx.Bucket(bucketServers)
			if files == nil || servers == nil {
				return fmt.Errorf("%w: buckets missing", errCorrupt)
			}
			c.rd = reader{files: files.Cursor(), servers: servers}
		}
		fn(&c.rd)
		c.readKeysLocked(1)
		return nil
	}()
	if err != nil {
		c.dropDBLocked(c.db, err)
	}
}

// releaseEvery is how many keys are read between releases of the memory
// map's pages (releaseMapped). A lookup by path touches pages in walk
// order, one by checksum (a confirmation) a leaf page of its own, and the
// kernel maps up to 16 pages around each fault, so what stays resident
// between releases is not bounded by the count alone: a --recheck-after
// re-run of a million files peaked 30 MB above a default one. Releasing
// more often costs CPU: a release is a madvise over the whole map, and
// every page is faulted in again after it. A --recheck-after re-run of
// 100,000 files took 3.5 s of CPU releasing every 256 keys, 2.6 s every
// 2048; a default re-run of a million files took as long either way.
const releaseEvery = 2048

// readKeysLocked counts n keys read in the shared read transaction (which
// must be open) and releases the map's resident pages every releaseEvery
// keys. Without it, a run over a million files would keep the whole file
// (hundreds of MB) resident.
func (c *Cache) readKeysLocked(n int) {
	c.reads += n
	if c.reads >= releaseEvery {
		c.reads = 0
		releaseMapped(c.db, c.rtx)
	}
}

// reader looks keys up in the shared read transaction through cursors it
// keeps: bbolt's Bucket.Get makes a cursor, and Bucket.Bucket opens the
// nested bucket, on every call (a quarter of a cached re-run's allocations).
type reader struct {
	files   *bolt.Cursor // on bucketFiles
	servers *bolt.Bucket // bucketServers
	server  string       // the server key whose bucket cursor is below
	opened  bool         // server's bucket was looked for
	confirm *bolt.Cursor // on servers' bucket server; nil when there is none
}

// file returns the level 1 value stored under path, or nil.
func (r *reader) file(path string) []byte { return seekExact(r.files, []byte(path)) }

// confirmation returns the level 2 value of sum under server key sk, or nil.
func (r *reader) confirmation(sk string, sum []byte) []byte {
	if !r.opened || r.server != sk {
		r.server, r.opened, r.confirm = sk, true, nil
		if b := r.servers.Bucket([]byte(sk)); b != nil {
			r.confirm = b.Cursor()
		}
	}
	if r.confirm == nil {
		return nil
	}
	return seekExact(r.confirm, sum)
}

// seekExact is Bucket.Get on a cursor: the value of key, or nil when key is
// absent or names a nested bucket.
func seekExact(c *bolt.Cursor, key []byte) []byte {
	k, v := c.Seek(key)
	if !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// endReadLocked ends the shared read transaction, if any.
func (c *Cache) endReadLocked() {
	if c.rtx == nil {
		return
	}
	tx := c.rtx
	c.rtx, c.rd = nil, reader{}
	defer func() { _ = recover() }()
	_ = tx.Rollback()
}

// update runs one write transaction, recovering panics and faults like
// readLocked.
func (c *Cache) update(db *bolt.DB, fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errCorrupt, r)
		}
	}()
	return db.Update(fn)
}

// dropDBLocked closes db (if it is still the current one), moves the file
// aside when err says it is corrupt, and continues in memory. Buffered
// writes are kept; Close tries to save them into a fresh file.
func (c *Cache) dropDBLocked(db *bolt.DB, err error) {
	if c.db != db || db == nil {
		return
	}
	c.endReadLocked()
	c.db = nil
	closeQuietly(db)
	if errors.Is(err, errCorrupt) {
		if aside, mvErr := c.moveAside(); mvErr == nil {
			c.warn("cache file is corrupt; moved it aside, continuing in memory", "error", err, "moved_to", aside)
			return
		}
	}
	c.warn("cache file failed; continuing in memory for this run", "error", err)
}

// Lookup returns the SHA1 stored for k, and true, only if the entry's size,
// mtime, ctime, device and inode all equal k's. It costs one map lookup and
// one B+tree walk in the memory-mapped file (about a microsecond, no disk
// I/O once the file is in the page cache). A nil Cache always misses.
func (c *Cache) Lookup(k FileKey) ([20]byte, bool) {
	var sum [20]byte
	if c == nil {
		return sum, false
	}
	hit := false
	c.mu.Lock()
	if v, buffered := c.pending[pkey{key: k.Path}]; buffered {
		sum, hit = k.match(v)
	} else {
		c.readLocked(func(r *reader) {
			sum, hit = k.match(r.file(k.Path))
		})
	}
	c.mu.Unlock()
	if hit {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return sum, hit
}

// Store records sum as the SHA1 of the file version k. k must have been
// built (KeyFor) from a stat taken before the file was read. The write is
// buffered and committed with the next batch; a file modified less than the
// racy window ago is not stored (see DefaultRacyWindow). A nil Cache does
// nothing.
func (c *Cache) Store(k FileKey, sum [20]byte) {
	if c == nil {
		return
	}
	now := time.Now()
	if k.racy(now, c.cfg.racyWindow) {
		c.racy.Add(1)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.putLocked(pkey{key: k.Path}, k.encode(sum)) {
		c.stored.Add(1)
	}
	c.maybeFlushLocked(now)
}

// Prune forgets the level 1 entries of files under folder (absolute and
// cleaned) that keep rejects, and returns how many. Call it after walking
// folder completely, with keep reporting the files the walk found: the
// entries of files deleted, moved or renamed since then would otherwise
// stay in the file for ever. Entries stored in this run are left alone.
// Buffered like Store; a run with nothing to prune writes nothing. A nil
// Cache does nothing.
func (c *Cache) Prune(folder string, keep func(path string) bool) int {
	if c == nil || folder == "" {
		return 0
	}
	prefix := folder
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var stale []string
	c.readLocked(func(r *reader) {
		p := []byte(prefix)
		for k, _ := r.files.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = r.files.Next() {
			c.readKeysLocked(1)
			if path := string(k); !keep(path) {
				if _, stored := c.pending[pkey{key: path}]; !stored {
					stale = append(stale, path)
				}
			}
		}
	})
	for _, path := range stale {
		c.putLocked(pkey{key: path}, nil)
	}
	c.pruned.Add(int64(len(stale)))
	c.maybeFlushLocked(time.Now())
	return len(stale)
}

// putLocked buffers one write; false if memory mode is full.
func (c *Cache) putLocked(k pkey, v []byte) bool {
	if c.closed {
		c.dropped.Add(1)
		return false
	}
	// Deletes (Forget) are always kept: dropping one could leave a stale
	// confirmation on disk.
	if _, ok := c.pending[k]; !ok && v != nil && c.db == nil && len(c.pending) >= MaxMemoryEntries {
		c.dropped.Add(1)
		return false
	}
	c.pending[k] = v
	return true
}

func (c *Cache) maybeFlushLocked(now time.Time) {
	if c.db == nil {
		return
	}
	if len(c.pending) >= c.cfg.batchSize || now.Sub(c.lastFlush) >= c.cfg.flushInterval {
		_ = c.flushLocked()
	}
}

// filesFillPercent is how full the level 1 bucket's pages are left when
// a commit splits them (bbolt's default is half).
const filesFillPercent = 0.9

// Flush commits buffered writes now (one transaction, one fsync). Errors
// are also logged; after one the cache continues in memory.
func (c *Cache) Flush() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

func (c *Cache) flushLocked() error {
	c.lastFlush = time.Now()
	if len(c.pending) == 0 || c.db == nil {
		return nil
	}
	keys := make([]pkey, 0, len(c.pending))
	for k := range c.pending {
		keys = append(keys, k)
	}
	// Sorted puts fill bbolt pages sequentially: fewer page splits.
	slices.SortFunc(keys, func(a, b pkey) int {
		if a.server != b.server {
			if a.server < b.server {
				return -1
			}
			return 1
		}
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	c.endReadLocked()
	db := c.db
	err := c.update(db, func(tx *bolt.Tx) error {
		files := tx.Bucket(bucketFiles)
		servers := tx.Bucket(bucketServers)
		if files == nil || servers == nil {
			return errors.New("hashcache: buckets missing")
		}
		// Files arrive in walk order, so level 1 puts mostly append: pages
		// split 90% full rather than half full keep the file, and the pages
		// a re-run's lookups touch, about half as many.
		files.FillPercent = filesFillPercent
		var sb *bolt.Bucket
		sbName := ""
		for _, k := range keys {
			v := c.pending[k]
			b := files
			if k.server != "" {
				if sb == nil || sbName != k.server {
					sbName = k.server
					if v == nil {
						sb = servers.Bucket([]byte(k.server))
					} else {
						var err error
						if sb, err = servers.CreateBucketIfNotExists([]byte(k.server)); err != nil {
							return err
						}
					}
				}
				if sb == nil { // delete in a server never confirmed
					continue
				}
				b = sb
			}
			var err error
			if v == nil {
				err = b.Delete([]byte(k.key))
			} else {
				err = b.Put([]byte(k.key), v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.dropDBLocked(db, err)
		return fmt.Errorf("hashcache: committing %d entries: %w", len(keys), err)
	}
	clear(c.pending)
	// The puts read the pages they changed through the map: release them
	// too, or a first run over a million files keeps the file resident.
	if tx, err := db.Begin(false); err == nil {
		releaseMapped(db, tx)
		_ = tx.Rollback()
	}
	return nil
}

// Close commits buffered writes and releases the file. In memory mode it
// first tries once more (for the lock timeout) to open the file, so a run
// that started while another held the lock still saves its work when the
// other has finished. Entries that cannot be saved are counted in
// Stats.Dropped and reported by an error wrapping ErrNotSaved, which the
// caller should log and otherwise ignore. Close is idempotent; a nil Cache
// returns nil.
func (c *Cache) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.db == nil && len(c.pending) > 0 {
		c.db = c.openDB()
	}
	var errs []error
	if err := c.flushLocked(); err != nil {
		errs = append(errs, err)
	}
	if n := len(c.pending); n > 0 {
		c.dropped.Add(int64(n))
		c.warn("could not save cache entries; the next run re-hashes or re-checks those files", "entries", n)
		errs = append(errs, fmt.Errorf("%w: %d entries", ErrNotSaved, n))
		clear(c.pending)
	}
	c.endReadLocked()
	if c.db != nil {
		if err := c.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("hashcache: closing %s: %w", c.path, err))
		}
		c.db = nil
	}
	return errors.Join(errs...)
}
