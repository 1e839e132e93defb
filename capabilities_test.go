package goimmich_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/internal/cli/root"
	"github.com/goimmich/goimmich/wrapper"
)

// The capability table: every capability of the wrapper and the CLI against
// the fake under the spec of every supported Immich release, or, when
// IMMICH_TEST_URL and IMMICH_TEST_KEY are set, against that real server (the
// real-immich workflow starts one on GitHub). COMPATIBILITY.md's matrix is
// checked against what the table found (rewritten by -update-compat).

var updateCompat = flag.Bool("update-compat", false, "rewrite the capability matrix in COMPATIBILITY.md")

// releases are the Immich releases goimmich supports, oldest first. The
// pinned one runs on the embedded spec; the others need IMMICH_SPEC_DIR, and
// once it is set a missing spec fails the test.
var releases = []string{"2.3.1", "2.4.1", "2.5.5", "2.6.3", "2.7.3", "3.0.1", "3.0.3"}

// capabilities are the rows of the table, in the order of COMPATIBILITY.md.
var capabilities = []struct {
	name string
	run  func(t *testing.T, tg *target)
}{
	{"upload into an album", capUploadAlbum},
	{"upload, an album per folder", capAlbumPerFolder},
	{"upload with XMP sidecars", capSidecars},
	{"upload, then delete local copies", capDelete},
	{"upload dry run", capDryRun},
	{"upload restoring trashed copies", capRestoreTrashed},
	{"download an original", capDownloadOriginal},
	{"download a thumbnail", capDownloadThumbnail},
	{"download a video's playback", capDownloadPlayback},
	{"download an album (CLI)", capDownloadAlbum},
	{"download an archive", capDownloadArchive},
}

// target is one server the table runs against.
type target struct {
	release string
	url     string
	key     string
	fake    *immichtest.Server // nil for a real server
	c       *wrapper.Client
}

func TestCapabilities(t *testing.T) {
	if url := os.Getenv("IMMICH_TEST_URL"); url != "" {
		key := os.Getenv("IMMICH_TEST_KEY")
		if key == "" {
			t.Fatal("IMMICH_TEST_URL is set without IMMICH_TEST_KEY")
		}
		tg := newTarget(t, "real", url, key, nil)
		for _, cp := range capabilities {
			t.Run(cp.name, func(t *testing.T) { cp.run(t, tg) })
		}
		return
	}
	specDir := os.Getenv("IMMICH_SPEC_DIR")
	pinned := pinnedRelease(t)
	got := map[string]map[string]bool{}
	for _, rel := range releases {
		var opts []immichtest.Option
		if rel != pinned {
			if specDir == "" {
				continue // a fresh clone without the specs: the pinned release only
			}
			spec := filepath.Join(specDir, "immich-openapi-specs-"+rel+".json")
			if _, err := os.Stat(spec); err != nil {
				t.Fatalf("IMMICH_SPEC_DIR is set, but release %s is missing: %v", rel, err)
			}
			opts = append(opts, immichtest.WithSpecFile(spec))
		}
		got[rel] = map[string]bool{}
		t.Run(rel, func(t *testing.T) {
			s := immichtest.NewTestServer(t, opts...)
			t.Cleanup(func() {
				for _, f := range s.ValidationFailures() {
					t.Errorf("spec %s: the fake saw a request or answer that breaks the spec: %+v", rel, f)
				}
			})
			tg := newTarget(t, rel, s.URL(), s.APIKey(), s)
			for _, cp := range capabilities {
				t.Run(cp.name, func(t *testing.T) {
					t.Cleanup(func() { got[rel][cp.name] = !t.Failed() })
					cp.run(t, tg)
				})
			}
		})
	}
	// The matrix is checked only when every cell ran (not under -run, nor
	// without the specs of every release).
	for _, rel := range releases {
		if len(got[rel]) != len(capabilities) {
			return
		}
	}
	checkMatrix(t, got)
}

func pinnedRelease(t *testing.T) string {
	b, err := os.ReadFile("openapi/IMMICH_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func newTarget(t *testing.T, release, url, key string, fake *immichtest.Server) *target {
	c, err := wrapper.New(url, wrapper.WithAPIKey(key),
		wrapper.WithRetry(wrapper.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, StallTimeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return &target{release: release, url: url, key: key, fake: fake, c: c}
}

// media writes n unique photos (real JPEGs, so a real server makes
// thumbnails of them) into dir and returns their paths.
func media(t *testing.T, dir string, n int) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		seed := make([]byte, 3)
		if _, err := rand.Read(seed); err != nil {
			t.Fatal(err)
		}
		for y := range 48 {
			for x := range 64 {
				img.Set(x, y, color.RGBA{seed[0] + uint8(x), seed[1] + uint8(y), seed[2] + uint8(i), 255})
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, nil); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("IMG_%04d %s.jpg", i, uuid.NewString()[:8]))
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// video writes a small unique ".mp4" into dir.
func video(t *testing.T, dir string) string {
	t.Helper()
	noise := make([]byte, 4096)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	// An ISO BMFF file type box, then noise: enough for a file to be taken
	// as a video by its name; the fake serves it back unchanged.
	body := append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), noise...)
	p := filepath.Join(dir, "clip "+uuid.NewString()[:8]+".mp4")
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func upload(t *testing.T, tg *target, paths []string, opts wrapper.UploadOptions) *wrapper.UploadResult {
	t.Helper()
	res, err := tg.c.Upload(context.Background(), paths, opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	for _, f := range res.Failed {
		t.Errorf("failed: %s: %s", f.Filepath, f.Error)
	}
	return res
}

// uploadedIDs maps each uploaded file's path to its asset id.
func uploadedIDs(t *testing.T, res *wrapper.UploadResult) map[string]uuid.UUID {
	t.Helper()
	ids := map[string]uuid.UUID{}
	for _, u := range res.Uploaded {
		if u.Asset.Id == uuid.Nil {
			t.Fatalf("%s: no asset id", u.Filepath)
		}
		ids[u.Filepath] = u.Asset.Id
	}
	return ids
}

func sha1File(t *testing.T, path string) [sha1.Size]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha1.Sum(b)
}

// sameBytes fails t unless got holds the bytes of want.
func sameBytes(t *testing.T, got, want string) {
	t.Helper()
	if sha1File(t, got) != sha1File(t, want) {
		t.Fatalf("%s does not hold the bytes of %s", got, want)
	}
}

// albumID finds the album named name among the user's albums.
func albumID(t *testing.T, tg *target, name string) uuid.UUID {
	t.Helper()
	al, err := tg.c.AlbumByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return al.Id
}

// albumAssets lists the ids of the assets of album id, of every visibility
// (3.x dropped assets from the album answer: they come from a search).
func albumAssets(t *testing.T, tg *target, id uuid.UUID) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for a, err := range tg.c.AlbumAssets(context.Background(), id) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.Id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return ids
}

// search returns the ids of all assets matching q (every page).
func search(t *testing.T, tg *target, q api.MetadataSearchDto) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for a, err := range tg.c.SearchAssets(context.Background(), q) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.Id)
	}
	return ids
}

func sortedIDs(m map[string]uuid.UUID) []uuid.UUID {
	var ids []uuid.UUID
	for _, id := range m {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return ids
}

func capUploadAlbum(t *testing.T, tg *target) {
	dir := t.TempDir()
	files := append(media(t, dir, 2), video(t, dir))
	name := "Trip " + uuid.NewString()[:8]
	res := upload(t, tg, []string{dir}, wrapper.UploadOptions{AlbumName: name})
	if len(res.Uploaded) != 3 {
		t.Fatalf("uploaded %d of 3: %+v", len(res.Uploaded), res)
	}
	ids := uploadedIDs(t, res)
	if got, want := albumAssets(t, tg, albumID(t, tg, name)), sortedIDs(ids); !slices.Equal(got, want) {
		t.Fatalf("album holds %v, want %v", got, want)
	}
	// A second run finds every file on the server.
	again := upload(t, tg, files, wrapper.UploadOptions{AlbumName: name})
	if len(again.Uploaded) != 0 || len(again.Rejected) != 3 {
		t.Fatalf("second run: %d uploaded, %d rejected, want 0 and 3", len(again.Uploaded), len(again.Rejected))
	}
}

func capAlbumPerFolder(t *testing.T, tg *target) {
	dir := t.TempDir()
	a, b := "Beach "+uuid.NewString()[:8], "Hills "+uuid.NewString()[:8]
	media(t, filepath.Join(dir, a), 2)
	media(t, filepath.Join(dir, b), 1)
	res := upload(t, tg, []string{dir}, wrapper.UploadOptions{AlbumPerFolder: true})
	if len(res.Uploaded) != 3 {
		t.Fatalf("uploaded %d of 3", len(res.Uploaded))
	}
	for name, n := range map[string]int{a: 2, b: 1} {
		if got := albumAssets(t, tg, albumID(t, tg, name)); len(got) != n {
			t.Fatalf("album %q holds %d assets, want %d", name, len(got), n)
		}
	}
}

func capSidecars(t *testing.T, tg *target) {
	dir := t.TempDir()
	photo := media(t, dir, 1)[0]
	xmp := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description>` + uuid.NewString() + `</dc:description></rdf:Description></rdf:RDF></x:xmpmeta>`
	if err := os.WriteFile(photo+".xmp", []byte(xmp), 0o644); err != nil {
		t.Fatal(err)
	}
	res := upload(t, tg, []string{dir}, wrapper.UploadOptions{})
	if len(res.Uploaded) != 1 || res.Uploaded[0].Sidecar != photo+".xmp" {
		t.Fatalf("want the photo uploaded with its sidecar: %+v", res.Uploaded)
	}
	if tg.fake != nil {
		a, ok := tg.fake.Asset(uploadedIDs(t, res)[photo])
		if !ok || string(a.Sidecar) != xmp {
			t.Fatalf("the server holds sidecar %q", a.Sidecar)
		}
	}
}

func capDelete(t *testing.T, tg *target) {
	dir := t.TempDir()
	files := media(t, dir, 2)
	keep := filepath.Join(t.TempDir(), "copy.jpg")
	orig, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	res := upload(t, tg, []string{dir}, wrapper.UploadOptions{DeleteUploaded: true})
	if len(res.Uploaded) != 2 {
		t.Fatalf("uploaded %d of 2", len(res.Uploaded))
	}
	for _, f := range files {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s is still there after its upload was confirmed (%v)", f, err)
		}
	}
	// The copy is a duplicate the server confirms, so it goes too.
	dup := upload(t, tg, []string{keep}, wrapper.UploadOptions{DeleteDuplicates: true})
	if len(dup.Rejected) != 1 || !dup.Rejected[0].Deleted {
		t.Fatalf("duplicate not deleted: %+v", dup.Rejected)
	}
	if _, err := os.Stat(keep); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("duplicate %s is still there (%v)", keep, err)
	}
}

func capDryRun(t *testing.T, tg *target) {
	dir := t.TempDir()
	files := media(t, dir, 2)
	name := "Dry " + uuid.NewString()[:8]
	res := upload(t, tg, []string{dir}, wrapper.UploadOptions{DryRun: true, AlbumName: name, DeleteUploaded: true})
	if !res.DryRun || len(res.Uploaded) != 2 {
		t.Fatalf("dry run: %+v", res)
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("a dry run removed %s: %v", f, err)
		}
		name := filepath.Base(f)
		if ids := search(t, tg, api.MetadataSearchDto{OriginalFileName: &name}); len(ids) != 0 {
			t.Fatalf("a dry run uploaded %s", name)
		}
	}
}

func capRestoreTrashed(t *testing.T, tg *target) {
	dir := t.TempDir()
	files := media(t, dir, 1)
	ids := uploadedIDs(t, upload(t, tg, files, wrapper.UploadOptions{}))
	id := ids[files[0]]
	_, err := tg.c.DeleteAssetsWithResponse(context.Background(), api.AssetBulkDeleteDto{Ids: []uuid.UUID{id}})
	if err != nil {
		t.Fatal(err)
	}
	left := upload(t, tg, files, wrapper.UploadOptions{})
	if len(left.Rejected) != 1 || !left.Rejected[0].Trashed || left.Rejected[0].Restored {
		t.Fatalf("without RestoreTrashed the trashed copy is reported and left alone: %+v", left.Rejected)
	}
	res := upload(t, tg, files, wrapper.UploadOptions{RestoreTrashed: true})
	if len(res.Rejected) != 1 || !res.Rejected[0].Restored {
		t.Fatalf("not restored: %+v", res.Rejected)
	}
	info, err := tg.c.GetAssetInfoWithResponse(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.JSON200 == nil || info.JSON200.IsTrashed {
		t.Fatalf("asset %s is still in the trash", id)
	}
}

func capDownloadOriginal(t *testing.T, tg *target) {
	dir := t.TempDir()
	files := append(media(t, dir, 1), video(t, dir))
	ids := uploadedIDs(t, upload(t, tg, files, wrapper.UploadOptions{}))
	out := t.TempDir()
	for _, f := range files {
		got, err := tg.c.DownloadAssetToFile(context.Background(), ids[f], out, wrapper.DownloadOptions{})
		if err != nil {
			t.Fatalf("DownloadAssetToFile %s: %v", f, err)
		}
		if filepath.Base(got.Path) != filepath.Base(f) || got.Outcome != wrapper.StatusDownloaded {
			t.Fatalf("saved as %s (%s), want the original name %s, downloaded", filepath.Base(got.Path), got.Outcome, filepath.Base(f))
		}
		sameBytes(t, got.Path, f)
		// Asked again: the file is there with these bytes, nothing is written.
		again, err := tg.c.DownloadAssetToFile(context.Background(), ids[f], out, wrapper.DownloadOptions{})
		if err != nil || again.Path != got.Path || again.Outcome != wrapper.StatusPresent {
			t.Fatalf("second download: %+v, %v; want %s present", again, err, got.Path)
		}
	}
}

// eventually retries fn for a while on a real server, which makes
// thumbnails and encodes videos in the background after an upload.
func eventually(t *testing.T, tg *target, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if tg.fake != nil || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
	}
}

func capDownloadThumbnail(t *testing.T, tg *target) {
	dir := t.TempDir()
	files := media(t, dir, 1)
	id := uploadedIDs(t, upload(t, tg, files, wrapper.UploadOptions{}))[files[0]]
	out := t.TempDir()
	eventually(t, tg, func() error {
		got, err := tg.c.ViewAssetToFile(context.Background(), id, out, api.AssetMediaSizeThumbnail, wrapper.DownloadOptions{})
		if err != nil {
			return err
		}
		b, err := os.ReadFile(got.Path)
		if err != nil {
			return err
		}
		if _, _, err := image.DecodeConfig(bytes.NewReader(b)); err != nil && !bytes.HasPrefix(b, []byte("RIFF")) {
			return fmt.Errorf("thumbnail %s is not an image: %v", got.Path, err)
		}
		return nil
	})
}

func capDownloadPlayback(t *testing.T, tg *target) {
	dir := t.TempDir()
	clip := video(t, dir)
	id := uploadedIDs(t, upload(t, tg, []string{clip}, wrapper.UploadOptions{}))[clip]
	out := t.TempDir()
	eventually(t, tg, func() error {
		got, err := tg.c.PlayAssetVideoToFile(context.Background(), id, out, wrapper.DownloadOptions{})
		if err != nil {
			return err
		}
		if fi, err := os.Stat(got.Path); err != nil || fi.Size() == 0 {
			return fmt.Errorf("playback %s: %v", got.Path, err)
		}
		if tg.fake != nil {
			sameBytes(t, got.Path, clip) // the fake plays the original
		}
		return nil
	})
}

// cli runs goimmich args against tg and returns the exit code and output.
func cli(t *testing.T, tg *target, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	vars := map[string]string{"HOME": t.TempDir(), "IMMICH_INSTANCE_URL": tg.url, "IMMICH_API_KEY": tg.key}
	f := &cmdutil.Factory{IOStreams: ios, Version: "test", Getenv: func(k string) string { return vars[k] },
		Retry: &wrapper.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}}
	code := root.Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

func capDownloadAlbum(t *testing.T, tg *target) {
	dir := t.TempDir()
	files := append(media(t, dir, 3), video(t, dir))
	name := "Album " + uuid.NewString()[:8]
	upload(t, tg, []string{dir}, wrapper.UploadOptions{AlbumName: name})
	out := t.TempDir()
	code, _, errOut := cli(t, tg, "download", "--album", albumID(t, tg, name).String(), "-o", out)
	if code != 0 {
		t.Fatalf("download --album: exit %d: %s", code, errOut)
	}
	for _, f := range files {
		sameBytes(t, filepath.Join(out, filepath.Base(f)), f)
	}
	if entries, _ := os.ReadDir(out); len(entries) != len(files) {
		t.Fatalf("download --album wrote %d files, want %d", len(entries), len(files))
	}
}

func capDownloadArchive(t *testing.T, tg *target) {
	dir := t.TempDir()
	files := media(t, dir, 3)
	ids := uploadedIDs(t, upload(t, tg, files, wrapper.UploadOptions{}))
	out := t.TempDir()
	zips, err := tg.c.DownloadArchiveToDir(context.Background(), sortedIDs(ids), out, wrapper.DownloadOptions{Filename: "backup"})
	if err != nil {
		t.Fatalf("DownloadArchiveToDir: %v", err)
	}
	if len(zips) != 1 || filepath.Base(zips[0].Path) != "backup.zip" {
		t.Fatalf("archives %v, want one backup.zip", zips)
	}
	zr, err := zip.OpenReader(zips[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	want := map[[sha1.Size]byte]bool{}
	for _, f := range files {
		want[sha1File(t, f)] = true
	}
	for _, e := range zr.File {
		rc, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		h := sha1.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s in the archive: %v", e.Name, err)
		}
		delete(want, [sha1.Size]byte(h.Sum(nil)))
	}
	if len(want) != 0 || len(zr.File) != len(files) {
		t.Fatalf("the archive holds %d entries, and %d of the %d files are not among them", len(zr.File), len(want), len(files))
	}
}

// The matrix in COMPATIBILITY.md lies between these lines.
const (
	matrixBegin = "<!-- capability matrix: made by TestCapabilities (go test -run TestCapabilities -update-compat .) -->"
	matrixEnd   = "<!-- end of capability matrix -->"
)

// checkMatrix compares the matrix in COMPATIBILITY.md with got, or rewrites
// it with -update-compat.
func checkMatrix(t *testing.T, got map[string]map[string]bool) {
	var b strings.Builder
	b.WriteString("| capability |")
	for _, rel := range releases {
		b.WriteString(" " + rel + " |")
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(releases)) + "\n")
	for _, cp := range capabilities {
		b.WriteString("| " + cp.name + " |")
		for _, rel := range releases {
			mark := "no"
			if got[rel][cp.name] {
				mark = "yes"
			}
			b.WriteString(" " + mark + " |")
		}
		b.WriteString("\n")
	}
	table := b.String()
	doc, err := os.ReadFile("COMPATIBILITY.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?s)` + regexp.QuoteMeta(matrixBegin) + `\n(.*?)` + regexp.QuoteMeta(matrixEnd))
	m := re.FindSubmatchIndex(doc)
	if m == nil {
		t.Fatalf("COMPATIBILITY.md has no capability matrix between %q and %q", matrixBegin, matrixEnd)
	}
	if string(doc[m[2]:m[3]]) == table {
		return
	}
	if !*updateCompat {
		t.Fatalf("COMPATIBILITY.md's capability matrix differs from what the table found; run go test -run TestCapabilities -update-compat . and review:\n%s", table)
	}
	out := append(append(slices.Clone(doc[:m[2]]), table...), doc[m[3]:]...)
	if err := os.WriteFile("COMPATIBILITY.md", out, 0o644); err != nil {
		t.Fatal(err)
	}
}
