package wrapper

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

// writeFiles creates files (relative path -> content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func scanPaths(t *testing.T, paths []string, s *scanner) (files []string, unsupported []string, failed []string, sidecars map[string]string) {
	t.Helper()
	if s.media == nil {
		s.media = newExtSet(DefaultMediaTypes().Image, DefaultMediaTypes().Video)
	}
	res := s.scan(context.Background(), paths)
	sidecars = map[string]string{}
	for i := range res.files.len() {
		f := res.files.at(i)
		p := res.path(&f.scannedFile)
		files = append(files, p)
		if sc := res.sidecar(i); sc.path != "" {
			sidecars[p] = sc.path
		}
		if fi, err := os.Stat(p); err != nil || fi.Size() != f.size() {
			t.Fatalf("%s: size %d, stat %v", p, f.size(), err)
		}
	}
	for _, f := range res.failed {
		failed = append(failed, f.Filepath)
	}
	return files, res.unsupported, failed, sidecars
}

func rel(root string, paths []string) []string {
	out := []string{}
	for _, p := range paths {
		r, err := filepath.Rel(root, p)
		if err != nil {
			r = p
		}
		out = append(out, filepath.ToSlash(r))
	}
	slices.Sort(out)
	return out
}

func TestScanSelectsMedia(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a.jpg": "a", "B.JPG": "b", "c.mov": "c", "notes.txt": "n", "d.heic": "d",
		".hidden.jpg": "h", ".dir/e.jpg": "e", "sub/f.png": "f", "sub/deep/g.mp4": "g",
		"raw/h.dng": "h2", "cache/i.jpg": "i", "sub/j.tmp.jpg": "j", "@eaDir/k.jpg": "k",
	})
	tests := []struct {
		name   string
		s      scanner
		want   []string
		hidden bool
	}{
		{name: "defaults", want: []string{"@eaDir/k.jpg", "B.JPG", "a.jpg", "c.mov", "cache/i.jpg", "d.heic", "raw/h.dng", "sub/deep/g.mp4", "sub/f.png", "sub/j.tmp.jpg"}},
		{name: "hidden", s: scanner{includeHidden: true}, want: []string{".dir/e.jpg", ".hidden.jpg", "@eaDir/k.jpg", "B.JPG", "a.jpg", "c.mov", "cache/i.jpg", "d.heic", "raw/h.dng", "sub/deep/g.mp4", "sub/f.png", "sub/j.tmp.jpg"}},
		{name: "ignores", s: scanner{ignore: []string{"raw/**", "@eaDir", "*.tmp.jpg", "**/deep/*", "cache/"}},
			want: []string{"B.JPG", "a.jpg", "c.mov", "d.heic", "sub/f.png"}},
		{name: "ignore by absolute glob", s: scanner{ignore: []string{filepath.ToSlash(root) + "/sub/**"}},
			want: []string{"@eaDir/k.jpg", "B.JPG", "a.jpg", "c.mov", "cache/i.jpg", "d.heic", "raw/h.dng"}},
		{name: "flat", s: scanner{flat: true}, want: []string{"B.JPG", "a.jpg", "c.mov", "d.heic"}},
		{name: "server media types", s: scanner{media: newExtSet([]string{".jpg"}, []string{"mov"})},
			want: []string{"@eaDir/k.jpg", "B.JPG", "a.jpg", "c.mov", "cache/i.jpg", "sub/j.tmp.jpg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, unsup, failed, _ := scanPaths(t, []string{root}, &tt.s)
			if got := rel(root, files); !slices.Equal(got, tt.want) {
				t.Fatalf("files\n got %q\nwant %q", got, tt.want)
			}
			if len(unsup)+len(failed) != 0 {
				t.Fatalf("walked non-media must be skipped silently: unsupported %q failed %q", unsup, failed)
			}
		})
	}
}

// TestScanManyFilesInOrder: a scan over several folders returns every
// file once, in order, at its path, with a count that matches.
func TestScanManyFilesInOrder(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{}
	var want []string
	for i := range 700 {
		name := fmt.Sprintf("d%d/IMG_%04d.jpg", i/300, i)
		files[name] = name
		want = append(want, name)
	}
	writeFiles(t, root, files)
	s := &scanner{media: newExtSet(DefaultMediaTypes().Image)}
	got, _, _, _ := scanPaths(t, []string{root}, s)
	if !slices.Equal(rel(root, got), want) {
		t.Fatalf("got %d files, want %d in order; first differences: %q", len(got), len(want), firstDiff(rel(root, got), want))
	}
	if s.res.files.len() != len(want) {
		t.Errorf("files.len() = %d, want %d", s.res.files.len(), len(want))
	}
}

func firstDiff(a, b []string) []string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return []string{a[i], b[i]}
		}
	}
	return nil
}

func TestScanExplicitFiles(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"a.jpg": "a", "notes.txt": "n", ".h.jpg": "h", "x.xmp": "x"})
	j := func(n string) string { return filepath.Join(root, n) }
	files, unsup, failed, _ := scanPaths(t, []string{j("a.jpg"), j("notes.txt"), j(".h.jpg"), j("missing.jpg"), j("a.jpg"), j("x.xmp")},
		&scanner{ignore: []string{"*.jpg"}})
	if got := rel(root, files); !slices.Equal(got, []string{".h.jpg", "a.jpg"}) {
		t.Fatalf("explicit media files (hidden, ignored, named twice) = %q", got)
	}
	if got := rel(root, unsup); !slices.Equal(got, []string{"notes.txt", "x.xmp"}) {
		t.Fatalf("unsupported = %q", got)
	}
	if got := rel(root, failed); !slices.Equal(got, []string{"missing.jpg"}) {
		t.Fatalf("failed = %q", got)
	}
}

func TestScanSymlinks(t *testing.T) {
	root := t.TempDir()
	other := t.TempDir()
	writeFiles(t, root, map[string]string{"a/p.jpg": "p"})
	writeFiles(t, other, map[string]string{"q.jpg": "q"})
	links := map[string]string{
		"a/loop":     "..",                           // a loop back to root
		"a/self":     ".",                            // a loop to itself
		"outside":    other,                          // a folder elsewhere
		"again":      other,                          // the same folder twice
		"link.jpg":   filepath.Join(root, "a/p.jpg"), // a file reached twice
		"broken.jpg": filepath.Join(root, "nowhere"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Skipf("symlinks not supported: %v", err)
		}
	}
	files, _, failed, _ := scanPaths(t, []string{root}, &scanner{})
	if len(files) != 2 || len(failed) != 0 {
		t.Fatalf("files %q failed %q: want p.jpg and q.jpg once each", files, failed)
	}
	var bases []string
	for _, f := range files {
		bases = append(bases, filepath.Base(f))
	}
	slices.Sort(bases)
	if !slices.Equal(bases, []string{"p.jpg", "q.jpg"}) {
		t.Fatalf("files %q", files)
	}
}

// A file found directly in a walked folder and also by name or through a
// link is listed once, at the path it was first seen under, whichever
// comes first; the files after it keep their sidecars.
func TestScanFileSeenTwice(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"sub/p.jpg": "p", "sub/q.jpg": "q", "sub/q.jpg.xmp": "x"})
	// "0.jpg" sorts before "sub": the link is seen before its target.
	if err := os.Symlink(filepath.Join(root, "sub", "p.jpg"), filepath.Join(root, "0.jpg")); err != nil {
		t.Skipf("symlinks not supported: %v", err)
	}
	p, q := filepath.Join(root, "sub", "p.jpg"), filepath.Join(root, "sub", "q.jpg")
	for _, tc := range []struct {
		name  string
		paths []string
		want  []string
	}{
		{"link first", []string{root}, []string{"0.jpg", "sub/q.jpg"}},
		{"named, then its folder", []string{p, filepath.Join(root, "sub")}, []string{"sub/p.jpg", "sub/q.jpg"}},
		{"folder, then a file in it", []string{filepath.Join(root, "sub"), p}, []string{"sub/p.jpg", "sub/q.jpg"}},
		{"folder, then a link to a file in it", []string{filepath.Join(root, "sub"), filepath.Join(root, "0.jpg")}, []string{"sub/p.jpg", "sub/q.jpg"}},
		{"named twice around its folder", []string{q, filepath.Join(root, "sub"), q}, []string{"sub/q.jpg", "sub/p.jpg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, _, failed, side := scanPaths(t, tc.paths, &scanner{withSidecars: true})
			var got []string
			for _, f := range files {
				r, _ := filepath.Rel(root, f)
				got = append(got, filepath.ToSlash(r))
			}
			if !slices.Equal(got, tc.want) || len(failed) != 0 {
				t.Fatalf("files %q failed %q, want %q in this order", got, failed, tc.want)
			}
			if side[q] != q+".xmp" || len(side) != 1 {
				t.Fatalf("sidecars %q, want q.jpg's", side)
			}
		})
	}
}

// A flat scan takes the files directly in each named folder, links to files
// among them too, and enters no subfolder, linked or not; a subfolder named
// explicitly is a named folder of its own.
func TestScanFlat(t *testing.T) {
	root := t.TempDir()
	other := t.TempDir()
	writeFiles(t, root, map[string]string{"a.jpg": "a", "sub/b.jpg": "b", "sub/deep/c.jpg": "c"})
	writeFiles(t, other, map[string]string{"d.jpg": "d"})
	for name, target := range map[string]string{"linked": other, "e.jpg": filepath.Join(other, "d.jpg")} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Skipf("symlinks not supported: %v", err)
		}
	}
	files, _, failed, _ := scanPaths(t, []string{root}, &scanner{flat: true})
	if got := rel(root, files); !slices.Equal(got, []string{"a.jpg", "e.jpg"}) || len(failed) != 0 {
		t.Fatalf("flat scan: files %q failed %q", got, failed)
	}
	files, _, _, _ = scanPaths(t, []string{root, filepath.Join(root, "sub")}, &scanner{flat: true})
	if got := rel(root, files); !slices.Equal(got, []string{"a.jpg", "e.jpg", "sub/b.jpg"}) {
		t.Fatalf("flat scan of root and sub: %q", got)
	}
}

// A relative root and a link to it by its absolute path are one folder:
// its files are listed once.
func TestScanRelativeRootAndAbsoluteLink(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"lib/a.jpg": "a"})
	if err := os.Symlink(filepath.Join(root, "lib"), filepath.Join(root, "lib", "abslink")); err != nil {
		t.Skipf("symlinks not supported: %v", err)
	}
	t.Chdir(root)
	files, _, failed, _ := scanPaths(t, []string{"lib"}, &scanner{})
	if !slices.Equal(files, []string{filepath.Join("lib", "a.jpg")}) || len(failed) != 0 {
		t.Fatalf("files %q failed %q; want lib/a.jpg once", files, failed)
	}
}

func TestScanSidecars(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a.jpg": "a", "a.jpg.xmp": "<a1/>", "a.xmp": "<a2/>", // both: x.jpg.xmp wins
		"b.jpg": "b", "b.xmp": "<b/>",
		"c.jpg": "c",
	})
	_, _, _, side := scanPaths(t, []string{root}, &scanner{withSidecars: true})
	want := map[string]string{"a.jpg": "a.jpg.xmp", "b.jpg": "b.xmp"}
	if len(side) != len(want) {
		t.Fatalf("sidecars %v", side)
	}
	for f, s := range side {
		if want[filepath.Base(f)] != filepath.Base(s) {
			t.Fatalf("sidecar of %s = %s", f, s)
		}
	}
	// Named explicitly, the lookup goes through Stat.
	_, _, _, side = scanPaths(t, []string{filepath.Join(root, "b.jpg")}, &scanner{withSidecars: true})
	if filepath.Base(side[filepath.Join(root, "b.jpg")]) != "b.xmp" {
		t.Fatalf("explicit file sidecars %v", side)
	}
	_, _, _, side = scanPaths(t, []string{root}, &scanner{withSidecars: false})
	if len(side) != 0 {
		t.Fatalf("sidecars off: %v", side)
	}
}

func TestValidateIgnores(t *testing.T) {
	if err := validateIgnores([]string{"**/*.jpg", "raw/{a,b}/*"}); err != nil {
		t.Fatal(err)
	}
	if err := validateIgnores([]string{"[abc"}); err == nil || !strings.Contains(err.Error(), "[abc") {
		t.Fatalf("bad pattern: %v", err)
	}
}

func TestExtSetAcceptsServerForms(t *testing.T) {
	s := newExtSet([]string{".JPG", "png", "image/webp", ""})
	for p, want := range map[string]bool{"x.jpg": true, "x.PNG": true, "x.webp": false, "x": false, "x.jpg.txt": false} {
		if s.has(p) != want {
			t.Errorf("has(%q) = %v", p, !want)
		}
	}
}

// BenchmarkScanMemoryPerFile measures the heap a scan keeps per file (the
// Memory paragraph of Upload's documentation states it): 8192 files named
// like a camera's, in 8 folders.
func BenchmarkScanMemoryPerFile(b *testing.B) {
	const n = 8192
	root := b.TempDir()
	for d := range 8 {
		dir := filepath.Join(root, fmt.Sprintf("2024-%02d", d+1))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range n / 8 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("IMG_%05d.JPG", d*n/8+i)), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	var kept uint64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		s := &scanner{media: newExtSet(DefaultMediaTypes().Image)}
		res := s.scan(context.Background(), []string{root})
		s = nil
		runtime.GC()
		runtime.ReadMemStats(&m1)
		if res.files.len() != n {
			b.Fatalf("scanned %d files", res.files.len())
		}
		runtime.KeepAlive(&res)
		kept += m1.HeapAlloc - m0.HeapAlloc
	}
	b.ReportMetric(float64(kept)/float64(b.N)/n, "B/file")
}

// TestScanWalkOrder: the walk is depth first, each folder's entries by
// name, though folders are listed ahead of it: the files of a folder
// before and after its subfolders keep their places.
func TestScanWalkOrder(t *testing.T) {
	root := t.TempDir()
	var want []string
	files := map[string]string{}
	var add func(dir string, depth int)
	add = func(dir string, depth int) {
		for k := range 5 {
			name := fmt.Sprintf("%s%c.jpg", dir, 'a'+2*k) // a, c, e, g, i
			files[name] = name
			want = append(want, name)
			if depth < 3 && k > 0 { // subfolders b/, d/, f/, h/ (after a, c, e, g)
				add(fmt.Sprintf("%s%c/", dir, 'a'+2*k-1), depth+1)
			}
		}
	}
	add("", 0)
	// want lists a folder's subfolder files where the walk meets them:
	// after the file before the subfolder's name.
	want = nil
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		for k := range 5 {
			if depth < 3 && k > 0 {
				walk(fmt.Sprintf("%s%c/", dir, 'a'+2*k-1), depth+1)
			}
			want = append(want, fmt.Sprintf("%s%c.jpg", dir, 'a'+2*k))
		}
	}
	walk("", 0)
	writeFiles(t, root, files)
	got, _, _, _ := scanPaths(t, []string{root}, &scanner{})
	var gotRel []string
	for _, p := range got {
		r, _ := filepath.Rel(root, p)
		gotRel = append(gotRel, filepath.ToSlash(r))
	}
	if !slices.Equal(gotRel, want) {
		t.Fatalf("scan order\n got %q\nwant %q", gotRel, want)
	}
}

// errAfter is a context whose Err turns to Canceled after n calls.
type errAfter struct {
	context.Context
	n atomic.Int64
}

func (c *errAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestScanCancelledHalfway: a walk cancelled halfway stops with the files
// it found, and leaves no goroutine behind (it waits for the folders it
// was listing ahead).
func TestScanCancelledHalfway(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{}
	for d := range 20 {
		for f := range 40 {
			name := fmt.Sprintf("d%02d/IMG_%02d.jpg", d, f)
			files[name] = name
		}
	}
	writeFiles(t, root, files)
	for _, n := range []int64{8, 14, 24} {
		ctx := &errAfter{Context: context.Background()}
		ctx.n.Store(n)
		s := &scanner{media: newExtSet(DefaultMediaTypes().Image)}
		res := s.scan(ctx, []string{root})
		if got := res.files.len(); got == 0 || got >= len(files) {
			t.Fatalf("cancelled after %d checks: %d files, want some of %d", n, got, len(files))
		}
		// The root, the folders entered and those listed ahead, no more.
		if entered := len(res.dirs); s.listings > 1+entered+listAhead {
			t.Fatalf("cancelled after %d checks: %d folders listed, %d entered", n, s.listings, entered)
		}
		goleak.VerifyNone(t, goleak.IgnoreCurrent())
	}
}
