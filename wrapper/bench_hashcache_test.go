//go:build unix

package wrapper

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/goimmich/goimmich/immichtest"
)

// benchEnvInt reads a positive integer from the environment, or def.
func benchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// sparseLibrary writes n files of size bytes under dir (in folders of 100):
// a distinct first 4 KiB each (so every file has its own SHA-1), the rest a
// hole, so the library costs n*4 KiB of disk while reading and hashing it
// costs what size bytes of page-cached data cost. Mtimes are an hour ago
// (outside the hash cache's racy window).
func sparseLibrary(b *testing.B, dir string, n, size int) {
	b.Helper()
	old := time.Now().Add(-time.Hour)
	head := make([]byte, 4096)
	rng := rand.NewChaCha8([32]byte{7})
	for k := range n {
		sub := filepath.Join(dir, fmt.Sprintf("%03d", k/100))
		if k%100 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		p := filepath.Join(sub, fmt.Sprintf("IMG_%05d.jpg", k))
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		rng.Read(head)
		if _, err := f.Write(head[:min(len(head), size)]); err != nil {
			b.Fatal(err)
		}
		if err := f.Truncate(int64(size)); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRerun10k re-runs Upload over an unchanged library of 10,000
// files that are all on the server already, with the hash cache on and
// off, in the same run, against a fake server in a child process. It
// reports both times and on/off-ratio (the acceptance: <= 0.1),
// and the re-run with RecheckAfter (no server questions) against off.
//
// Files are sparse, BENCH_RERUN_FILE_SIZE bytes each (default 1 MiB, a
// small JPEG; phone photos are 2-5 MB, which only makes the uncached run
// slower), BENCH_RERUN_FILES of them (default 10,000). The uncached run
// reads them from the page cache (holes read as zeros): a lower bound of
// its cost on a real disk. The first upload, outside the timing, stores
// files*size bytes in the fake server's data folder under TMPDIR.
func BenchmarkRerun10k(b *testing.B) {
	n := benchEnvInt(b, "BENCH_RERUN_FILES", 10000)
	size := benchEnvInt(b, "BENCH_RERUN_FILE_SIZE", 1<<20)
	dir := b.TempDir()
	sparseLibrary(b, dir, n, size)
	fsp := startFakeServerProcess(b, buildFakeServer(b), b.TempDir())
	defer fsp.stop(b)
	c, err := New(fsp.url, WithAPIKey(fsp.key), WithRetry(uploadRetry()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	on := UploadOptions{HashCache: HashCacheOptions{Path: filepath.Join(b.TempDir(), "hashes.db")}}
	off := UploadOptions{}
	res, err := c.Upload(context.Background(), []string{dir}, on)
	if err != nil || res.Stats.Uploaded != n {
		b.Fatalf("first upload: %v %+v", err, res.Stats)
	}
	run := func(o UploadOptions, wantHits int) time.Duration {
		t0 := time.Now()
		res, err := c.Upload(context.Background(), []string{dir}, o)
		d := time.Since(t0)
		if err != nil || res.Stats.Rejected != n || res.Stats.HashCacheHits != wantHits {
			b.Fatalf("re-run: %v %+v", err, res.Stats)
		}
		return d
	}
	trusted := on
	trusted.HashCache.RecheckAfter = time.Hour
	var tOn, tOff, tTrusted time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Alternate the order so neither always runs on warmer caches.
		if i%2 == 0 {
			tOn += run(on, n)
			tOff += run(off, 0)
		} else {
			tOff += run(off, 0)
			tOn += run(on, n)
		}
		tTrusted += run(trusted, n)
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(b.N) }
	b.ReportMetric(ms(tOn), "cache-on-ms")
	b.ReportMetric(ms(tOff), "cache-off-ms")
	b.ReportMetric(tOn.Seconds()/tOff.Seconds(), "on/off-ratio")
	// With RecheckAfter the re-run sends no bulk-upload-check: the client's
	// own cost, without the fake server's checksum lookups (a linear scan
	// over its assets per checksum, where Immich does one indexed query).
	b.ReportMetric(ms(tTrusted), "cache-on-norecheck-ms")
	b.ReportMetric(tTrusted.Seconds()/tOff.Seconds(), "norecheck/off-ratio")
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// randomFolder writes small files of 1 MiB and big ones of 100 MiB of
// random bytes (the shape of scripts/bench-upload.sh's folder, 603 MB
// with 300 + 3) and returns their paths.
func randomFolder(b *testing.B, dir string, small, big int) []string {
	b.Helper()
	rng := rand.NewChaCha8([32]byte{42})
	var paths []string
	write := func(name string, size int) {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		for left := size; left > 0; left -= len(buf) {
			rng.Read(buf)
			if _, err := f.Write(buf[:min(left, len(buf))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	for i := range small {
		write(fmt.Sprintf("IMG_%04d.jpg", i), 1<<20)
	}
	for i := range big {
		write(fmt.Sprintf("VID_%d.mp4", i), 100<<20)
	}
	return paths
}

// BenchmarkUploadFirstRun uploads a folder of BENCH_SMALL (default 300)
// 1 MiB and BENCH_BIG (default 3) 100 MiB random files to a fresh fake
// server in a child process (so its CPU is not counted), with a fresh hash
// cache, and compares this process's CPU time (user+system, getrusage)
// with the CPU time of `sha1sum` over the same files, in the same run:
// cpu-vs-sha1sum-x is the acceptance figure (<= 1.3). Both read
// the files from the page cache (the folder was just written; sha1sum runs
// before or after Upload in turn). Profile it with -cpuprofile/-memprofile.
func BenchmarkUploadFirstRun(b *testing.B) {
	small := benchEnvInt(b, "BENCH_SMALL", 300)
	big := benchEnvInt(b, "BENCH_BIG", 3)
	if small+big == 0 {
		b.Fatal("empty folder")
	}
	sha1sum, err := exec.LookPath("sha1sum")
	if err != nil {
		b.Fatalf("sha1sum (coreutils) is needed as the baseline: %v", err)
	}
	dir := b.TempDir()
	paths := randomFolder(b, dir, small, big)
	var total int64
	for _, p := range paths {
		fi, _ := os.Stat(p)
		total += fi.Size()
	}
	bin := buildFakeServer(b)
	runSHA1sum := func() time.Duration {
		cmd := exec.Command(sha1sum, paths...)
		cmd.Stdout = nil
		if err := cmd.Run(); err != nil {
			b.Fatalf("sha1sum: %v", err)
		}
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	runSHA1sum() // warm the page cache
	var ours, theirs, wall time.Duration
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if i%2 == 1 {
			theirs += runSHA1sum()
		}
		fsp := startFakeServerProcess(b, bin, b.TempDir())
		c, err := New(fsp.url, WithAPIKey(fsp.key), WithRetry(uploadRetry()))
		if err != nil {
			b.Fatal(err)
		}
		opts := UploadOptions{HashCache: HashCacheOptions{Path: filepath.Join(b.TempDir(), "hashes.db")}}
		cpu0, t0 := cpuTime(b), time.Now()
		b.StartTimer()
		res, err := c.Upload(context.Background(), []string{dir}, opts)
		b.StopTimer()
		ours += cpuTime(b) - cpu0
		wall += time.Since(t0)
		c.CloseIdleConnections()
		if err != nil || res.Stats.Uploaded != len(paths) {
			b.Fatalf("upload: %v %+v", err, res.Stats)
		}
		if assets, bad := fsp.stop(b); assets != len(paths) || bad != 0 {
			b.Fatalf("server holds %d assets, %d spec violations", assets, bad)
		}
		if i%2 == 0 {
			theirs += runSHA1sum()
		}
		b.StartTimer()
	}
	b.ReportMetric(ours.Seconds()*1000/float64(b.N), "client-cpu-ms")
	b.ReportMetric(theirs.Seconds()*1000/float64(b.N), "sha1sum-cpu-ms")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "cpu-vs-sha1sum-x")
	b.ReportMetric(wall.Seconds()*1000/float64(b.N), "wall-ms")
}

// BenchmarkAlbumsPerFolder uploads 40 folders of 5 files with
// AlbumPerFolder to an in-process fake server that waits 10 ms before each
// answer (a server across a network): 40 albums to create and fill, up to
// albumConcurrency at once.
func BenchmarkAlbumsPerFolder(b *testing.B) {
	const folders, files = 40, 5
	dir := b.TempDir()
	for f := range folders {
		sub := filepath.Join(dir, fmt.Sprintf("trip%02d", f))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for k := range files {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("IMG_%d.jpg", k)), fmt.Appendf(nil, "%d/%d", f, k), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		b.StopTimer()
		s, c := newUploadEnv(b, immichtest.WithFaults(immichtest.Faults{Latency: 10 * time.Millisecond}))
		b.StartTimer()
		res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{AlbumPerFolder: true})
		b.StopTimer()
		if err != nil || len(res.Albums) != folders || res.Albums[0].Added != files || len(s.Albums()) != folders {
			b.Fatalf("%v %+v", err, res.Albums)
		}
		c.CloseIdleConnections()
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkReadTwiceVsOnce weighs Upload's design (hash every file, ask
// bulk-upload-check, then upload it: two reads, the second from the page
// cache) against hashing during the upload (one read, but no duplicate
// check before sending the bytes). In one run, with the CPU time of this
// process (fake server in a child process), it measures: two-pass-cpu-ms,
// Upload as it is; send-only-cpu-ms, Upload with SkipDuplicateCheck (one
// read, no hashing); hash-cpu-ms, hashFile over the folder (read + SHA-1);
// read-cpu-ms, reading the folder alone. A one-pass upload would cost
// send-only + hash - read (one-pass-est-cpu-ms); the extra read costs
// two-pass - one-pass-est. Folder: BENCH_SMALL x 1 MiB + BENCH_BIG x 100
// MiB (default 100 + 1).
func BenchmarkReadTwiceVsOnce(b *testing.B) {
	dir := b.TempDir()
	paths := randomFolder(b, dir, benchEnvInt(b, "BENCH_SMALL", 100), benchEnvInt(b, "BENCH_BIG", 1))
	bin := buildFakeServer(b)
	upload := func(o UploadOptions) time.Duration {
		fsp := startFakeServerProcess(b, bin, b.TempDir())
		c, err := New(fsp.url, WithAPIKey(fsp.key), WithRetry(uploadRetry()))
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime(b)
		res, err := c.Upload(context.Background(), []string{dir}, o)
		d := cpuTime(b) - cpu0
		c.CloseIdleConnections()
		if err != nil || res.Stats.Uploaded != len(paths) {
			b.Fatalf("upload: %v %+v", err, res.Stats)
		}
		fsp.stop(b)
		return d
	}
	overFiles := func(fn func(p string) error) time.Duration {
		cpu0 := cpuTime(b)
		for _, p := range paths {
			if err := fn(p); err != nil {
				b.Fatal(err)
			}
		}
		return cpuTime(b) - cpu0
	}
	buf := make([]byte, hashBufSize)
	var twoPass, sendOnly, hash, read time.Duration
	for b.Loop() {
		twoPass += upload(UploadOptions{})
		sendOnly += upload(UploadOptions{SkipDuplicateCheck: true})
		hash += overFiles(func(p string) error { _, _, err := hashFile(context.Background(), p, nil); return err })
		read += overFiles(func(p string) error {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			for {
				_, err := f.Read(buf)
				if err != nil {
					return nil
				}
			}
		})
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(b.N) }
	b.ReportMetric(ms(twoPass), "two-pass-cpu-ms")
	b.ReportMetric(ms(sendOnly), "send-only-cpu-ms")
	b.ReportMetric(ms(hash), "hash-cpu-ms")
	b.ReportMetric(ms(read), "read-cpu-ms")
	b.ReportMetric(ms(sendOnly+hash-read), "one-pass-est-cpu-ms")
	b.ReportMetric(float64(twoPass)/float64(sendOnly+hash-read), "two/one-pass-x")
}
