package immichtest

import (
	"encoding/binary"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// streamUpload sends a size-byte asset (a seed, then zeros) through an
// io.Pipe, so the client never holds the body, and returns the status.
func streamUpload(tb testing.TB, s *Server, seed uint64, size int64) int {
	tb.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for i := 0; i < len(dates); i += 2 {
			mw.WriteField(dates[i], dates[i+1])
		}
		part, err := mw.CreateFormFile("assetData", "big.mp4")
		if err == nil {
			var head [8]byte
			binary.LittleEndian.PutUint64(head[:], seed)
			part.Write(head[:])
			_, err = io.Copy(part, io.LimitReader(zeros{}, size-8))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", s.URL()+"/assets", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("x-api-key", s.APIKey())
	res, err := s.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// peakHeapGrowth runs f while sampling the heap every 2 ms and returns the
// largest HeapAlloc seen above the level before f (after a GC).
func peakHeapGrowth(f func()) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
					peak.Store(m.HeapAlloc - base)
				}
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// TestDataDirHeapBounded measures (it does not time) the heap while 32 MiB
// stream into a WithDataDir server: the growth must stay far below the body
// size, since the body goes to disk.
func TestDataDirHeapBounded(t *testing.T) {
	const size = 32 << 20
	s := start(t, WithDataDir(t.TempDir()))
	var status int
	growth := peakHeapGrowth(func() { status = streamUpload(t, s, 1, size) })
	if status != 201 || len(s.Assets()) != 1 || s.Assets()[0].Size != size {
		t.Fatalf("upload: %d, %+v", status, s.Assets())
	}
	if growth > 8<<20 {
		t.Fatalf("heap grew by %d MiB for a %d MiB upload", growth>>20, size>>20)
	}
	t.Logf("heap growth %.2f MiB for %d MiB (%.3f%%)", float64(growth)/(1<<20), size>>20, 100*float64(growth)/size)
}

// worstUploadHeapGrowth streams b.N uploads of size bytes to s, fails the
// benchmark on any status but 201, and returns the largest peak heap growth.
func worstUploadHeapGrowth(b *testing.B, s *Server, size int64) uint64 {
	var worst uint64
	for i := 0; i < b.N; i++ {
		var status int
		g := peakHeapGrowth(func() { status = streamUpload(b, s, uint64(i), size) })
		if status != 201 {
			b.Fatalf("status %d", status)
		}
		worst = max(worst, g)
	}
	return worst
}

// BenchmarkUploadDataDir1GiB streams 1 GiB per iteration into a WithDataDir
// server and reports the peak heap growth of the process (client and
// server) as MB and as a fraction of the body size.
//
//	go test -run '^$' -bench UploadDataDir1GiB -benchtime 1x ./immichtest/
func BenchmarkUploadDataDir1GiB(b *testing.B) {
	const size = 1 << 30
	s := NewServer(WithDataDir(b.TempDir()))
	defer s.Close()
	b.SetBytes(size)
	b.ResetTimer()
	worst := worstUploadHeapGrowth(b, s, size)
	b.ReportMetric(float64(worst)/1e6, "peak-heap-growth-MB")
	b.ReportMetric(float64(worst)/size, "heap-growth/body")
}

// BenchmarkUploadHeap64MiB compares the peak heap growth of a 64 MiB
// upload kept in memory with one streamed to a data dir, in one run:
//
//	go test -run '^$' -bench UploadHeap64MiB -benchtime 1x ./immichtest/
func BenchmarkUploadHeap64MiB(b *testing.B) {
	const size = 64 << 20
	for _, mode := range []string{"memory", "datadir"} {
		b.Run(mode, func(b *testing.B) {
			var opts []Option
			if mode == "datadir" {
				opts = append(opts, WithDataDir(b.TempDir()))
			}
			s := NewServer(opts...)
			defer s.Close()
			b.SetBytes(size)
			worst := worstUploadHeapGrowth(b, s, size)
			b.ReportMetric(float64(worst)/1e6, "peak-heap-growth-MB")
		})
	}
}
