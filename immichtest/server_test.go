package immichtest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestServerInfo(t *testing.T) {
	s := start(t)
	var ping struct{ Res string }
	if r := do(t, s, "GET", "/server/ping", nil, "x-api-key", ""); r.status != 200 {
		t.Fatalf("ping: %d %s", r.status, r.body)
	} else {
		r.json(t, &ping)
	}
	if ping.Res != "pong" {
		t.Fatalf("ping = %q", ping.Res)
	}
	pinned, err := os.ReadFile("../openapi/IMMICH_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Major, Minor, Patch int }
	do(t, s, "GET", "/server/version", nil).json(t, &v)
	if fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) != s.SpecVersion() || s.SpecVersion() != strings.TrimSpace(string(pinned)) {
		t.Fatalf("version %+v, spec %s, pinned %s", v, s.SpecVersion(), pinned)
	}
	var about struct{ Version string }
	do(t, s, "GET", "/server/about", nil).json(t, &about)
	if about.Version != "v"+s.SpecVersion() {
		t.Fatalf("about.version = %q", about.Version)
	}
	var feat map[string]bool
	do(t, s, "GET", "/server/features", nil).json(t, &feat)
	if !feat["trash"] || !feat["passwordLogin"] {
		t.Fatalf("features %v", feat)
	}
	var cfg struct{ TrashDays int }
	do(t, s, "GET", "/server/config", nil).json(t, &cfg)
	if cfg.TrashDays != 30 {
		t.Fatalf("config %+v", cfg)
	}
	var mt struct{ Image, Video, Sidecar []string }
	do(t, s, "GET", "/server/media-types", nil, "x-api-key", "").json(t, &mt)
	for _, e := range []string{".jpg", ".jpeg", ".heic", ".cr3", ".dng", ".webp", ".insp"} {
		if !slices.Contains(mt.Image, e) {
			t.Errorf("image extensions lack %s", e)
		}
	}
	for _, e := range []string{".mp4", ".mov", ".mts", ".insv"} {
		if !slices.Contains(mt.Video, e) {
			t.Errorf("video extensions lack %s", e)
		}
	}
	if !slices.Equal(mt.Sidecar, []string{".xmp"}) || slices.Contains(mt.Image, ".xmp") || len(mt.Image) != 46 || len(mt.Video) != 17 {
		t.Errorf("media types: %d images, %d videos, sidecar %v", len(mt.Image), len(mt.Video), mt.Sidecar)
	}

	uploadFile(t, s, "a.jpg", []byte("jpeg bytes"))
	uploadFile(t, s, "b.mp4", []byte("video bytes!"))
	var st struct {
		Photos, Videos, Usage int64
		UsageByUser           []struct{ Photos, Videos, Usage int64 }
	}
	do(t, s, "GET", "/server/statistics", nil).json(t, &st)
	if st.Photos != 1 || st.Videos != 1 || st.Usage != 22 || len(st.UsageByUser) != 1 || st.UsageByUser[0].Usage != 22 {
		t.Fatalf("statistics %+v", st)
	}
}

func TestAuth(t *testing.T) {
	s := start(t)
	r := do(t, s, "GET", "/users/me", nil, "x-api-key", "")
	if r.status != 401 || r.errBody(t).Message != "Authentication required" {
		t.Fatalf("no key: %d %s", r.status, r.body)
	}
	r = do(t, s, "GET", "/users/me", nil, "x-api-key", "wrong")
	if r.status != 401 || r.errBody(t).Message != "Invalid API key" {
		t.Fatalf("wrong key: %d %s", r.status, r.body)
	}
	var me struct{ ID, Email string }
	do(t, s, "GET", "/users/me", nil).json(t, &me)
	if me.Email != DefaultEmail || me.ID != s.DefaultUserID().String() {
		t.Fatalf("users/me %+v", me)
	}
	var key struct{ Permissions []string }
	do(t, s, "GET", "/api-keys/me", nil).json(t, &key)
	if !slices.Equal(key.Permissions, []string{"all"}) {
		t.Fatalf("api-keys/me %+v", key)
	}

	limited := s.NewAPIKey("read only", "asset.read", "user.read")
	if r := do(t, s, "GET", "/users/me", nil, "x-api-key", limited); r.status != 200 {
		t.Fatalf("limited key on users/me: %d %s", r.status, r.body)
	}
	r = do(t, s, "POST", "/assets", form("a.jpg", []byte("x"), dates...), "x-api-key", limited)
	if r.status != 403 || r.errBody(t).Message != "Missing required permission: asset.upload" {
		t.Fatalf("limited key upload: %d %s", r.status, r.body)
	}
	if len(s.Assets()) != 0 {
		t.Fatal("refused upload was stored")
	}
	// The key may come as ?apiKey= too.
	if r := do(t, s, "GET", "/users/me?apiKey="+s.APIKey(), nil, "x-api-key", ""); r.status != 200 {
		t.Fatalf("apiKey query: %d %s", r.status, r.body)
	}
	// Admin-only operations refuse other users.
	_, userKey := s.AddUser("u@immich.test", "pw", "U")
	r = do(t, s, "GET", "/server/statistics", nil, "x-api-key", userKey)
	if r.status != 403 || r.errBody(t).Message != "Forbidden" {
		t.Fatalf("non-admin statistics: %d %s", r.status, r.body)
	}
}

func TestRequestValidation(t *testing.T) {
	s := start(t)
	r := do(t, s, "POST", "/assets/bulk-upload-check", map[string]any{"items": []string{}})
	if r.status != 400 {
		t.Fatalf("bulk check without assets: %d %s", r.status, r.body)
	}
	if e := r.errBody(t); !e.List || !contains(e.Message, "assets") {
		t.Fatalf("validation message %+v", e)
	}
	r = do(t, s, "GET", "/assets/not-a-uuid", nil)
	if r.status != 400 {
		t.Fatalf("bad uuid: %d %s", r.status, r.body)
	}
	r = do(t, s, "GET", "/no/such/path", nil)
	if r.status != 404 || r.errBody(t).Message != "Cannot GET /api/no/such/path" {
		t.Fatalf("unknown path: %d %s", r.status, r.body)
	}
	f := s.ValidationFailures()
	if len(f) != 3 || f[0].OperationID != "checkBulkUpload" || f[1].OperationID != "getAssetInfo" || f[2].OperationID != "" || f[0].Response {
		t.Fatalf("failures %+v", f)
	}
	if s.RequestCount("checkBulkUpload") != 1 || s.RequestCount("getAssetInfo") != 1 {
		t.Fatalf("counts %d %d", s.RequestCount("checkBulkUpload"), s.RequestCount("getAssetInfo"))
	}
}

func TestUpload(t *testing.T) {
	s := start(t)
	content := bytes.Repeat([]byte("photo"), 1000)
	id, status, code := uploadFile(t, s, "IMG_0001.JPG", content, "fileSize", "5000", "isFavorite", "true")
	if code != 201 || status != "created" {
		t.Fatalf("first upload: %d %s", code, status)
	}
	a, ok := s.Asset(uuid.MustParse(id))
	if !ok || a.OriginalFileName != "IMG_0001.JPG" || !bytes.Equal(a.Checksum, sha(content)) || a.Size != 5000 ||
		a.Type != "IMAGE" || a.ContentType != "image/jpeg" || !a.IsFavorite ||
		!a.FileCreatedAt.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) || a.OwnerID != s.DefaultUserID() {
		t.Fatalf("stored %+v", a)
	}
	if got, _ := s.AssetContent(a.ID); !bytes.Equal(got, content) {
		t.Fatal("stored content differs")
	}

	id2, status, code := uploadFile(t, s, "copy.jpg", content)
	if code != 200 || status != "duplicate" || id2 != id {
		t.Fatalf("duplicate upload: %d %s %s", code, status, id2)
	}

	// x-immich-checksum: a duplicate is answered before the body is read.
	big := form("x.jpg", bytes.Repeat([]byte{1}, 8<<20), dates...)
	for _, sum := range []string{hex.EncodeToString(sha(content)), base64.StdEncoding.EncodeToString(sha(content))} {
		before := s.BytesReceived()
		r := do(t, s, "POST", "/assets", big, "x-immich-checksum", sum)
		var out struct{ ID, Status string }
		r.json(t, &out)
		if r.status != 200 || out.Status != "duplicate" || out.ID != id {
			t.Fatalf("checksum pre-check %s: %d %s", sum, r.status, r.body)
		}
		if got := s.BytesReceived() - before; got >= 1<<20 {
			t.Fatalf("pre-checked duplicate read %d body bytes", got)
		}
	}
	if len(s.Assets()) != 1 {
		t.Fatalf("%d assets", len(s.Assets()))
	}
	if len(s.ValidationFailures()) != 0 {
		t.Fatalf("failures %+v", s.ValidationFailures())
	}

	// The filename field names the asset; a sidecar is kept.
	fid, _, _ := uploadFile(t, s, "upload.bin", []byte("heic"), "filename", "renamed.heic")
	if a, _ := s.Asset(uuid.MustParse(fid)); a.OriginalFileName != "renamed.heic" || a.ContentType != "image/heic" || a.Sidecar != nil {
		t.Fatalf("renamed upload: %+v", a)
	}
	m := &multipartBody{}
	w := multipart.NewWriter(&m.buf)
	for i := 0; i < len(dates); i += 2 {
		w.WriteField(dates[i], dates[i+1])
	}
	fw, _ := w.CreateFormFile("assetData", "with sidecar.dng")
	fw.Write([]byte("raw"))
	sw, _ := w.CreateFormFile("sidecarData", "with sidecar.dng.xmp")
	sw.Write([]byte("<xmp/>"))
	w.Close()
	m.ct = w.FormDataContentType()
	r := do(t, s, "POST", "/assets", m)
	var out struct{ ID string }
	r.json(t, &out)
	if a, _ := s.Asset(uuid.MustParse(out.ID)); r.status != 201 || string(a.Sidecar) != "<xmp/>" || a.Type != "IMAGE" {
		t.Fatalf("upload with sidecar %d: %+v", r.status, a)
	}
}

// formWithFiles builds a multipart body of fields and then file parts
// (field name, file name, content triples).
func formWithFiles(fields []string, files ...string) *multipartBody {
	m := &multipartBody{}
	w := multipart.NewWriter(&m.buf)
	for i := 0; i+1 < len(fields); i += 2 {
		w.WriteField(fields[i], fields[i+1])
	}
	for i := 0; i+2 < len(files); i += 3 {
		fw, _ := w.CreateFormFile(files[i], files[i+1])
		fw.Write([]byte(files[i+2]))
	}
	w.Close()
	m.ct = w.FormDataContentType()
	return m
}

func TestUploadRejected(t *testing.T) {
	s := start(t)
	cases := []struct {
		name, file string
		fields     []string
		status     int
		msg        string
		recorded   bool
		files      []string
	}{
		{"no dates", "a.jpg", nil, 400, "fileCreatedAt", true, nil},
		{"bad date", "a.jpg", []string{"fileCreatedAt", "yesterday", "fileModifiedAt", "2024-05-02T11:00:00.000Z"}, 400, "fileCreatedAt", true, nil},
		{"no file", "", dates, 400, "assetData", true, nil},
		{"not a media file", "notes.txt", dates, 400, "Unsupported file type notes.txt", false, nil},
		{"filename field decides the type", "a.jpg", append([]string{"filename", "a.pdf"}, dates...), 400, "Unsupported file type a.pdf", false, nil},
		{"sidecar not xmp", "", dates, 400, "Unsupported file type side.txt", false, nil},
		// As in Immich, the sidecar's type is checked by the filename field.
		{"sidecar after filename field", "", append([]string{"filename", "a.jpg"}, dates...), 400, "Unsupported file type a.jpg", false, nil},
		{"two assets", "", dates, 400, "Unexpected field", false, nil},
		{"unknown file part", "", dates, 400, "Unexpected field", false, nil},
	}
	cases[5].files = []string{"assetData", "a.jpg", "x", "sidecarData", "side.txt", "y"}
	cases[6].files = []string{"assetData", "a.jpg", "x", "sidecarData", "a.xmp", "y"}
	cases[7].files = []string{"assetData", "a.jpg", "x", "assetData", "b.jpg", "y"}
	cases[8].files = []string{"assetData", "a.jpg", "x", "thumbnail", "t.jpg", "y"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.ValidationFailures())
			body := form(tc.file, []byte("data"), tc.fields...)
			if tc.files != nil {
				body = formWithFiles(tc.fields, tc.files...)
			}
			r := do(t, s, "POST", "/assets", body)
			e := r.errBody(t)
			if r.status != tc.status || !contains(e.Message, tc.msg) {
				t.Fatalf("%d %s", r.status, r.body)
			}
			// Spec violations come as a list of messages, service
			// refusals as one message, as in Immich.
			if e.List != tc.recorded {
				t.Fatalf("message list %v: %s", e.List, r.body)
			}
			if got := len(s.ValidationFailures()) - before; (got == 1) != tc.recorded {
				t.Fatalf("recorded %d failures", got)
			}
		})
	}
	if len(s.Assets()) != 0 {
		t.Fatalf("rejected uploads stored: %+v", s.Assets())
	}
}

func TestBulkUploadCheck(t *testing.T) {
	s := start(t)
	content := []byte("some image")
	id, _, _ := uploadFile(t, s, "a.jpg", content)
	check := func() []map[string]any {
		r := do(t, s, "POST", "/assets/bulk-upload-check", map[string]any{"assets": []map[string]string{
			{"id": "hex", "checksum": hex.EncodeToString(sha(content))},
			{"id": "b64", "checksum": base64.StdEncoding.EncodeToString(sha(content))},
			{"id": "new", "checksum": hex.EncodeToString(sha([]byte("other")))},
		}})
		var out struct{ Results []map[string]any }
		r.json(t, &out)
		if r.status != 200 || len(out.Results) != 3 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return out.Results
	}
	res := check()
	for _, r := range res[:2] {
		if r["action"] != "reject" || r["reason"] != "duplicate" || r["assetId"] != id || r["isTrashed"] != false {
			t.Fatalf("duplicate result %v", r)
		}
	}
	if res[0]["id"] != "hex" || res[2]["id"] != "new" || res[2]["action"] != "accept" || res[2]["assetId"] != nil {
		t.Fatalf("results %v", res)
	}
	if r := do(t, s, "DELETE", "/assets", map[string]any{"ids": []string{id}}); r.status != 204 {
		t.Fatalf("delete %d %s", r.status, r.body)
	}
	if res := check(); res[0]["isTrashed"] != true {
		t.Fatalf("trashed duplicate %v", res[0])
	}
}

func TestGetAsset(t *testing.T) {
	s := start(t)
	content := []byte("movie data")
	id, _, _ := uploadFile(t, s, "clip.MOV", content, "duration", "1500")
	var a map[string]any
	r := do(t, s, "GET", "/assets/"+id, nil)
	r.json(t, &a)
	if r.status != 200 || a["id"] != id || a["checksum"] != base64.StdEncoding.EncodeToString(sha(content)) ||
		a["originalFileName"] != "clip.MOV" || a["type"] != "VIDEO" || a["originalMimeType"] != "video/quicktime" ||
		a["fileCreatedAt"] != "2024-05-01T10:00:00.000Z" || a["fileModifiedAt"] != "2024-05-02T11:00:00.000Z" ||
		a["isTrashed"] != false || a["ownerId"] != s.DefaultUserID().String() || a["duration"] != 1500.0 {
		t.Fatalf("%d %v", r.status, a)
	}
	if exif, _ := a["exifInfo"].(map[string]any); exif["fileSizeInByte"] != float64(len(content)) {
		t.Fatalf("exifInfo %v", a["exifInfo"])
	}
	r = do(t, s, "GET", "/assets/"+uuid.NewString(), nil)
	if r.status != 400 || r.errBody(t).Message != "Not found or no asset.read access" {
		t.Fatalf("missing asset: %d %s", r.status, r.body)
	}
	// Another user cannot see it.
	_, otherKey := s.AddUser("b@immich.test", "pw", "B")
	if r := do(t, s, "GET", "/assets/"+id, nil, "x-api-key", otherKey); r.status != 400 {
		t.Fatalf("other user's asset: %d %s", r.status, r.body)
	}
}

func TestDownloadOriginal(t *testing.T) {
	s := start(t)
	content := []byte("0123456789abcdef")
	a := s.AddAsset("Café photo.jpg", content)
	path := "/assets/" + a.ID.String() + "/original"
	r := do(t, s, "GET", path, nil)
	if r.status != 200 || !bytes.Equal(r.body, content) || r.header.Get("Content-Length") != "16" ||
		r.header.Get("Content-Type") != "image/jpeg" || r.header.Get("ETag") == "" {
		t.Fatalf("%d %v %q", r.status, r.header, r.body)
	}
	if cd := r.header.Get("Content-Disposition"); cd != "inline; filename*=UTF-8''Caf%C3%A9%20photo.jpg" {
		t.Fatalf("Content-Disposition %q", cd)
	}
	if et := r.header.Get("ETag"); et != fmt.Sprintf(`W/"10-%x"`, a.FileModifiedAt.UnixMilli()) {
		t.Fatalf("ETag %q", et)
	}
	// If-Range with the current ETag gives the range; with another, the
	// whole file.
	if r := do(t, s, "GET", path, nil, "Range", "bytes=10-", "If-Range", r.header.Get("ETag")); r.status != 206 || string(r.body) != "abcdef" {
		t.Fatalf("If-Range current: %d %q", r.status, r.body)
	}
	if r := do(t, s, "GET", path, nil, "Range", "bytes=10-", "If-Range", `W/"10-1"`); r.status != 200 || len(r.body) != 16 {
		t.Fatalf("If-Range stale: %d %q", r.status, r.body)
	}
	r2 := do(t, s, "GET", path, nil, "Range", "bytes=2-5")
	if r2.status != 206 || string(r2.body) != "2345" || r2.header.Get("Content-Range") != "bytes 2-5/16" {
		t.Fatalf("range: %d %v %q", r2.status, r2.header, r2.body)
	}
	if r3 := do(t, s, "GET", path, nil, "If-None-Match", r.header.Get("ETag")); r3.status != 304 {
		t.Fatalf("If-None-Match: %d", r3.status)
	}
	if r4 := do(t, s, "GET", path, nil, "Range", "bytes=100-"); r4.status != 416 {
		t.Fatalf("bad range: %d", r4.status)
	}
}

func TestDeleteAssets(t *testing.T) {
	s := start(t)
	a := s.AddAsset("a.jpg", []byte("a"))
	b := s.AddAsset("b.jpg", []byte("b"))
	if r := do(t, s, "DELETE", "/assets", map[string]any{"ids": []uuid.UUID{a.ID}}); r.status != 204 {
		t.Fatalf("trash: %d %s", r.status, r.body)
	}
	if got, _ := s.Asset(a.ID); !got.IsTrashed {
		t.Fatal("not trashed")
	}
	if r := do(t, s, "DELETE", "/assets", map[string]any{"ids": []uuid.UUID{a.ID, b.ID}, "force": true}); r.status != 204 {
		t.Fatalf("force: %d %s", r.status, r.body)
	}
	if len(s.Assets()) != 0 {
		t.Fatalf("left %+v", s.Assets())
	}
	c := s.AddAsset("c.jpg", []byte("c"))
	_, otherKey := s.AddUser("b@immich.test", "pw", "B")
	r := do(t, s, "DELETE", "/assets", map[string]any{"ids": []uuid.UUID{c.ID}}, "x-api-key", otherKey)
	if r.status != 400 || r.errBody(t).Message != "Not found or no asset.delete access" {
		t.Fatalf("other user delete: %d %s", r.status, r.body)
	}
	if got, _ := s.Asset(c.ID); got.IsTrashed {
		t.Fatal("other user trashed it")
	}
}

func TestAlbums(t *testing.T) {
	s := start(t)
	a := s.AddAsset("a.jpg", []byte("a"))
	b := s.AddAsset("b.jpg", []byte("b"))
	c := s.AddAsset("c.jpg", []byte("c"))
	_, otherKey := s.AddUser("o@immich.test", "pw", "O")
	var oidResp struct{ ID string }
	r := do(t, s, "POST", "/assets", form("o.jpg", []byte("other's"), dates...), "x-api-key", otherKey)
	r.json(t, &oidResp)
	other := oidResp.ID

	r = do(t, s, "POST", "/albums", map[string]any{"albumName": "Trip", "assetIds": []string{a.ID.String(), other}})
	var al struct {
		ID         string
		AlbumName  string
		AssetCount int
	}
	r.json(t, &al)
	if r.status != 201 || al.AlbumName != "Trip" || al.AssetCount != 1 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r = do(t, s, "PUT", "/albums/"+al.ID+"/assets", map[string]any{"ids": []string{a.ID.String(), b.ID.String(), other, uuid.NewString(), c.ID.String()}})
	var res []struct {
		ID      string
		Success bool
		Error   string
	}
	r.json(t, &res)
	want := []string{"duplicate", "", "no_permission", "no_permission", ""}
	if r.status != 200 || len(res) != 5 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	for i, w := range want {
		if res[i].Error != w || res[i].Success != (w == "") {
			t.Fatalf("add result %d: %+v", i, res[i])
		}
	}
	r = do(t, s, "DELETE", "/albums/"+al.ID+"/assets", map[string]any{"ids": []string{b.ID.String(), b.ID.String()}})
	r.json(t, &res)
	if r.status != 200 || !res[0].Success || res[1].Error != "not_found" {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	got := s.Albums()
	if len(got) != 1 || got[0].Name != "Trip" || !slices.Equal(got[0].AssetIDs, []uuid.UUID{a.ID, c.ID}) {
		t.Fatalf("Albums() %+v", got)
	}
	r = do(t, s, "GET", "/albums/"+al.ID, nil)
	r.json(t, &al)
	if r.status != 200 || al.AssetCount != 2 {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	do(t, s, "DELETE", "/assets", map[string]any{"ids": []uuid.UUID{c.ID}})
	do(t, s, "GET", "/albums/"+al.ID, nil).json(t, &al)
	if al.AssetCount != 1 || len(s.Albums()[0].AssetIDs) != 2 {
		t.Fatalf("trashed asset counted: %d", al.AssetCount)
	}
	var list []struct{ ID string }
	do(t, s, "GET", "/albums", nil).json(t, &list)
	if len(list) != 1 || list[0].ID != al.ID {
		t.Fatalf("list %+v", list)
	}
	do(t, s, "GET", "/albums", nil, "x-api-key", otherKey).json(t, &list)
	if len(list) != 0 {
		t.Fatalf("other user's list %+v", list)
	}
	if r := do(t, s, "GET", "/albums/"+al.ID, nil, "x-api-key", otherKey); r.status != 400 {
		t.Fatalf("other user's album: %d", r.status)
	}
}

func TestWellKnown(t *testing.T) {
	s := start(t)
	res, err := s.Client().Get(strings.TrimSuffix(s.URL(), "/api") + "/.well-known/immich")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var wk struct{ API struct{ Endpoint string } }
	if err := json.NewDecoder(res.Body).Decode(&wk); err != nil || wk.API.Endpoint != "/api" {
		t.Fatalf("%v %+v", err, wk)
	}
	if len(s.ValidationFailures()) != 0 {
		t.Fatalf("failures %+v", s.ValidationFailures())
	}
}

func TestAddAssetsToAlbums(t *testing.T) {
	s := start(t)
	a := s.AddAsset("a.jpg", []byte("a"))
	b := s.AddAsset("b.jpg", []byte("b"))
	var al1, al2 struct{ ID string }
	do(t, s, "POST", "/albums", map[string]any{"albumName": "one", "assetIds": []uuid.UUID{a.ID}}).json(t, &al1)
	do(t, s, "POST", "/albums", map[string]any{"albumName": "two"}).json(t, &al2)
	put := func(albums []string, assets ...uuid.UUID) map[string]any {
		var out map[string]any
		r := do(t, s, "PUT", "/albums/assets", map[string]any{"albumIds": albums, "assetIds": assets})
		r.json(t, &out)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return out
	}
	if out := put([]string{al1.ID, al2.ID}, a.ID, b.ID); out["success"] != true {
		t.Fatalf("add: %v", out)
	}
	if out := put([]string{al1.ID, al2.ID}, a.ID, b.ID); out["success"] != false || out["error"] != "duplicate" {
		t.Fatalf("again: %v", out)
	}
	if out := put([]string{uuid.NewString()}, a.ID); out["error"] != "no_permission" {
		t.Fatalf("unknown album: %v", out)
	}
	for _, al := range s.Albums() {
		if !slices.Equal(al.AssetIDs, []uuid.UUID{a.ID, b.ID}) {
			t.Fatalf("album %s holds %v", al.Name, al.AssetIDs)
		}
	}
}

func TestStartErrorsAndAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if _, err := Start(WithAddr(addr)); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("busy address: %v", err)
	}
	ln.Close()
	s, err := Start(WithAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.URL() != "http://"+addr+"/api" {
		t.Fatalf("URL %s, want on %s", s.URL(), addr)
	}
	if r := do(t, s, "GET", "/server/ping", nil); r.status != 200 {
		t.Fatalf("ping on fixed address: %d", r.status)
	}
	if _, err := Start(WithSpecFile(filepath.Join(t.TempDir(), "missing.json"))); err == nil {
		t.Fatal("missing spec file accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o600)
	if _, err := Start(WithSpecFile(bad)); err == nil {
		t.Fatal("malformed spec file accepted")
	}
}

func TestHead(t *testing.T) {
	s := start(t)
	a := s.AddAsset("a.jpg", []byte("0123456789"))
	r := do(t, s, "HEAD", "/assets/"+a.ID.String()+"/original", nil)
	if r.status != 200 || r.header.Get("Content-Length") != "10" || len(r.body) != 0 {
		t.Fatalf("HEAD: %d %v %q", r.status, r.header, r.body)
	}
	if len(s.ValidationFailures()) != 0 {
		t.Fatalf("failures %+v", s.ValidationFailures())
	}
}

func TestWithAPIKeyAndRequestCounts(t *testing.T) {
	s := start(t, WithAPIKey("fixed-secret"))
	if s.APIKey() != "fixed-secret" {
		t.Fatalf("APIKey %q", s.APIKey())
	}
	if r := do(t, s, "GET", "/users/me", nil, "x-api-key", "fixed-secret"); r.status != 200 {
		t.Fatalf("fixed key: %d", r.status)
	}
	do(t, s, "GET", "/server/ping", nil)
	do(t, s, "GET", "/server/ping", nil)
	got := s.RequestCounts()
	if len(got) != 2 || got["getMyUser"] != 1 || got["pingServer"] != 2 {
		t.Fatalf("counts %v", got)
	}
}
