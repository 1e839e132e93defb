package immichtest

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/hex"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// specFile returns the path of an Immich release's spec in $IMMICH_SPEC_DIR;
// the test is skipped only when the variable is unset (CI sets it).
func specFile(t *testing.T, version string) string {
	t.Helper()
	dir := os.Getenv("IMMICH_SPEC_DIR")
	if dir == "" {
		t.Skip("IMMICH_SPEC_DIR is not set")
	}
	p := filepath.Join(dir, "immich-openapi-specs-"+version+".json")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("IMMICH_SPEC_DIR is set but: %v", err)
	}
	return p
}

func TestSpec2x(t *testing.T) {
	s := start(t, WithSpecFile(specFile(t, "2.3.1")))
	if s.SpecVersion() != "2.3.1" {
		t.Fatalf("spec %s", s.SpecVersion())
	}
	content := []byte("a 2.x photo")
	r := do(t, s, "POST", "/assets", form("a.jpg", content, dates...))
	if r.status != 400 || !contains(r.errBody(t).Message, "deviceAssetId") {
		t.Fatalf("2.x upload without deviceAssetId: %d %s", r.status, r.body)
	}
	if f := s.ValidationFailures(); len(f) != 1 || f[0].OperationID != "uploadAsset" {
		t.Fatalf("failures %+v", f)
	}
	fields := append(append([]string{}, dates...), "deviceAssetId", "a.jpg-11", "deviceId", "goimmich",
		"metadata", `[{"key":"mobile-app","value":{"iCloudId":"x"}}]`, "fileSize", "11")
	r = do(t, s, "POST", "/assets", form("a.jpg", content, fields...))
	var out struct{ ID, Status string }
	r.json(t, &out)
	if r.status != 201 || out.Status != "created" {
		t.Fatalf("2.x upload with deviceAssetId: %d %s", r.status, r.body)
	}
	var meta []struct {
		Key   string
		Value map[string]string
	}
	do(t, s, "GET", "/assets/"+out.ID+"/metadata", nil).json(t, &meta)
	if len(meta) != 1 || meta[0].Key != "mobile-app" || meta[0].Value["iCloudId"] != "x" {
		t.Fatalf("metadata %+v", meta)
	}
	// 2.3.1's spec requires "metadata", but Immich's DTO marks it optional
	// and the official 2.x CLI never sends it: the fake must accept that.
	r = do(t, s, "POST", "/assets", form("b.jpg", []byte("no metadata"), append(append([]string{}, dates...),
		"deviceAssetId", "b.jpg-11", "deviceId", "goimmich")...))
	if r.status != 201 {
		t.Fatalf("2.x upload without metadata: %d %s", r.status, r.body)
	}
	var ex struct{ ExistingIds []string }
	do(t, s, "POST", "/assets/exist", map[string]any{"deviceId": "goimmich", "deviceAssetIds": []string{"a.jpg-11", "b.jpg-3"}}).json(t, &ex)
	if !slices.Equal(ex.ExistingIds, []string{"a.jpg-11"}) {
		t.Fatalf("existing %v", ex.ExistingIds)
	}
	var a map[string]any
	do(t, s, "GET", "/assets/"+out.ID, nil).json(t, &a)
	if a["deviceAssetId"] != "a.jpg-11" || a["deviceId"] != "goimmich" || a["duration"] != "0:00:00.00000" {
		t.Fatalf("2.x asset %v", a)
	}
	var al struct {
		ID     string
		Assets []struct{ ID string }
	}
	do(t, s, "POST", "/albums", map[string]any{"albumName": "x", "assetIds": []string{out.ID}}).json(t, &al)
	do(t, s, "GET", "/albums/"+al.ID, nil).json(t, &al)
	if len(al.Assets) != 1 || al.Assets[0].ID != out.ID {
		t.Fatalf("2.x album %+v", al)
	}

	// PUT /assets/{id}/original exists in 2.x: the asset keeps its id and
	// takes the new content; the old content goes to a trashed copy.
	newContent := []byte("edited 2.x photo")
	r = do(t, s, "PUT", "/assets/"+out.ID+"/original", form("a.jpg", newContent, dates[0], dates[1], dates[2], dates[3], "deviceAssetId", "a.jpg-16", "deviceId", "goimmich"))
	var rep struct{ ID, Status string }
	r.json(t, &rep)
	if r.status != 200 || rep.Status != "replaced" || rep.ID == out.ID {
		t.Fatalf("replace: %d %s", r.status, r.body)
	}
	now, _ := s.Asset(uuid.MustParse(out.ID))
	old, _ := s.Asset(uuid.MustParse(rep.ID))
	if !bytes.Equal(now.Checksum, sha(newContent)) || !bytes.Equal(old.Checksum, sha(content)) || !old.IsTrashed || now.IsTrashed {
		t.Fatalf("after replace: %+v / %+v", now, old)
	}
	// Replacing with content another asset has is a duplicate.
	other := s.AddAsset("other.jpg", []byte("other content"))
	r = do(t, s, "PUT", "/assets/"+out.ID+"/original", form("a.jpg", []byte("other content"), dates[0], dates[1], dates[2], dates[3], "deviceAssetId", "x", "deviceId", "goimmich"))
	r.json(t, &rep)
	if r.status != 200 || rep.Status != "duplicate" || rep.ID != other.ID.String() {
		t.Fatalf("replace with a duplicate: %d %s", r.status, r.body)
	}
	if a, _ := s.Asset(uuid.MustParse(out.ID)); !bytes.Equal(a.Checksum, sha(newContent)) {
		t.Fatal("asset changed by a refused replace")
	}
	if len(s.ValidationFailures()) != 1 {
		t.Fatalf("failures %+v", s.ValidationFailures())
	}
}

func TestReplaceAbsentIn3x(t *testing.T) {
	s := start(t)
	a := s.AddAsset("a.jpg", []byte("a"))
	r := do(t, s, "PUT", "/assets/"+a.ID.String()+"/original", form("a.jpg", []byte("b"), dates...))
	if r.status != 404 && r.status != 405 {
		t.Fatalf("3.0.3 has no replaceAsset, got %d %s", r.status, r.body)
	}
}

func TestLogin(t *testing.T) {
	s := start(t)
	r := do(t, s, "POST", "/auth/login", map[string]string{"email": DefaultEmail, "password": "nope"}, "x-api-key", "")
	if r.status != 401 || r.errBody(t).Message != "Incorrect email or password" {
		t.Fatalf("bad password: %d %s", r.status, r.body)
	}
	var lr struct{ AccessToken, UserID string }
	r = do(t, s, "POST", "/auth/login", map[string]string{"email": DefaultEmail, "password": DefaultPassword}, "x-api-key", "")
	r.json(t, &lr)
	if r.status != 201 || lr.AccessToken == "" || lr.UserID != s.DefaultUserID().String() {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/users/me", nil, "x-api-key", "", "Authorization", "Bearer "+lr.AccessToken); r.status != 200 {
		t.Fatalf("bearer: %d %s", r.status, r.body)
	}
	r = do(t, s, "GET", "/users/me", nil, "x-api-key", "", "Authorization", "Bearer nope")
	if r.status != 401 || r.errBody(t).Message != "Invalid user token" {
		t.Fatalf("bad bearer: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/api-keys/me", nil, "x-api-key", "", "Authorization", "Bearer "+lr.AccessToken); r.status != 403 {
		t.Fatalf("api-keys/me without a key: %d %s", r.status, r.body)
	}
}

func TestThumbnailAndPlayback(t *testing.T) {
	s := start(t)
	img := s.AddAsset("IMG_1.jpg", []byte("not really a jpeg"))
	vid := s.AddAsset("clip.mp4", []byte("0123456789"))
	for _, tc := range []struct {
		size string
		w, h int
	}{{"", 250, 250}, {"thumbnail", 250, 250}, {"preview", 1440, 1440}} {
		path := "/assets/" + img.ID.String() + "/thumbnail"
		if tc.size != "" {
			path += "?size=" + tc.size
		}
		r := do(t, s, "GET", path, nil)
		if r.status != 200 || r.header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("%s: %d %v", path, r.status, r.header)
		}
		if want := "inline; filename*=UTF-8''IMG_1_" + cmp.Or(tc.size, "thumbnail") + ".jpg"; r.header.Get("Content-Disposition") != want {
			t.Fatalf("%s: Content-Disposition %q", path, r.header.Get("Content-Disposition"))
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(r.body))
		if err != nil || cfg.Width != tc.w || cfg.Height != tc.h {
			t.Fatalf("%s: %v %+v", path, err, cfg)
		}
	}
	// A real image is scaled down from its own pixels, short side 250 for
	// the thumbnail, never enlarged for the preview.
	src := image.NewRGBA(image.Rect(0, 0, 600, 400))
	draw.Draw(src, src.Bounds(), &image.Uniform{color.RGBA{R: 200, A: 255}}, image.Point{}, draw.Src)
	var pngData bytes.Buffer
	png.Encode(&pngData, src)
	photo := s.AddAsset("real.png", pngData.Bytes())
	for _, tc := range []struct {
		size string
		w, h int
	}{{"thumbnail", 375, 250}, {"preview", 600, 400}} {
		r := do(t, s, "GET", "/assets/"+photo.ID.String()+"/thumbnail?size="+tc.size, nil)
		got, err := jpeg.Decode(bytes.NewReader(r.body))
		if err != nil || got.Bounds().Dx() != tc.w || got.Bounds().Dy() != tc.h {
			t.Fatalf("%s of a 600x400 PNG: %v %v", tc.size, err, got.Bounds())
		}
		if r, g, b, _ := got.At(tc.w/2, tc.h/2).RGBA(); r>>8 < 150 || g>>8 > 60 || b>>8 > 60 {
			t.Fatalf("%s is not the original's red: %d %d %d", tc.size, r>>8, g>>8, b>>8)
		}
	}
	if r := do(t, s, "GET", "/assets/"+photo.ID.String()+"/thumbnail?size=original", nil); r.status != 400 || r.errBody(t).Message != "May not request original file" {
		t.Fatalf("size=original: %d %s", r.status, r.body)
	}
	r := do(t, s, "GET", "/assets/"+vid.ID.String()+"/video/playback", nil, "Range", "bytes=3-")
	if r.status != 206 || string(r.body) != "3456789" || r.header.Get("Content-Type") != "video/mp4" || r.header.Get("Content-Disposition") != "" {
		t.Fatalf("playback range: %d %v %q", r.status, r.header, r.body)
	}
	r = do(t, s, "GET", "/assets/"+img.ID.String()+"/video/playback", nil)
	if r.status != 400 || r.errBody(t).Message != "Asset is not a video" {
		t.Fatalf("playback of an image: %d %s", r.status, r.body)
	}
}

func TestTrashAndStatistics(t *testing.T) {
	s := start(t)
	a := s.AddAsset("a.jpg", []byte("a"))
	b := s.AddAsset("b.jpg", []byte("b"))
	v := s.AddAsset("v.mp4", []byte("v"))
	stats := func(q string) (out struct{ Images, Videos, Total int }) {
		do(t, s, "GET", "/assets/statistics"+q, nil).json(t, &out)
		return out
	}
	if st := stats(""); st.Images != 2 || st.Videos != 1 || st.Total != 3 {
		t.Fatalf("statistics %+v", st)
	}
	do(t, s, "DELETE", "/assets", map[string]any{"ids": []uuid.UUID{a.ID, b.ID, v.ID}})
	if st := stats("?isTrashed=true"); st.Total != 3 {
		t.Fatalf("trashed statistics %+v", st)
	}
	var n struct{ Count int }
	do(t, s, "POST", "/trash/restore/assets", map[string]any{"ids": []uuid.UUID{a.ID}}).json(t, &n)
	if n.Count != 1 {
		t.Fatalf("restore assets count %d", n.Count)
	}
	if got, _ := s.Asset(a.ID); got.IsTrashed {
		t.Fatal("a still trashed")
	}
	if r := do(t, s, "POST", "/trash/restore/assets", map[string]any{"ids": []uuid.UUID{uuid.New()}}); r.status != 400 {
		t.Fatalf("restore of an unknown asset: %d", r.status)
	}
	do(t, s, "POST", "/trash/empty", nil).json(t, &n)
	if n.Count != 2 {
		t.Fatalf("empty count %d", n.Count)
	}
	if got := s.Assets(); len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("after empty %+v", got)
	}
	do(t, s, "DELETE", "/assets", map[string]any{"ids": []uuid.UUID{a.ID}})
	do(t, s, "POST", "/trash/restore", nil).json(t, &n)
	if got, _ := s.Asset(a.ID); n.Count != 1 || got.IsTrashed {
		t.Fatalf("restore all: %d %+v", n.Count, got)
	}
}

func TestDownloadInfoAndArchive(t *testing.T) {
	s := start(t)
	a := s.AddAsset("x.jpg", bytes.Repeat([]byte("a"), 10))
	b := s.AddAsset("y.jpg", bytes.Repeat([]byte("b"), 20))
	c := s.AddAsset("x.jpg", bytes.Repeat([]byte("c"), 30))
	ids := []uuid.UUID{a.ID, b.ID, c.ID}
	var info struct {
		TotalSize int64
		Archives  []struct {
			Size     int64
			AssetIDs []uuid.UUID
		}
	}
	r := do(t, s, "POST", "/download/info", map[string]any{"assetIds": ids, "archiveSize": 25})
	r.json(t, &info)
	if r.status != 201 || info.TotalSize != 60 || len(info.Archives) != 2 ||
		!slices.Equal(info.Archives[0].AssetIDs, ids[:2]) || info.Archives[0].Size != 30 ||
		!slices.Equal(info.Archives[1].AssetIDs, ids[2:]) || info.Archives[1].Size != 30 {
		t.Fatalf("info: %d %s", r.status, r.body)
	}
	r = do(t, s, "POST", "/download/archive", map[string]any{"assetIds": ids})
	if r.status != 200 {
		t.Fatalf("archive: %d %s", r.status, r.body)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"x.jpg": "a", "y.jpg": "b", "x+1.jpg": "c"}
	if len(zr.File) != 3 {
		t.Fatalf("%d files", len(zr.File))
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		if len(data) == 0 || string(data[:1]) != want[f.Name] {
			t.Fatalf("zip entry %s: %q", f.Name, data)
		}
	}
}

func TestSharedLinks(t *testing.T) {
	s := start(t)
	a := s.AddAsset("a.jpg", []byte("shared"))
	b := s.AddAsset("b.jpg", []byte("private"))
	var link struct{ ID, Key string }
	r := do(t, s, "POST", "/shared-links", map[string]any{"type": "INDIVIDUAL", "assetIds": []uuid.UUID{a.ID}, "slug": "my-trip"})
	r.json(t, &link)
	if r.status != 201 || link.Key == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r = do(t, s, "POST", "/shared-links", map[string]any{"type": "INDIVIDUAL", "assetIds": []uuid.UUID{b.ID}, "slug": "my-trip"})
	if r.status != 400 || r.errBody(t).Message != "Failed to save shared link" {
		t.Fatalf("same slug again: %d %s", r.status, r.body)
	}
	r = do(t, s, "POST", "/shared-links", map[string]any{"type": "ALBUM"})
	if r.status != 400 || r.errBody(t).Message != "Invalid albumId" {
		t.Fatalf("album link without album: %d %s", r.status, r.body)
	}
	noKey := []string{"x-api-key", ""}
	if r := do(t, s, "GET", "/assets/"+a.ID.String()+"/original?key="+link.Key, nil, noKey...); r.status != 200 || string(r.body) != "shared" {
		t.Fatalf("by key: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/assets/"+a.ID.String()+"?slug=my-trip", nil, noKey...); r.status != 200 {
		t.Fatalf("by slug: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/assets/"+b.ID.String()+"/original?key="+link.Key, nil, noKey...); r.status != 400 {
		t.Fatalf("unshared asset by key: %d %s", r.status, r.body)
	}
	r = do(t, s, "GET", "/assets/"+a.ID.String()+"/original?key=nope", nil, noKey...)
	if r.status != 401 || r.errBody(t).Message != "Invalid share key" {
		t.Fatalf("bad key: %d %s", r.status, r.body)
	}
	// A link that forbids downloads still shows the asset.
	var noDl struct{ Key string }
	do(t, s, "POST", "/shared-links", map[string]any{"type": "INDIVIDUAL", "assetIds": []uuid.UUID{a.ID}, "allowDownload": false}).json(t, &noDl)
	if r := do(t, s, "GET", "/assets/"+a.ID.String()+"/original?key="+noDl.Key, nil, noKey...); r.status != 400 {
		t.Fatalf("download through a no-download link: %d", r.status)
	}
	if r := do(t, s, "GET", "/assets/"+a.ID.String()+"/thumbnail?key="+noDl.Key, nil, noKey...); r.status != 200 {
		t.Fatalf("thumbnail through a no-download link: %d", r.status)
	}
	// Album links reach the album and its assets; share-link auth is not
	// accepted where the spec has no key parameter.
	var al struct{ ID string }
	do(t, s, "POST", "/albums", map[string]any{"albumName": "shared", "assetIds": []uuid.UUID{b.ID}}).json(t, &al)
	var alink struct{ Key string }
	do(t, s, "POST", "/shared-links", map[string]any{"type": "ALBUM", "albumId": al.ID}).json(t, &alink)
	if r := do(t, s, "GET", "/albums/"+al.ID+"?key="+alink.Key, nil, noKey...); r.status != 200 {
		t.Fatalf("album by key: %d %s", r.status, r.body)
	}
	if r := do(t, s, "GET", "/assets/"+b.ID.String()+"/original?key="+alink.Key, nil, noKey...); r.status != 200 || string(r.body) != "private" {
		t.Fatalf("album asset by key: %d %s", r.status, r.body)
	}
	var found struct {
		Assets struct{ Items []struct{ ID string } }
	}
	// searchAssets takes a key from Immich 3.0.3 on (not in 3.0.1, which the
	// embedded spec is when regenerated for it).
	searchByKey := s.spec.Paths.Find("/search/metadata").Post.Parameters.GetByInAndName("query", "key") != nil
	r = do(t, s, "POST", "/search/metadata?key="+alink.Key, map[string]any{"albumIds": []string{al.ID}}, noKey...)
	if !searchByKey {
		if r.status != 403 {
			t.Fatalf("search through an album link, whose spec takes no key: %d %s", r.status, r.body)
		}
	} else {
		r.json(t, &found)
		if r.status != 200 || len(found.Assets.Items) != 1 || found.Assets.Items[0].ID != b.ID.String() {
			t.Fatalf("search through an album link: %d %s", r.status, r.body)
		}
		if r := do(t, s, "POST", "/search/metadata?key="+alink.Key, map[string]any{}, noKey...); r.status != 400 {
			t.Fatalf("search through a link without albumIds: %d %s", r.status, r.body)
		}
	}
	if r := do(t, s, "GET", "/users/me?key="+alink.Key, nil, noKey...); r.status != 403 || r.errBody(t).Message != "Forbidden" {
		t.Fatalf("users/me by key: %d %s", r.status, r.body)
	}
	// The key may come in the x-immich-share-key header too.
	if r := do(t, s, "GET", "/albums/"+al.ID, nil, "x-api-key", "", "x-immich-share-key", alink.Key); r.status != 200 {
		t.Fatalf("album by share-key header: %d %s", r.status, r.body)
	}
	// Uploads need allowUpload (401 otherwise, as Immich's
	// requireUploadAccess); what is uploaded lands in the link's album.
	var nolink struct{ Key string }
	do(t, s, "POST", "/shared-links", map[string]any{"type": "ALBUM", "albumId": al.ID, "allowUpload": false}).json(t, &nolink)
	r = do(t, s, "POST", "/assets?key="+nolink.Key, form("up.jpg", []byte("by link"), dates...), noKey...)
	if r.status != 401 {
		t.Fatalf("upload through a link without allowUpload: %d %s", r.status, r.body)
	}
	var ulink struct{ Key string }
	do(t, s, "POST", "/shared-links", map[string]any{"type": "ALBUM", "albumId": al.ID}).json(t, &ulink)
	r = do(t, s, "POST", "/assets?key="+ulink.Key, form("up.jpg", []byte("by link"), dates...), noKey...)
	var up struct{ ID string }
	r.json(t, &up)
	if albums := s.Albums(); r.status != 201 || len(albums) != 1 || !slices.Contains(albums[0].AssetIDs, uuid.MustParse(up.ID)) {
		t.Fatalf("upload through an upload link: %d %s, albums %+v", r.status, r.body, albums)
	}
	// Expired links are refused.
	var old struct{ Key string }
	do(t, s, "POST", "/shared-links", map[string]any{"type": "ALBUM", "albumId": al.ID, "expiresAt": "2020-01-01T00:00:00.000Z"}).json(t, &old)
	if r := do(t, s, "GET", "/albums/"+al.ID+"?key="+old.Key, nil, noKey...); r.status != 401 {
		t.Fatalf("expired link: %d", r.status)
	}
	var me struct{ Key string }
	do(t, s, "GET", "/shared-links/me?key="+alink.Key, nil, noKey...).json(t, &me)
	if me.Key != alink.Key {
		t.Fatalf("shared-links/me %+v", me)
	}
	if len(s.ValidationFailures()) != 0 {
		t.Fatalf("failures %+v", s.ValidationFailures())
	}
}

func TestDataDir(t *testing.T) {
	dir := t.TempDir()
	s := start(t, WithDataDir(dir))
	content := bytes.Repeat([]byte("disk"), 1<<16)
	id, _, _ := uploadFile(t, s, "big.jpg", content)
	onDisk, err := os.ReadFile(filepath.Join(dir, id[0:2], id[2:4], id+".jpg"))
	if err != nil || !bytes.Equal(onDisk, content) {
		t.Fatalf("file in data dir: %v (%d bytes)", err, len(onDisk))
	}
	if got, _ := s.AssetContent(uuid.MustParse(id)); !bytes.Equal(got, content) {
		t.Fatal("AssetContent differs")
	}
	if r := do(t, s, "GET", "/assets/"+id+"/original", nil, "Range", "bytes=4-7"); string(r.body) != "disk" {
		t.Fatalf("range from disk: %d %q", r.status, r.body)
	}
	// A rejected upload leaves no file behind.
	do(t, s, "POST", "/assets", form("notes.txt", content, dates...))
	do(t, s, "DELETE", "/assets", map[string]any{"ids": []string{id}, "force": true})
	var left []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return err
	})
	if err != nil || len(left) != 0 {
		t.Fatalf("files left: %v (%v)", left, err)
	}
}

func TestConcurrentUploads(t *testing.T) {
	s := start(t)
	var wg sync.WaitGroup
	ids := make([]string, 16)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Pairs of goroutines send the same content.
			content := []byte{byte(i / 2)}
			r := do(t, s, "POST", "/assets", form("p.jpg", content, dates...))
			var out struct{ ID string }
			r.json(t, &out)
			ids[i] = out.ID
		}()
	}
	wg.Wait()
	if n := len(s.Assets()); n != 8 {
		t.Fatalf("%d assets stored, want 8", n)
	}
	for i := 0; i < len(ids); i += 2 {
		if ids[i] != ids[i+1] || ids[i] == "" {
			t.Fatalf("same content, ids %s and %s", ids[i], ids[i+1])
		}
	}
}

func TestUnknownMultipartFieldsAndOrder(t *testing.T) {
	s := start(t)
	// The official CLI sends fileSize (absent from 3.0.3) and may send
	// fields after the file.
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("assetData", "late.png")
	fw.Write([]byte("png"))
	w.WriteField("fileSize", "3")
	w.WriteField("deviceAssetId", "late.png-3")
	for i := 0; i < len(dates); i += 2 {
		w.WriteField(dates[i], dates[i+1])
	}
	w.Close()
	req, _ := http.NewRequest("POST", s.URL()+"/assets", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("x-api-key", s.APIKey())
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 || len(s.Assets()) != 1 || s.Assets()[0].OriginalFileName != "late.png" {
		t.Fatalf("%d %+v", res.StatusCode, s.Assets())
	}
	if len(s.ValidationFailures()) != 0 {
		t.Fatalf("failures %+v", s.ValidationFailures())
	}
	_ = hex.EncodeToString
}

func TestArchiveNamesSanitized(t *testing.T) {
	s := start(t)
	var ids []uuid.UUID
	for i, name := range []string{"../../etc/passwd.jpg", `a:b*c?.jpg`, "..", "CON.jpg", "trailing. .", "x.jpg", "x.jpg"} {
		ids = append(ids, s.AddAsset(name, []byte{byte(i)}).ID)
	}
	r := do(t, s, "POST", "/download/archive", map[string]any{"assetIds": ids})
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatalf("%d: %v", r.status, err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	want := []string{"....etcpasswd.jpg", "abc.jpg", "unnamed", "unnamed+1", "trailing", "x.jpg", "x+1.jpg"}
	if !slices.Equal(names, want) {
		t.Fatalf("names %q, want %q", names, want)
	}
}

func TestUpdateAssets(t *testing.T) {
	s := start(t)
	a := s.AddAsset("a.jpg", []byte("a"))
	b := s.AddAsset("b.jpg", []byte("b"))
	if r := do(t, s, "PUT", "/assets", map[string]any{"ids": []uuid.UUID{a.ID, b.ID}, "isFavorite": true, "visibility": "archive"}); r.status != 204 {
		t.Fatalf("bulk update: %d %s", r.status, r.body)
	}
	for _, x := range s.Assets() {
		if !x.IsFavorite || x.Visibility != "archive" {
			t.Fatalf("after bulk update %+v", x)
		}
	}
	var got map[string]any
	r := do(t, s, "PUT", "/assets/"+a.ID.String(), map[string]any{"description": "beach", "isFavorite": false})
	r.json(t, &got)
	if exif, _ := got["exifInfo"].(map[string]any); r.status != 200 || got["isFavorite"] != false || got["isArchived"] != true || exif["description"] != "beach" {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if r := do(t, s, "PUT", "/assets", map[string]any{"ids": []uuid.UUID{uuid.New()}, "isFavorite": true}); r.status != 400 {
		t.Fatalf("update of an unknown asset: %d", r.status)
	}
	if r := do(t, s, "PUT", "/assets", map[string]any{"ids": []uuid.UUID{a.ID}, "visibility": "nope"}); r.status != 400 {
		t.Fatalf("invalid visibility: %d", r.status)
	}
}

// TestStatisticsDefaultVisibility: without a visibility Immich counts the
// timeline and the archive, not hidden or locked assets.
func TestStatisticsDefaultVisibility(t *testing.T) {
	s := start(t)
	for _, vis := range []string{"timeline", "archive", "hidden", "locked"} {
		uploadFile(t, s, vis+".jpg", []byte(vis), "visibility", vis)
	}
	for q, want := range map[string]int{"": 2, "?visibility=hidden": 1, "?visibility=archive": 1} {
		var st struct{ Total int }
		do(t, s, "GET", "/assets/statistics"+q, nil).json(t, &st)
		if st.Total != want {
			t.Errorf("statistics%s: %d, want %d", q, st.Total, want)
		}
	}
}

// TestAlbumListFilters: GET /albums lists the caller's albums newest first;
// assetId overrides the other filters; an album with a share link is
// shared; 3.x matches id and name exactly.
func TestAlbumListFilters(t *testing.T) {
	s := start(t)
	a := s.AddAsset("a.jpg", []byte("a"))
	var first, second struct{ ID string }
	do(t, s, "POST", "/albums", map[string]any{"albumName": "first", "assetIds": []uuid.UUID{a.ID}}).json(t, &first)
	do(t, s, "POST", "/albums", map[string]any{"albumName": "second"}).json(t, &second)
	if r := do(t, s, "POST", "/shared-links", map[string]any{"type": "ALBUM", "albumId": second.ID}); r.status != 201 {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	list := func(q string) []string {
		t.Helper()
		var out []struct{ AlbumName string }
		r := do(t, s, "GET", "/albums"+q, nil)
		if r.status != 200 {
			t.Fatalf("albums%s: %d %s", q, r.status, r.body)
		}
		r.json(t, &out)
		var names []string
		for _, al := range out {
			names = append(names, al.AlbumName)
		}
		return names
	}
	for q, want := range map[string][]string{
		"":                 {"second", "first"},
		"?isShared=true":   {"second"},
		"?isShared=false":  {"first"},
		"?isOwned=false":   nil,
		"?name=first":      {"first"},
		"?name=firs":       nil,
		"?id=" + second.ID: {"second"},
		"?assetId=" + a.ID.String() + "&isShared=true": {"first"},
	} {
		if got := list(q); !slices.Equal(got, want) {
			t.Errorf("albums%s = %q, want %q", q, got, want)
		}
	}
	var upd struct {
		IsActivityEnabled bool
		Order             string
	}
	do(t, s, "PATCH", "/albums/"+first.ID, map[string]any{"isActivityEnabled": false, "order": "asc"}).json(t, &upd)
	if upd.IsActivityEnabled || upd.Order != "asc" {
		t.Fatalf("update %+v", upd)
	}
	b := s.AddAsset("b.jpg", []byte("b"))
	do(t, s, "PUT", "/albums/"+first.ID+"/assets", map[string]any{"ids": []uuid.UUID{b.ID}})
	var thumb struct{ AlbumThumbnailAssetID string }
	do(t, s, "PATCH", "/albums/"+first.ID, map[string]any{"albumThumbnailAssetId": b.ID}).json(t, &thumb)
	if thumb.AlbumThumbnailAssetID != b.ID.String() {
		t.Fatalf("thumbnail %q, want %s", thumb.AlbumThumbnailAssetID, b.ID)
	}
	if r := do(t, s, "PATCH", "/albums/"+second.ID, map[string]any{"albumThumbnailAssetId": b.ID}); r.status != 400 || r.errBody(t).Message != "Invalid album thumbnail" {
		t.Fatalf("thumbnail outside the album: %d %s", r.status, r.body)
	}
	var links []struct{ ID string }
	do(t, s, "GET", "/shared-links?albumId="+first.ID, nil).json(t, &links)
	if len(links) != 0 {
		t.Fatalf("links of an album without any: %+v", links)
	}
	do(t, s, "GET", "/shared-links?albumId="+second.ID, nil).json(t, &links)
	if len(links) != 1 {
		t.Fatalf("links of the shared album: %+v", links)
	}
}

// TestAlbumListShared2x: 2.x's shared filter.
func TestAlbumListShared2x(t *testing.T) {
	s := start(t, WithSpecFile(specFile(t, "2.7.3")))
	var al struct{ ID string }
	do(t, s, "POST", "/albums", map[string]any{"albumName": "linked"}).json(t, &al)
	do(t, s, "POST", "/albums", map[string]any{"albumName": "alone"})
	do(t, s, "POST", "/shared-links", map[string]any{"type": "ALBUM", "albumId": al.ID})
	for q, want := range map[string]string{"?shared=true": "linked", "?shared=false": "alone"} {
		var out []struct{ AlbumName string }
		do(t, s, "GET", "/albums"+q, nil).json(t, &out)
		if len(out) != 1 || out[0].AlbumName != want {
			t.Errorf("albums%s = %+v, want %s", q, out, want)
		}
	}
}

// TestLockedAssets: a locked asset leaves its albums and is out of reach
// without an elevated (PIN) session, which the fake never has.
func TestLockedAssets(t *testing.T) {
	s := start(t)
	id, _, _ := uploadFile(t, s, "a.jpg", []byte("a"))
	var al struct{ ID string }
	do(t, s, "POST", "/albums", map[string]any{"albumName": "x", "assetIds": []string{id}}).json(t, &al)
	if r := do(t, s, "PUT", "/assets", map[string]any{"ids": []string{id}, "visibility": "locked"}); r.status != 204 {
		t.Fatalf("lock: %d %s", r.status, r.body)
	}
	if got := s.Albums(); len(got) != 1 || len(got[0].AssetIDs) != 0 {
		t.Fatalf("locked asset still in its album: %+v", got)
	}
	for _, tc := range []struct{ method, path, perm string }{
		{"GET", "/assets/" + id, "asset.read"},
		{"GET", "/assets/" + id + "/original", "asset.download"},
		{"PUT", "/assets/" + id, "asset.update"},
	} {
		var body any
		if tc.method == "PUT" {
			body = map[string]any{"visibility": "timeline"}
		}
		r := do(t, s, tc.method, tc.path, body)
		if r.status != 400 || r.errBody(t).Message != noAccess(tc.perm) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.status, r.body)
		}
	}
	if a, _ := s.Asset(uuid.MustParse(id)); a.Visibility != "locked" {
		t.Fatalf("visibility %q", a.Visibility)
	}
}
