package hashcache

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestHitAfterReopen(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "cache", "hashes.db")
	_, k, sum := writeFile(t, dir, "a.jpg", []byte("photo bytes"))

	c := mustOpen(t, db)
	if _, ok := c.Lookup(k); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Store(k, sum)
	if got, ok := c.Lookup(k); !ok || got != sum {
		t.Fatalf("buffered Lookup = %x, %v; want %x, true", got, ok, sum)
	}
	mustClose(t, c)

	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600 (it lists the user's file names)", fi.Mode().Perm())
	}

	c = mustOpen(t, db)
	defer mustClose(t, c)
	got, ok := c.Lookup(k)
	if !ok || got != sum {
		t.Fatalf("Lookup after reopen = %x, %v; want %x, true", got, ok, sum)
	}
	if s := c.Stats(); s.Hits != 1 || s.Misses != 0 || !s.Persistent {
		t.Errorf("Stats = %+v, want 1 hit, 0 misses, persistent", s)
	}
}

// savedCache returns a cache file holding one file's checksum, closed.
func savedCache(t *testing.T) (db string, k FileKey, sum [20]byte) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "hashes.db")
	_, k, sum = writeFile(t, dir, "a.jpg", []byte("photo bytes"))
	c := mustOpen(t, db)
	c.Store(k, sum)
	mustClose(t, c)
	return db, k, sum
}

// TestReadOnlyRunWritesNothing: a run that only looks files up (a re-run
// over an unchanged library) leaves the cache file untouched: no commit,
// no fsync.
func TestReadOnlyRunWritesNothing(t *testing.T) {
	db, k, _ := savedCache(t)
	if err := os.Chtimes(db, past, past); err != nil {
		t.Fatal(err)
	}
	before := hashFile(t, db)

	c := mustOpen(t, db)
	if _, ok := c.Lookup(k); !ok {
		t.Fatal("miss after reopen")
	}
	mustClose(t, c)
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(past) || hashFile(t, db) != before {
		t.Errorf("a lookup-only run rewrote the cache file (mtime %v, was %v)", fi.ModTime(), past)
	}
}

// TestLookupNeedsTheExactPath: on disk, a path next to a stored one in key
// order (a prefix of it, or one byte longer) is a miss, not its neighbour.
func TestLookupNeedsTheExactPath(t *testing.T) {
	db, k, sum := savedCache(t)
	c := mustOpen(t, db)
	defer mustClose(t, c)
	for _, p := range []string{k.Path[:len(k.Path)-1], k.Path + "g", k.Path[:len(k.Path)-5] + "Z.jpg", "/"} {
		nk := k
		nk.Path = p
		if got, ok := c.Lookup(nk); ok {
			t.Errorf("Lookup(%q) = %x, hit; want a miss (only %q is stored)", p, got, k.Path)
		}
	}
	if got, ok := c.Lookup(k); !ok || got != sum {
		t.Errorf("Lookup of the stored path = %x, %v; want %x, true", got, ok, sum)
	}
}

// TestMisses changes one property of a cached file at a time and expects
// the next run to miss, so the file is re-hashed.
func TestMisses(t *testing.T) {
	ctimeKnown := runtime.GOOS == "linux" || runtime.GOOS == "darwin" ||
		runtime.GOOS == "freebsd" || runtime.GOOS == "netbsd"
	tests := []struct {
		name     string
		change   func(t *testing.T, p string)
		wantMiss bool
		sameSum  bool // the bytes are unchanged: re-hashing gives the cached sum
	}{
		{
			name: "size changed, mtime restored",
			change: func(t *testing.T, p string) {
				appendBytes(t, p, []byte("more"))
				chtimes(t, p, past)
			},
			wantMiss: true,
		},
		{
			name: "touched: mtime changed, same bytes",
			change: func(t *testing.T, p string) {
				chtimes(t, p, past.Add(time.Minute))
			},
			wantMiss: true,
			sameSum:  true,
		},
		{
			name: "replaced by a copy: other inode, same bytes and mtime",
			change: func(t *testing.T, p string) {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				tmp := p + ".tmp"
				if err := os.WriteFile(tmp, data, 0o600); err != nil {
					t.Fatal(err)
				}
				chtimes(t, tmp, past)
				if err := os.Rename(tmp, p); err != nil {
					t.Fatal(err)
				}
			},
			wantMiss: ctimeKnown, // inode is part of the key where known
			sameSum:  true,
		},
		{
			name: "same size, bytes changed, mtime restored",
			change: func(t *testing.T, p string) {
				if err := os.WriteFile(p, []byte("PHOTO BYTES"), 0o600); err != nil {
					t.Fatal(err)
				}
				chtimes(t, p, past)
			},
			// ctime catches it; without ctime it is the documented limitation.
			wantMiss: ctimeKnown,
		},
		{
			name:     "unchanged",
			change:   func(*testing.T, string) {},
			wantMiss: false,
			sameSum:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "hashes.db")
			p, k, sum := writeFile(t, dir, "IMG_0001.jpg", []byte("photo bytes"))
			c := mustOpen(t, db)
			c.Store(k, sum)
			mustClose(t, c)

			// Let the kernel's coarse clock (ctime granularity) tick.
			time.Sleep(20 * time.Millisecond)
			tt.change(t, p)
			k2 := statKey(t, p)

			c = mustOpen(t, db)
			defer mustClose(t, c)
			got, ok := c.Lookup(k2)
			if ok == tt.wantMiss {
				t.Fatalf("Lookup hit=%v, want hit=%v (old key %+v, new key %+v)", ok, !tt.wantMiss, k, k2)
			}
			if ok && got != sum {
				t.Fatalf("hit returned %x, want %x", got, sum)
			}
			if tt.wantMiss {
				again := hashFile(t, p)
				if (again == sum) != tt.sameSum {
					t.Fatalf("re-hash equal to cached sum = %v, want %v", again == sum, tt.sameSum)
				}
				// The re-hashed file is stored under its new key and hits
				// on the next run; for a touched file the upload then
				// finds the same checksum on the server (a duplicate).
				c.Store(k2, again)
				if got, ok := c.Lookup(k2); !ok || got != again {
					t.Fatalf("after re-store Lookup = %x, %v", got, ok)
				}
			}
		})
	}
}

func appendBytes(t *testing.T, p string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func chtimes(t *testing.T, p string, mt time.Time) {
	t.Helper()
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func TestRacyFileIsNotStored(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fresh.jpg")
	if err := os.WriteFile(p, []byte("just written"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := statKey(t, p)
	c := mustOpen(t, filepath.Join(dir, "hashes.db"))
	defer mustClose(t, c)
	c.Store(k, hashFile(t, p))
	if _, ok := c.Lookup(k); ok {
		t.Fatal("a file modified just now was cached; a same-tick rewrite would go unnoticed")
	}
	if s := c.Stats(); s.SkippedRacy != 1 || s.Stored != 0 {
		t.Fatalf("Stats = %+v, want SkippedRacy 1, Stored 0", s)
	}

	// A wrong camera clock (mtime a year ahead) is not racy: cached.
	future := time.Now().AddDate(1, 0, 0)
	chtimes(t, p, future)
	kf := statKey(t, p)
	c.Store(kf, hashFile(t, p))
	if _, ok := c.Lookup(kf); !ok {
		t.Fatal("a file with an mtime far in the future was not cached")
	}
	// Within the window ahead of now (a file server's clock ahead of ours): racy.
	chtimes(t, p, time.Now().Add(time.Second))
	ka := statKey(t, p)
	c.Store(ka, hashFile(t, p))
	if _, ok := c.Lookup(ka); ok {
		t.Fatal("an mtime one second ahead of now was cached")
	}

	if err := os.WriteFile(p, []byte("just written again"), 0o600); err != nil {
		t.Fatal(err)
	}
	k = statKey(t, p)
	c2 := mustOpen(t, filepath.Join(dir, "other.db"), WithRacyWindow(0))
	defer mustClose(t, c2)
	c2.Store(k, hashFile(t, p))
	if _, ok := c2.Lookup(k); !ok {
		t.Fatal("WithRacyWindow(0) still skipped the fresh file")
	}
}

func TestKeyForRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("rel.jpg", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat("rel.jpg")
	if err != nil {
		t.Fatal(err)
	}
	k := KeyFor("./sub/../rel.jpg", fi)
	want, err := filepath.Abs("rel.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if k.Path != want || !filepath.IsAbs(k.Path) {
		t.Fatalf("KeyFor path = %q, want %q", k.Path, want)
	}
	if k.Size != 1 || k.ModTime != fi.ModTime().UnixNano() {
		t.Fatalf("KeyFor = %+v", k)
	}
	if runtime.GOOS == "linux" && k.ID == 0 {
		t.Fatalf("KeyFor on linux lacks the ID of ctime, device and inode: %+v", k)
	}
}

// TestUnreadableCacheIsRebuilt: whatever sits at the cache path, Open
// warns, keeps the old file aside, and gives a working cache.
func TestUnreadableCacheIsRebuilt(t *testing.T) {
	garbage := make([]byte, 64<<10)
	if _, err := rand.Read(garbage); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		setup    func(t *testing.T, db string)
		wantWarn string
		aside    bool
	}{
		{"random garbage 64 KiB", func(t *testing.T, db string) {
			writeRaw(t, db, garbage)
		}, "unreadable", true},
		{"short text file", func(t *testing.T, db string) {
			writeRaw(t, db, []byte("not a database\n"))
		}, "unreadable", true},
		{"truncated cache", func(t *testing.T, db string) {
			fillCache(t, db, 2000)
			data, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			writeRaw(t, db, data[:len(data)/3])
		}, "unreadable", true},
		{"a directory", func(t *testing.T, db string) {
			if err := os.Mkdir(db, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "unreadable", true},
		{"bbolt file of another schema", func(t *testing.T, db string) {
			b, err := bolt.Open(db, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = b.Update(func(tx *bolt.Tx) error {
				m, err := tx.CreateBucket(bucketMeta)
				if err != nil {
					return err
				}
				if _, err := tx.CreateBucket(bucketFiles); err != nil {
					return err
				}
				return m.Put(keyVersion, []byte("0"))
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		}, "another schema", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "hashes.db")
			tt.setup(t, db)
			log, logs := newLogger()
			c := mustOpen(t, db, WithLogger(log))
			if !strings.Contains(logs.String(), tt.wantWarn) || !strings.Contains(logs.String(), "level=WARN") {
				t.Fatalf("log = %q, want a warning containing %q", logs.String(), tt.wantWarn)
			}
			if !c.Stats().Persistent {
				t.Fatal("cache not rebuilt on disk")
			}
			_, k, sum := writeFile(t, dir, "a.jpg", []byte("a"))
			c.Store(k, sum)
			mustClose(t, c)

			c = mustOpen(t, db, WithLogger(log))
			defer mustClose(t, c)
			if got, ok := c.Lookup(k); !ok || got != sum {
				t.Fatalf("rebuilt cache lost its entry: %x, %v", got, ok)
			}
			asides, _ := filepath.Glob(db + ".corrupt-*")
			if tt.aside && len(asides) != 1 {
				t.Fatalf("moved-aside files = %v, want exactly one", asides)
			}
			if !tt.aside && len(asides) != 0 {
				t.Fatalf("moved-aside files = %v, want none", asides)
			}
			if tt.name == "random garbage 64 KiB" {
				kept, err := os.ReadFile(asides[0])
				if err != nil || !bytes.Equal(kept, garbage) {
					t.Fatalf("the unreadable file was not kept intact aside (err %v)", err)
				}
			}
		})
	}
}

// TestCorruptPages damages a valid cache file the way a bad disk would and
// checks the run survives: lookups never crash nor return a wrong hash, the
// file is moved aside, and the next run has a working cache.
func TestCorruptPages(t *testing.T) {
	tests := []struct {
		name  string
		flags uint16 // bbolt page type to damage: 0x01 branch, 0x02 leaf, 0x10 freelist
	}{
		{"leaf pages", 0x02},
		{"branch pages", 0x01},
		{"freelist page", 0x10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "hashes.db")
			fillCache(t, db, 3000)
			data, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			page := os.Getpagesize() // bbolt's page size when it created the file
			rng := mrand.New(mrand.NewPCG(1, uint64(tt.flags)))
			damaged := 0
			for off := 2 * page; off+page <= len(data); off += page {
				if binary.LittleEndian.Uint16(data[off+8:]) != tt.flags {
					continue
				}
				for i := off + 16; i < off+page; i++ { // keep the header
					data[i] = byte(rng.Uint32())
				}
				damaged++
			}
			if damaged == 0 {
				t.Fatalf("no page of type %#x in the file", tt.flags)
			}
			writeRaw(t, db, data)

			log, logs := newLogger()
			c := mustOpen(t, db, WithLogger(log))
			for i := range 3000 {
				k, sum := synthKey("a", i)
				if got, ok := c.Lookup(k); ok && got != sum {
					t.Fatalf("entry %d: corrupt cache returned a wrong hash", i)
				}
			}
			for i := range 3000 {
				k, sum := synthKey("b", i)
				c.Store(k, sum)
			}
			_ = c.Close() // may report ErrNotSaved; never fatal
			if !strings.Contains(logs.String(), "corrupt") && !strings.Contains(logs.String(), "unreadable") {
				t.Errorf("corruption went unnoticed; log: %s", logs.String())
			}

			// Whatever happened, the next run opens a usable cache.
			c = mustOpen(t, db, WithLogger(log))
			defer mustClose(t, c)
			if !c.Stats().Persistent {
				t.Fatalf("the cache after corruption is not usable on disk; log: %s", logs.String())
			}
			k, sum := synthKey("c", 1)
			c.Store(k, sum)
			if got, ok := c.Lookup(k); !ok || got != sum {
				t.Fatal("cache after corruption does not work")
			}
		})
	}
}

func writeRaw(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// fillCache creates a cache with n synthetic entries under prefix "a".
func fillCache(t testing.TB, db string, n int) {
	t.Helper()
	c := mustOpen(t, db)
	for i := range n {
		k, sum := synthKey("a", i)
		c.Store(k, sum)
	}
	mustClose(t, c)
}

// TestTwoOpenersAtOnce: two goroutines open the same cache file at the same
// moment. One gets the file, the other falls back to memory with a warning;
// neither fails, and once the first has closed, the second saves its work
// at Close. Nothing is lost or corrupted.
func TestTwoOpenersAtOnce(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hashes.db")
	log, logs := newLogger()
	const n = 1500

	var (
		start     = make(chan struct{})
		firstDone = make(chan struct{})
		wg        sync.WaitGroup
		opened    sync.WaitGroup // both Opens returned: the owner holds the lock until then
		mu        sync.Mutex
		modes     []bool
		errs      []error
	)
	opened.Add(2)
	for _, prefix := range []string{"g1", "g2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := Open(db, WithLogger(log), WithLockTimeout(100*time.Millisecond))
			opened.Done()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			opened.Wait()
			for i := range n {
				k, sum := synthKey(prefix, i)
				c.Store(k, sum)
				if got, ok := c.Lookup(k); !ok || got != sum {
					mu.Lock()
					errs = append(errs, errors.New(prefix+": own entry not visible"))
					mu.Unlock()
					break
				}
			}
			persistent := c.Stats().Persistent
			mu.Lock()
			modes = append(modes, persistent)
			mu.Unlock()
			if !persistent {
				<-firstDone // close after the owner, so Close can save
			}
			if err := c.Close(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			if persistent {
				close(firstDone)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(modes) != 2 || modes[0] == modes[1] {
		t.Fatalf("persistent modes = %v, want exactly one opener on disk", modes)
	}
	if !strings.Contains(logs.String(), "in use by another goimmich run") {
		t.Fatalf("no warning about the concurrent run; log: %s", logs.String())
	}
	assertEntries(t, db, map[string]int{"g1": n, "g2": n})
}

// TestSecondOpenerClosingFirstLosesOnlyItsCache: if the run in memory ends
// while the other still holds the file, its entries are reported unsaved;
// the other run's entries and the file are intact.
func TestSecondOpenerClosingFirst(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hashes.db")
	a := mustOpen(t, db)
	b := mustOpen(t, db, WithLockTimeout(50*time.Millisecond))
	if b.Stats().Persistent {
		t.Fatal("second opener got the locked file")
	}
	for i := range 100 {
		k, sum := synthKey("a", i)
		a.Store(k, sum)
		k, sum = synthKey("b", i)
		b.Store(k, sum)
	}
	err := b.Close()
	if !errors.Is(err, ErrNotSaved) {
		t.Fatalf("Close of the memory run = %v, want ErrNotSaved", err)
	}
	if s := b.Stats(); s.Dropped != 100 {
		t.Fatalf("Dropped = %d, want 100", s.Dropped)
	}
	mustClose(t, a)
	assertEntries(t, db, map[string]int{"a": 100, "b": 0})
}

// assertEntries opens db read-only, checks its structure (bbolt's Check)
// and counts the entries of each synthKey prefix.
func assertEntries(t *testing.T, db string, want map[string]int) {
	t.Helper()
	b, err := bolt.Open(db, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("cache file unreadable: %v", err)
	}
	defer b.Close()
	err = b.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		files := tx.Bucket(bucketFiles)
		for prefix, n := range want {
			got := 0
			for i := range max(n, 1) {
				k, sum := synthKey(prefix, i)
				if s, ok := k.match(files.Get([]byte(k.Path))); ok && s == sum {
					got++
				}
			}
			if got != n {
				t.Errorf("prefix %s: %d entries on disk, want %d", prefix, got, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("cache file check: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	c := mustOpen(t, filepath.Join(dir, "hashes.db"), WithBatchSize(64))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := string(rune('a' + g))
			for i := range 300 {
				k, sum := synthKey(prefix, i)
				c.Store(k, sum)
				if got, ok := c.Lookup(k); !ok || got != sum {
					t.Errorf("goroutine %d entry %d not visible", g, i)
					return
				}
				var s [20]byte
				s[0] = byte(g)
				c.Confirm("http://127.0.0.1:2283", "u", s, "asset")
				c.Confirmed("http://127.0.0.1:2283", "u", s)
			}
		}()
	}
	wg.Wait()
	mustClose(t, c)
	want := map[string]int{}
	for g := range 8 {
		want[string(rune('a'+g))] = 300
	}
	assertEntries(t, filepath.Join(dir, "hashes.db"), want)
}

func TestNilCacheIsDisabled(t *testing.T) {
	var c *Cache
	k, sum := synthKey("a", 1)
	c.Store(k, sum)
	if _, ok := c.Lookup(k); ok {
		t.Fatal("nil cache hit")
	}
	c.Confirm("http://x", "u", sum, "id")
	if _, ok := c.Confirmed("http://x", "u", sum); ok {
		t.Fatal("nil cache confirmed")
	}
	c.Forget("http://x", "u", sum)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.Stats() != (Stats{}) || c.Path() != "" {
		t.Fatal("nil cache has stats or a path")
	}
}

func TestOptionsValidated(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hashes.db")
	for _, o := range []Option{WithLogger(nil), WithLockTimeout(0), WithBatchSize(0), WithFlushInterval(-1), WithRacyWindow(-1)} {
		if c, err := Open(db, o); err == nil {
			_ = c.Close()
			t.Fatal("invalid option accepted")
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	p, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := os.UserCacheDir()
	if want := filepath.Join(base, "goimmich", "hashes.db"); p != want {
		t.Fatalf("DefaultPath = %q, want %q", p, want)
	}
	c := mustOpen(t, "")
	defer mustClose(t, c)
	if c.Path() != p || !c.Stats().Persistent {
		t.Fatalf("Open(\"\") path %q persistent %v", c.Path(), c.Stats().Persistent)
	}
	fi, err := os.Stat(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir mode %v, want 0700", fi.Mode().Perm())
	}
}

func TestUncreatableDirFallsBackToMemory(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	writeRaw(t, blocker, []byte("x"))
	log, logs := newLogger()
	c := mustOpen(t, filepath.Join(blocker, "sub", "hashes.db"), WithLogger(log))
	k, sum := synthKey("a", 1)
	c.Store(k, sum)
	if got, ok := c.Lookup(k); !ok || got != sum {
		t.Fatal("memory fallback does not keep entries for the run")
	}
	if c.Stats().Persistent || !strings.Contains(logs.String(), "in memory") {
		t.Fatalf("want a memory-mode warning; log: %s", logs.String())
	}
	if err := c.Close(); !errors.Is(err, ErrNotSaved) {
		t.Fatalf("Close = %v, want ErrNotSaved", err)
	}
}

// TestPrune forgets the entries under a folder that the walk did not find,
// keeps the others and those outside the folder, and persists.
func TestPrune(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib")
	if err := os.MkdirAll(filepath.Join(lib, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "hashes.db")
	_, kept, keptSum := writeFile(t, lib, "kept.jpg", []byte("kept"))
	_, gone, goneSum := writeFile(t, lib, filepath.Join("sub", "gone.jpg"), []byte("gone"))
	_, sibling, siblingSum := writeFile(t, dir, "lib2.jpg", []byte("next to lib, not in it"))
	c := mustOpen(t, db)
	for k, s := range map[FileKey][20]byte{kept: keptSum, gone: goneSum, sibling: siblingSum} {
		c.Store(k, s)
	}
	mustClose(t, c)

	c = mustOpen(t, db)
	_, fresh, freshSum := writeFile(t, lib, "new.jpg", []byte("stored in this run"))
	c.Store(fresh, freshSum)
	walked := map[string]bool{kept.Path: true} // gone.jpg was deleted; new.jpg not reported on purpose
	if n := c.Prune(lib, func(p string) bool { return walked[p] }); n != 1 {
		t.Fatalf("Prune forgot %d entries, want 1 (gone.jpg)", n)
	}
	if n := c.Prune(lib, func(p string) bool { return walked[p] }); n != 0 {
		t.Fatalf("a second Prune forgot %d more", n)
	}
	if s := c.Stats(); s.Pruned != 1 {
		t.Errorf("Stats.Pruned = %d, want 1", s.Pruned)
	}
	mustClose(t, c)

	c = mustOpen(t, db)
	defer mustClose(t, c)
	for _, tc := range []struct {
		k    FileKey
		want bool
	}{{kept, true}, {gone, false}, {sibling, true}, {fresh, true}} {
		if _, ok := c.Lookup(tc.k); ok != tc.want {
			t.Errorf("after reopen, Lookup(%s) hit = %v, want %v", tc.k.Path, ok, tc.want)
		}
	}
}

// Level 1 entries stored in walk order fill the file's pages nearly full
// (bbolt's default split leaves them half empty), so a re-run's lookups
// touch about half as many pages.
func TestStoredInOrderFillsPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hashes.db")
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20000 {
		c.Store(FileKey{Path: fmt.Sprintf("/library/%03d/IMG_%07d.jpg", i/400, i), Size: int64(i), ModTime: past.UnixNano(), ID: uint64(i)}, [20]byte{byte(i), byte(i >> 8)})
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		s := tx.Bucket(bucketFiles).Stats()
		if s.KeyN != 20000 || float64(s.LeafInuse) < 0.8*float64(s.LeafAlloc) {
			t.Fatalf("%d keys use %d of the %d bytes of their leaf pages, want at least 80%%", s.KeyN, s.LeafInuse, s.LeafAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestValuesBeforeIDsStillHit: a level 1 value written before keys held
// an ID (ctime, device and inode stored whole) is read as its StatID, so
// the first run after an upgrade re-hashes nothing; a changed ctime, device
// or inode still misses.
func TestValuesBeforeIDsStillHit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hashes.db")
	mustClose(t, mustOpen(t, db))
	const ctime, dev, ino = int64(1_700_000_000_123_456_789), uint64(2049), uint64(4242)
	k := FileKey{Path: "/photos/IMG_1.JPG", Size: 1234, ModTime: past.UnixNano(), ID: StatID(ctime, dev, ino)}
	sum := sha1.Sum([]byte("IMG_1"))
	old := make([]byte, oldFileValueLen)
	binary.BigEndian.PutUint64(old[0:], uint64(k.Size))
	binary.BigEndian.PutUint64(old[8:], uint64(k.ModTime))
	binary.BigEndian.PutUint64(old[16:], uint64(ctime))
	binary.BigEndian.PutUint64(old[24:], dev)
	binary.BigEndian.PutUint64(old[32:], ino)
	copy(old[40:], sum[:])
	b, err := bolt.Open(db, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketFiles).Put([]byte(k.Path), old) })
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	c := mustOpen(t, db)
	defer mustClose(t, c)
	if got, ok := c.Lookup(k); !ok || got != sum {
		t.Fatalf("old value: hit %v, sum %x", ok, got)
	}
	for _, other := range []uint64{StatID(ctime+1, dev, ino), StatID(ctime, dev+1, ino), StatID(ctime, dev, ino+1)} {
		k2 := k
		k2.ID = other
		if _, ok := c.Lookup(k2); ok {
			t.Fatalf("old value hit with ID %x, stored %x", other, k.ID)
		}
	}
	// A new value of the same key is the short one, and hits too.
	k.Path = "/photos/IMG_2.JPG"
	c.Store(k, sum)
	if got, ok := c.Lookup(k); !ok || got != sum {
		t.Fatalf("new value: hit %v", ok)
	}
	if v := k.encode(sum); len(v) != fileValueLen || fileValueLen >= oldFileValueLen {
		t.Fatalf("new values are %d bytes", len(v))
	}
}
