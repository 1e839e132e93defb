package wrapper

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// benchExportAssets is the library size of BenchmarkExport
// (GOIMMICH_BENCH_EXPORT_ASSETS overrides it for a quick run).
func benchExportAssets() int {
	if n, err := strconv.Atoi(os.Getenv("GOIMMICH_BENCH_EXPORT_ASSETS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// BenchmarkExport compares a first export of a library of small assets
// with a re-run of the unchanged export, and reports the requests each
// sends (requests/op) and the originals fetched (downloads/op). Compare
// the ns/op of the two sub-benchmarks from one run:
//
//	go test ./wrapper -run '^$' -bench BenchmarkExport -benchtime 1x
func BenchmarkExport(b *testing.B) {
	s, c := newFake(b)
	n := benchExportAssets()
	for i := range n {
		s.AddAsset(fmt.Sprintf("IMG_%05d.jpg", i), fmt.Appendf(nil, "\xff\xd8\xff asset %d", i))
	}
	ctx := context.Background()
	measure := func(b *testing.B, run func() *ExportResult) {
		before := s.RequestCounts()
		var res *ExportResult
		for b.Loop() {
			res = run()
		}
		after := s.RequestCounts()
		reqs, downloads := 0, after["downloadAsset"]-before["downloadAsset"]
		for k, v := range after {
			reqs += v - before[k]
		}
		b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
		b.ReportMetric(float64(downloads)/float64(b.N), "downloads/op")
		if res.Stats.Listed != n || len(res.Failed) > 0 {
			b.Fatalf("listed %d of %d, %d failed", res.Stats.Listed, n, len(res.Failed))
		}
	}
	b.Run("first", func(b *testing.B) {
		measure(b, func() *ExportResult {
			b.StopTimer()
			dir := b.TempDir()
			b.StartTimer()
			res, err := c.Export(ctx, dir, ExportOptions{})
			if err != nil {
				b.Fatal(err)
			}
			return res
		})
	})
	b.Run("rerun", func(b *testing.B) {
		dir := b.TempDir()
		if _, err := c.Export(ctx, dir, ExportOptions{}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		measure(b, func() *ExportResult {
			res, err := c.Export(ctx, dir, ExportOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if res.Unchanged != n {
				b.Fatalf("re-run: %+v", res)
			}
			return res
		})
	})
}
