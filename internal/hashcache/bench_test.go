package hashcache

import (
	"crypto/sha1"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Run: go test -run '^$' -bench . -benchmem ./internal/hashcache/

const benchEntries = 10_000

// BenchmarkLookup: one level 1 lookup (a hit) in a cache of 10,000 entries.
func BenchmarkLookup(b *testing.B) {
	db := filepath.Join(b.TempDir(), "hashes.db")
	fillCache(b, db, benchEntries)
	c := mustOpen(b, db)
	defer mustClose(b, c)
	keys := make([]FileKey, benchEntries)
	for i := range keys {
		keys[i], _ = synthKey("a", i)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, ok := c.Lookup(keys[i%benchEntries]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

// BenchmarkStore10k: one op stores 10,000 entries (new versions of the same
// 10,000 paths, as a re-hash of a changed library does) and commits them:
// ten batched transactions of DefaultBatchSize. ns/entry is the cost per Store.
func BenchmarkStore10k(b *testing.B) {
	db := filepath.Join(b.TempDir(), "hashes.db")
	c := mustOpen(b, db)
	defer mustClose(b, c)
	keys := make([]FileKey, benchEntries)
	sums := make([][20]byte, benchEntries)
	for i := range keys {
		keys[i], sums[i] = synthKey("a", i)
	}
	round := int64(0)
	for b.Loop() {
		round++
		for i := range keys {
			k := keys[i]
			k.Size += round // a new version each round
			c.Store(k, sums[i])
		}
		if err := c.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEntries, "ns/entry")
}

// BenchmarkOpenClose: Open and Close of a cache holding 10,000 entries.
func BenchmarkOpenClose(b *testing.B) {
	db := filepath.Join(b.TempDir(), "hashes.db")
	fillCache(b, db, benchEntries)
	for b.Loop() {
		mustClose(b, mustOpen(b, db))
	}
}

// BenchmarkRerun10k compares, over 10,000 real 4 KiB files, what a re-run
// costs per library with the cache (stat + KeyFor + Lookup per file) and
// without it (stat + open + SHA1 of the whole file). Files are in the page
// cache in both cases, so "sha1" is the cheapest a re-hash can ever be; on
// real photos (MBs each, often not cached) the gap is far larger.
func BenchmarkRerun10k(b *testing.B) {
	dir := b.TempDir()
	paths := make([]string, benchEntries)
	content := make([]byte, 4096)
	for i := range paths {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i/500))
		if i%500 == 0 {
			if err := os.Mkdir(sub, 0o700); err != nil {
				b.Fatal(err)
			}
		}
		copy(content, fmt.Sprintf("file %d", i))
		paths[i] = filepath.Join(sub, fmt.Sprintf("IMG_%05d.jpg", i))
		if err := os.WriteFile(paths[i], content, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(paths[i], past, past); err != nil {
			b.Fatal(err)
		}
	}
	db := filepath.Join(b.TempDir(), "hashes.db")
	c := mustOpen(b, db)
	for _, p := range paths {
		c.Store(statKey(b, p), hashFile(b, p))
	}
	mustClose(b, c)

	b.Run("cached", func(b *testing.B) {
		c := mustOpen(b, db)
		defer mustClose(b, c)
		for b.Loop() {
			for _, p := range paths {
				fi, err := os.Stat(p)
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := c.Lookup(KeyFor(p, fi)); !ok {
					b.Fatal("miss")
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEntries, "ns/file")
	})
	b.Run("lookup-only", func(b *testing.B) {
		c := mustOpen(b, db)
		defer mustClose(b, c)
		keys := make([]FileKey, len(paths))
		for i, p := range paths {
			keys[i] = statKey(b, p)
		}
		b.ResetTimer()
		for b.Loop() {
			for _, k := range keys {
				if _, ok := c.Lookup(k); !ok {
					b.Fatal("miss")
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEntries, "ns/file")
	})
	b.Run("sha1", func(b *testing.B) {
		buf := make([]byte, 256<<10) // one buffer, reused; plain Read (os.File.WriteTo would bypass it)
		h := sha1.New()
		for b.Loop() {
			for _, p := range paths {
				if _, err := os.Stat(p); err != nil {
					b.Fatal(err)
				}
				f, err := os.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				h.Reset()
				if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEntries, "ns/file")
	})
}
