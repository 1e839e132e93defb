package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
)

// exportFiles returns the files under dir (slash paths) with their bytes,
// without the export's own folder.
func exportFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == exportMetaDir {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// requestsDuring returns the requests per operation that f made.
func requestsDuring(s *immichtest.Server, f func()) map[string]int {
	before := s.RequestCounts()
	f()
	after := s.RequestCounts()
	for k, n := range before {
		after[k] -= n
		if after[k] == 0 {
			delete(after, k)
		}
	}
	return after
}

func mustExport(t *testing.T, c *Client, dir string, opts ExportOptions) *ExportResult {
	t.Helper()
	res, err := c.Export(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) > 0 {
		t.Fatalf("failures: %+v", res.Failed)
	}
	return res
}

// datePath is the default layout's folder for an asset.
func datePath(a immichtest.Asset) string {
	return a.FileCreatedAt.UTC().Format("2006/01")
}

func TestExportThenRerunFetchesNothing(t *testing.T) {
	s, c := newFake(t)
	dir := filepath.Join(t.TempDir(), "backup")
	addAssets(s, "IMG", 6)
	res := mustExport(t, c, dir, ExportOptions{})
	if res.Downloaded != 6 || res.Stats.Listed != 6 {
		t.Fatalf("first run %+v, want 6 listed and downloaded", res)
	}
	files := exportFiles(t, dir)
	for _, a := range s.Assets() {
		p := datePath(a) + "/" + a.OriginalFileName
		want, _ := s.AssetContent(a.ID)
		if !bytes.Equal(files[p], want) {
			t.Fatalf("%s: missing or other bytes (folder holds %v)", p, slices.Sorted(maps.Keys(files)))
		}
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || !fi.ModTime().Equal(a.FileCreatedAt) {
			t.Fatalf("%s: mtime %v, want the capture time %v (%v)", p, fi.ModTime(), a.FileCreatedAt, err)
		}
	}
	if len(files) != 6 {
		t.Fatalf("folder holds %d files, want 6", len(files))
	}

	statePath := filepath.Join(dir, filepath.FromSlash(exportStatePath))
	st1, err := os.Stat(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var again *ExportResult
	reqs := requestsDuring(s, func() { again = mustExport(t, c, dir, ExportOptions{}) })
	if st2, err := os.Stat(statePath); err != nil || !st2.ModTime().Equal(st1.ModTime()) {
		t.Fatalf("an unchanged re-run rewrote the state file (%v)", err)
	}
	if again.Downloaded != 0 || again.Unchanged != 6 {
		t.Fatalf("re-run %+v, want 6 unchanged and nothing downloaded", again)
	}
	if want := map[string]int{"searchAssets": 3}; !maps.Equal(reqs, want) {
		t.Fatalf("re-run sent %v, want only the listing %v", reqs, want)
	}
}

func TestExportFetchesOnlyNewAssets(t *testing.T) {
	s, c := newFake(t)
	dir := t.TempDir()
	addAssets(s, "OLD", 3)
	mustExport(t, c, dir, ExportOptions{})
	addAssets(s, "NEW", 5)
	var res *ExportResult
	reqs := requestsDuring(s, func() { res = mustExport(t, c, dir, ExportOptions{}) })
	if res.Downloaded != 5 || res.Unchanged != 3 || reqs["downloadAsset"] != 5 {
		t.Fatalf("after 5 new assets: %+v, %d downloads; want the 5 new ones only", res, reqs["downloadAsset"])
	}
	if n := len(exportFiles(t, dir)); n != 8 {
		t.Fatalf("%d files, want 8", n)
	}
}

func TestExportAlbumRenamedMovesFiles(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	dir := t.TempDir()
	ids := addAssets(s, "IMG", 3)
	album := createAlbum(t, c, "Trip", ids[:2])
	opts := ExportOptions{Albums: []string{"Trip"}, Layout: "{{.Album}}/{{.Name}}"}
	res := mustExport(t, c, dir, opts)
	if res.Downloaded != 2 {
		t.Fatalf("%+v, want the album's 2 assets", res)
	}
	r, err := c.UpdateAlbumInfoWithResponse(ctx, album, api.UpdateAlbumDto{AlbumName: Ptr("Trip 2024")})
	if err == nil {
		err = CheckResponse("updateAlbumInfo", r.HTTPResponse, r.Body)
	}
	if err != nil {
		t.Fatal(err)
	}
	opts.Albums = []string{album.String()}
	reqs := requestsDuring(s, func() { res = mustExport(t, c, dir, opts) })
	if res.Moved != 2 || res.Downloaded != 0 || reqs["downloadAsset"] != 0 {
		t.Fatalf("after the rename: %+v, %v; want 2 moved, nothing fetched", res, reqs)
	}
	got := slices.Sorted(maps.Keys(exportFiles(t, dir)))
	if want := []string{"Trip 2024/IMG-0.jpg", "Trip 2024/IMG-1.jpg"}; !slices.Equal(got, want) {
		t.Fatalf("folder holds %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "Trip")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old album folder is still there: %v", err)
	}
}

func TestExportMirrorDeletesMovesIntoTrash(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	dir := t.TempDir()
	ids := addAssets(s, "IMG", 3)
	mustExport(t, c, dir, ExportOptions{})
	a, _ := s.Asset(ids[1])
	content, _ := s.AssetContent(ids[1])
	r, err := c.DeleteAssetsWithResponse(ctx, api.AssetBulkDeleteDto{Ids: []uuid.UUID{ids[1]}, Force: Ptr(true)})
	if err == nil {
		err = CheckResponse("deleteAssets", r.HTTPResponse, r.Body)
	}
	if err != nil {
		t.Fatal(err)
	}
	rel := datePath(a) + "/" + a.OriginalFileName

	// Off by default: the file stays.
	res := mustExport(t, c, dir, ExportOptions{})
	if res.Trashed != 0 || exportFiles(t, dir)[rel] == nil {
		t.Fatalf("without MirrorDeletes: %+v; the file must stay", res)
	}
	res = mustExport(t, c, dir, ExportOptions{MirrorDeletes: true})
	if res.Trashed != 1 || res.Unchanged != 2 {
		t.Fatalf("with MirrorDeletes: %+v, want 1 trashed, 2 unchanged", res)
	}
	files := exportFiles(t, dir)
	trashed := ".trash/" + time.Now().Format("2006-01-02") + "/" + rel
	if files[rel] != nil || !bytes.Equal(files[trashed], content) {
		t.Fatalf("folder holds %q; want %s moved to %s", slices.Sorted(maps.Keys(files)), rel, trashed)
	}
	// A third run has nothing more to do.
	res = mustExport(t, c, dir, ExportOptions{MirrorDeletes: true})
	if res.Trashed != 0 || res.Unchanged != 2 {
		t.Fatalf("third run: %+v", res)
	}
}

func TestExportSameNameTwiceGetsStableNames(t *testing.T) {
	s, c := newFake(t)
	dir := t.TempDir()
	x := s.AddAsset("IMG_0001.jpg", []byte("\xff\xd8\xff first"))
	y := s.AddAsset("IMG_0001.jpg", []byte("\xff\xd8\xff second"))
	mustExport(t, c, dir, ExportOptions{})
	lo, hi := x, y
	if hi.ID.String() < lo.ID.String() {
		lo, hi = hi, lo
	}
	folder := datePath(x) + "/"
	want := map[string]uuid.UUID{
		folder + "IMG_0001.jpg":                            lo.ID,
		folder + "IMG_0001~" + hi.ID.String()[:8] + ".jpg": hi.ID,
	}
	check := func(when string) {
		t.Helper()
		files := exportFiles(t, dir)
		if len(files) != len(want) {
			t.Fatalf("%s: folder holds %q", when, slices.Sorted(maps.Keys(files)))
		}
		for p, id := range want {
			b, _ := s.AssetContent(id)
			if !bytes.Equal(files[p], b) {
				t.Fatalf("%s: %s does not hold asset %s (folder holds %q)", when, p, id, slices.Sorted(maps.Keys(files)))
			}
		}
	}
	check("first run")
	// A third asset of that name, whatever its id, leaves the first two
	// where they are.
	z := s.AddAsset("IMG_0001.jpg", []byte("\xff\xd8\xff third"))
	res := mustExport(t, c, dir, ExportOptions{})
	if res.Moved != 0 || res.Downloaded != 1 {
		t.Fatalf("after a third: %+v", res)
	}
	want[folder+"IMG_0001~"+z.ID.String()[:8]+".jpg"] = z.ID
	check("second run")
}

func TestExportLayoutValidation(t *testing.T) {
	_, c := newFake(t)
	for _, tc := range []struct{ layout, msg string }{
		{"{{.Year}}/{{.Camera}}", "Camera"},
		{"{{.Year", "unclosed"},
		{"../{{.Name}}", "leaves the export folder"},
		{"{{.Year}}/../../{{.Name}}", "leaves the export folder"},
		{"/srv/{{.Name}}", "absolute"},
		{"{{if false}}x{{end}}", "empty path"},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		_, err := c.Export(context.Background(), dir, ExportOptions{Layout: tc.layout})
		if !errors.Is(err, ErrBadLayout) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("layout %q: error %v, want ErrBadLayout saying %q", tc.layout, err, tc.msg)
		}
		if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("layout %q: the output folder was created", tc.layout)
		}
	}
}

func TestExportBadOutputAndAlbums(t *testing.T) {
	s, c := newFake(t)
	addAssets(s, "IMG", 1)
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, []byte("mine"), 0o644)
	_, err := c.Export(context.Background(), file, ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "is a file, not a folder") {
		t.Fatalf("output is a file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "mine" {
		t.Fatal("the file was changed")
	}
	dir := t.TempDir()
	if _, err := c.Export(context.Background(), dir, ExportOptions{Albums: []string{"Nope"}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown album: %v, want ErrNotFound", err)
	}
	if files := exportFiles(t, dir); len(files) != 0 {
		t.Fatalf("files written for an unknown album: %v", files)
	}
	if _, err := c.Export(context.Background(), dir, ExportOptions{Sidecar: "yaml"}); err == nil {
		t.Fatal("an unknown sidecar kind was accepted")
	}
}

func TestExportHostileNamesStayInside(t *testing.T) {
	s, c := newFake(t)
	ids := []uuid.UUID{
		s.AddAsset(`../../escape.jpg`, []byte("\xff\xd8\xff 1")).ID,
		s.AddAsset(`..\..\win.jpg`, []byte("\xff\xd8\xff 2")).ID,
		s.AddAsset(`.hidden.jpg`, []byte("\xff\xd8\xff 3")).ID,
	}
	createAlbum(t, c, "../..", ids)
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	mustExport(t, c, dir, ExportOptions{Layout: "{{.Album}}/{{.Name}}", Albums: []string{"../.."}})
	got := slices.Sorted(maps.Keys(exportFiles(t, dir)))
	want := []string{"_/escape.jpg", "_/hidden.jpg", "_/win.jpg"}
	if !slices.Equal(got, want) {
		t.Fatalf("folder holds %q, want %q", got, want)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Fatalf("something was written beside the output folder: %v", ents)
	}
}

func TestExportTruncatedBodiesResume(t *testing.T) {
	s, c := newFake(t)
	dir := t.TempDir()
	for i := range 4 {
		s.AddAsset(fmt.Sprintf("big-%d.jpg", i), bytes.Repeat([]byte{byte(i)}, 200<<10))
	}
	s.SetFaults(immichtest.Faults{Seed: 3, Operations: []string{"downloadAsset"}, TruncateRate: 0.5})
	res := mustExport(t, c, dir, ExportOptions{})
	if res.Downloaded != 4 {
		t.Fatalf("%+v", res)
	}
	for _, a := range s.Assets() {
		b, _ := s.AssetContent(a.ID)
		if got := exportFiles(t, dir)[datePath(a)+"/"+a.OriginalFileName]; !bytes.Equal(got, b) {
			t.Fatalf("%s: other bytes after resumed transfers", a.OriginalFileName)
		}
	}
	if n := s.RequestCount("downloadAsset"); n <= 4 {
		t.Fatalf("%d download requests: the fault did not cut any", n)
	}
}

// exportCanceller cancels the export after n downloads are done.
type exportCanceller struct {
	nopProgress
	n      int64
	done   atomic.Int64
	cancel context.CancelFunc
}

func (p *exportCanceller) Done(_ string, status Status, _ error) {
	if status == "downloaded" && p.done.Add(1) == p.n {
		p.cancel()
	}
}

func TestExportInterruptedResumes(t *testing.T) {
	s, c := newFake(t)
	dir := t.TempDir()
	addAssets(s, "IMG", 6)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := c.Export(ctx, dir, ExportOptions{Concurrency: 1, Progress: &exportCanceller{n: 2, cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted export: %v, want context.Canceled", err)
	}
	if res == nil || res.Downloaded != 2 || len(res.Failed) != 0 {
		t.Fatalf("interrupted export: %+v, want 2 downloaded and no failure", res)
	}
	staging, _ := os.ReadDir(filepath.Join(dir, exportMetaDir, "staging"))
	if len(staging) != 0 {
		t.Fatalf("left in staging: %v", staging)
	}
	var again *ExportResult
	reqs := requestsDuring(s, func() { again = mustExport(t, c, dir, ExportOptions{}) })
	if again.Downloaded != 4 || again.Unchanged != 2 || reqs["downloadAsset"] != 4 {
		t.Fatalf("resumed export: %+v, %v; want the 4 others fetched", again, reqs)
	}
}

func TestExportSidecars(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	id := s.AddAsset("IMG_0001.jpg", []byte("\xff\xd8\xff photo")).ID
	r, err := c.UpdateAssetWithResponse(ctx, id, api.UpdateAssetDto{Description: Ptr("Tom & Jerry <3"), IsFavorite: Ptr(true)})
	if err == nil {
		err = CheckResponse("updateAsset", r.HTTPResponse, r.Body)
	}
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Asset(id)
	rel := datePath(a) + "/IMG_0001.jpg"

	dir := t.TempDir()
	res := mustExport(t, c, dir, ExportOptions{Sidecar: ExportSidecarXMP})
	xmp := string(exportFiles(t, dir)[rel+".xmp"])
	for _, want := range []string{"Tom &amp; Jerry &lt;3", `xmp:Label="Favorite"`, `exif:DateTimeOriginal="` + a.FileCreatedAt.UTC().Format(time.RFC3339Nano)} {
		if !strings.Contains(xmp, want) {
			t.Fatalf("XMP sidecar lacks %q:\n%s", want, xmp)
		}
	}
	if res.Stats.Sidecars != 1 {
		t.Fatalf("%+v", res)
	}
	if res = mustExport(t, c, dir, ExportOptions{Sidecar: ExportSidecarXMP}); res.Stats.Sidecars != 0 {
		t.Fatalf("an unchanged asset's sidecar was written again: %+v", res)
	}
	// A change on the server rewrites it.
	c.UpdateAssetWithResponse(ctx, id, api.UpdateAssetDto{Description: Ptr("Paris")})
	if res = mustExport(t, c, dir, ExportOptions{Sidecar: ExportSidecarXMP}); res.Stats.Sidecars != 1 || !strings.Contains(string(exportFiles(t, dir)[rel+".xmp"]), "Paris") {
		t.Fatalf("the sidecar of a changed asset: %+v", res)
	}

	jdir := t.TempDir()
	mustExport(t, c, jdir, ExportOptions{Sidecar: ExportSidecarJSON})
	if js := string(exportFiles(t, jdir)[rel+".json"]); !strings.Contains(js, `"id":"`+id.String()+`"`) {
		t.Fatalf("JSON sidecar: %s", js)
	}
}

// replaceOriginal replaces the content of asset id with PUT
// /assets/{id}/original, which Immich 2.x has.
func replaceOriginal(t *testing.T, c *Client, id uuid.UUID, name string, content []byte, taken time.Time) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"deviceAssetId": "replaced", "deviceId": "test",
		"fileCreatedAt": taken.Format(time.RFC3339), "fileModifiedAt": taken.Format(time.RFC3339)} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("assetData", name)
	fw.Write(content)
	mw.Close()
	req, err := c.NewRequest(context.Background(), http.MethodPut, "/assets/"+id.String()+"/original", nil, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req, "replaceAsset")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestExportReplacedAssetIsFetchedAgain(t *testing.T) {
	specDir := os.Getenv("IMMICH_SPEC_DIR")
	if specDir == "" {
		t.Skip("IMMICH_SPEC_DIR not set (CI sets it): replacing an asset needs an Immich 2.x server")
	}
	s, c := newFake(t, immichtest.WithSpecFile(filepath.Join(specDir, "immich-openapi-specs-2.7.3.json")))
	dir := t.TempDir()
	ids := addAssets(s, "IMG", 2)
	mustExport(t, c, dir, ExportOptions{})
	before, _ := s.Asset(ids[0])
	oldBytes, _ := s.AssetContent(ids[0])
	newBytes := []byte("\xff\xd8\xff edited")
	replaceOriginal(t, c, ids[0], before.OriginalFileName, newBytes, before.FileCreatedAt)

	var res *ExportResult
	reqs := requestsDuring(s, func() { res = mustExport(t, c, dir, ExportOptions{}) })
	if res.Downloaded != 1 || res.Unchanged != 1 || res.Trashed != 1 || reqs["downloadAsset"] != 1 {
		t.Fatalf("after a replace: %+v, %v; want the replaced asset fetched, its old version trashed", res, reqs)
	}
	rel := datePath(before) + "/" + before.OriginalFileName
	files := exportFiles(t, dir)
	if !bytes.Equal(files[rel], newBytes) {
		t.Fatalf("%s holds %q, want the new bytes", rel, files[rel])
	}
	if old := files[".trash/"+time.Now().Format("2006-01-02")+"/"+rel]; !bytes.Equal(old, oldBytes) {
		t.Fatalf("the old version is not in .trash: %q", slices.Sorted(maps.Keys(files)))
	}
}

// livePhotoProxy serves s through a reverse proxy that links still to
// motion (livePhotoVideoId) in the answers of searches and asset info:
// immichtest does not model live photos yet.
func livePhotoProxy(t *testing.T, s *immichtest.Server, still, motion uuid.UUID) *Client {
	t.Helper()
	link := func(a map[string]any) {
		if a["id"] == still.String() {
			a["livePhotoVideoId"] = motion.String()
		}
	}
	modify := func(resp *http.Response) error {
		p := resp.Request.URL.Path
		if resp.StatusCode != http.StatusOK || (p != "/api/search/metadata" && p != "/api/assets/"+still.String()) {
			return nil
		}
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return err
		}
		resp.Body.Close()
		if assets, ok := body["assets"].(map[string]any); ok {
			for _, it := range assets["items"].([]any) {
				link(it.(map[string]any))
			}
		} else if _, ok := body["checksum"]; ok {
			link(body)
		}
		b, _ := json.Marshal(body)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	u := proxyURL(t, s, func(rp *httputil.ReverseProxy) http.Handler { rp.ModifyResponse = modify; return rp })
	c, err := New(u, WithAPIKey(s.APIKey()), WithRetry(fastRetry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestExportLivePhotoMotionBesideStill(t *testing.T) {
	s, direct := newFake(t)
	ctx := context.Background()
	still := s.AddAsset("LIVE.heic", []byte("\x00\x00\x00\x18ftypheic still"))
	motion := s.AddAsset("motion-part.mov", []byte("\x00\x00\x00\x14ftypqt   motion"))
	other := s.AddAsset("other.jpg", []byte("\xff\xd8\xff other"))
	if r, err := direct.UpdateAssetWithResponse(ctx, motion.ID, api.UpdateAssetDto{Visibility: Ptr(api.AssetVisibilityHidden)}); err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("hiding the motion part: %v", err)
	}
	createAlbum(t, direct, "Trip", []uuid.UUID{still.ID, other.ID})
	c := livePhotoProxy(t, s, still.ID, motion.ID)
	motionBytes, _ := s.AssetContent(motion.ID)

	// The whole library lists the hidden motion part: it goes beside the
	// still, under the still's stem, not at a layout path of its own.
	dir := t.TempDir()
	res := mustExport(t, c, dir, ExportOptions{Layout: "{{.Year}}/{{.Name}}"})
	year := still.FileCreatedAt.UTC().Format("2006")
	got := exportFiles(t, dir)
	if res.Downloaded != 3 || len(got) != 3 || !bytes.Equal(got[year+"/LIVE.mov"], motionBytes) {
		t.Fatalf("library export: %+v, folder holds %q", res, slices.Sorted(maps.Keys(got)))
	}

	// An album holds the still only: the motion part is asked for by id,
	// once; a re-run asks nothing more.
	adir := t.TempDir()
	opts := ExportOptions{Albums: []string{"Trip"}, Layout: "{{.Album}}/{{.Name}}"}
	reqs := requestsDuring(s, func() { res = mustExport(t, c, adir, opts) })
	got = exportFiles(t, adir)
	if res.Downloaded != 3 || !bytes.Equal(got["Trip/LIVE.mov"], motionBytes) || reqs["getAssetInfo"] != 1 {
		t.Fatalf("album export: %+v, %v, folder holds %q", res, reqs, slices.Sorted(maps.Keys(got)))
	}
	reqs = requestsDuring(s, func() { res = mustExport(t, c, adir, opts) })
	if res.Unchanged != 3 || reqs["getAssetInfo"] != 0 || reqs["downloadAsset"] != 0 {
		t.Fatalf("album re-run: %+v, %v", res, reqs)
	}
}

func TestExportFilesInTheWay(t *testing.T) {
	s, c := newFake(t)
	dir := t.TempDir()
	addAssets(s, "IMG", 2)
	mustExport(t, c, dir, ExportOptions{Layout: "{{.Name}}"})

	// The state is lost: the files with the server's bytes are adopted,
	// none is fetched again or copied twice.
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(exportStatePath))); err != nil {
		t.Fatal(err)
	}
	var res *ExportResult
	reqs := requestsDuring(s, func() { res = mustExport(t, c, dir, ExportOptions{Layout: "{{.Name}}"}) })
	if res.Unchanged != 2 || reqs["downloadAsset"] != 0 || len(exportFiles(t, dir)) != 2 {
		t.Fatalf("without state: %+v, %v", res, reqs)
	}

	// A file of the user's where a new asset goes is never touched.
	mine := []byte("my own file")
	os.WriteFile(filepath.Join(dir, "NEW-0.jpg"), mine, 0o644)
	n := addAssets(s, "NEW", 1)[0]
	res = mustExport(t, c, dir, ExportOptions{Layout: "{{.Name}}"})
	files := exportFiles(t, dir)
	want, _ := s.AssetContent(n)
	if res.Downloaded != 1 || !bytes.Equal(files["NEW-0.jpg"], mine) || !bytes.Equal(files["NEW-0~"+n.String()[:8]+".jpg"], want) {
		t.Fatalf("new asset where a file of the user's is: %+v, folder holds %q", res, slices.Sorted(maps.Keys(files)))
	}
}

func TestExportSwappedAlbumNamesMoveThroughACycle(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	dir := t.TempDir()
	a := s.AddAsset("IMG.jpg", []byte("\xff\xd8\xff a"))
	b := s.AddAsset("IMG.jpg", []byte("\xff\xd8\xff b"))
	x := createAlbum(t, c, "X", []uuid.UUID{a.ID})
	y := createAlbum(t, c, "Y", []uuid.UUID{b.ID})
	opts := ExportOptions{Albums: []string{x.String(), y.String()}, Layout: "{{.Album}}/{{.Name}}"}
	mustExport(t, c, dir, opts)
	for _, r := range []struct {
		id   uuid.UUID
		name string
	}{{x, "tmp"}, {y, "X"}, {x, "Y"}} {
		if _, err := c.UpdateAlbumInfoWithResponse(ctx, r.id, api.UpdateAlbumDto{AlbumName: Ptr(r.name)}); err != nil {
			t.Fatal(err)
		}
	}
	var res *ExportResult
	reqs := requestsDuring(s, func() { res = mustExport(t, c, dir, opts) })
	files := exportFiles(t, dir)
	wantA, _ := s.AssetContent(a.ID)
	wantB, _ := s.AssetContent(b.ID)
	if res.Moved != 2 || reqs["downloadAsset"] != 0 || len(files) != 2 || !bytes.Equal(files["Y/IMG.jpg"], wantA) || !bytes.Equal(files["X/IMG.jpg"], wantB) {
		t.Fatalf("swapped album names: %+v, %v, folder holds %q", res, reqs, slices.Sorted(maps.Keys(files)))
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, exportMetaDir, "staging")); len(ents) != 0 {
		t.Fatalf("left in staging: %v", ents)
	}
}
