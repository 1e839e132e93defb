package immichtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestEveryRelease drives every implemented operation against the spec of
// each Immich release in $IMMICH_SPEC_DIR: the fake's responses must match
// each spec (the start helper fails the test otherwise), and a client that
// sends what every release needs is never refused.
func TestEveryRelease(t *testing.T) {
	dir := os.Getenv("IMMICH_SPEC_DIR")
	if dir == "" {
		t.Skip("IMMICH_SPEC_DIR is not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "immich-openapi-specs-*.json"))
	if len(files) == 0 {
		t.Fatalf("no specs in IMMICH_SPEC_DIR=%s", dir)
	}
	for _, f := range files {
		version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "immich-openapi-specs-"), ".json")
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if version != embeddedVersion(t) {
				opts = append(opts, WithSpecFile(f)) // the pinned one is embedded already
			}
			s := start(t, opts...)
			if s.SpecVersion() != version {
				t.Fatalf("serving %s, want %s", s.SpecVersion(), version)
			}
			tour(t, s)
			if vf := s.ValidationFailures(); len(vf) != 0 {
				t.Fatalf("failures %+v", vf)
			}
		})
	}
}

// tour calls each implemented operation once, successfully.
func tour(t *testing.T, s *Server) {
	t.Helper()
	ok := func(method, path string, body any, want int, header ...string) resp {
		t.Helper()
		r := do(t, s, method, path, body, header...)
		if r.status != want {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
		}
		return r
	}
	for _, p := range []string{"/server/ping", "/server/version", "/server/about", "/server/features",
		"/server/config", "/server/media-types", "/users/me", "/api-keys/me"} {
		ok("GET", p, nil, 200)
	}
	var ids []string
	for i, name := range []string{"a.jpg", "b.mp4", "c.heic"} {
		content := fmt.Appendf(nil, "content %d", i)
		fields := append([]string{"deviceAssetId", name, "deviceId", "tour", "metadata", `[{"key":"mobile-app","value":{"iCloudId":"i"}}]`, "duration", "1000"}, dates...)
		var out struct{ ID string }
		ok("POST", "/assets", form(name, content, fields...), 201).json(t, &out)
		ids = append(ids, out.ID)
	}
	ok("POST", "/assets", form("a.jpg", []byte("content 0"), append([]string{"deviceAssetId", "x", "deviceId", "tour", "metadata", "[]"}, dates...)...), 200)
	ok("POST", "/assets", form("d.jpg", []byte("content 3"), append([]string{"deviceAssetId", "d", "deviceId", "tour", "visibility", "archive"}, dates...)...), 201)
	ok("POST", "/assets/bulk-upload-check", map[string]any{"assets": []map[string]string{
		{"id": "1", "checksum": "0000000000000000000000000000000000000000"},
		{"id": "2", "checksum": fmt.Sprintf("%x", sha([]byte("content 0")))}}}, 200)
	ok("GET", "/assets/"+ids[1], nil, 200)
	ok("GET", "/assets/"+ids[1]+"/metadata", nil, 200)
	ok("PUT", "/assets/"+ids[1], map[string]any{"isFavorite": true}, 200)
	ok("PUT", "/assets", map[string]any{"ids": ids[:1], "visibility": "archive"}, 204)
	ok("GET", "/assets/"+ids[0]+"/original", nil, 200)
	ok("GET", "/assets/"+ids[2]+"/thumbnail", nil, 200)
	ok("GET", "/assets/"+ids[0]+"/original", nil, 206, "Range", "bytes=0-1")
	ok("GET", "/assets/"+ids[1]+"/video/playback", nil, 200)
	ok("GET", "/assets/statistics", nil, 200)
	ok("GET", "/server/statistics", nil, 200)
	ok("POST", "/search/metadata", map[string]any{"originalFileName": "a", "size": 1}, 200)
	var al struct{ ID string }
	ok("POST", "/albums", map[string]any{"albumName": "tour", "assetIds": ids[:1]}, 201).json(t, &al)
	ok("PUT", "/albums/"+al.ID+"/assets", map[string]any{"ids": ids}, 200)
	ok("DELETE", "/albums/"+al.ID+"/assets", map[string]any{"ids": ids[2:]}, 200)
	ok("GET", "/albums/"+al.ID, nil, 200)
	ok("GET", "/albums", nil, 200)
	ok("POST", "/download/info", map[string]any{"albumId": al.ID}, 201)
	ok("POST", "/download/archive", map[string]any{"assetIds": ids}, 200)
	var link struct{ Key string }
	ok("POST", "/shared-links", map[string]any{"type": "ALBUM", "albumId": al.ID}, 201).json(t, &link)
	ok("GET", "/shared-links", nil, 200)
	var links []struct{ ID string }
	ok("GET", "/shared-links", nil, 200).json(t, &links)
	ok("GET", "/shared-links/"+links[0].ID, nil, 200)
	ok("PATCH", "/albums/"+al.ID, map[string]any{"albumName": "renamed"}, 200)
	ok("GET", "/albums/statistics", nil, 200)
	ok("GET", "/server/storage", nil, 200)
	ok("POST", "/auth/validateToken", nil, 200)
	ok("GET", "/shared-links/me?key="+link.Key, nil, 200, "x-api-key", "")
	ok("GET", "/assets/"+ids[0]+"?key="+link.Key, nil, 200, "x-api-key", "")
	var login struct{ AccessToken string }
	ok("POST", "/auth/login", map[string]string{"email": DefaultEmail, "password": DefaultPassword}, 201, "x-api-key", "").json(t, &login)
	ok("POST", "/auth/logout", nil, 200, "x-api-key", "", "Authorization", "Bearer "+login.AccessToken)
	ok("GET", "/users/me", nil, 401, "x-api-key", "", "Authorization", "Bearer "+login.AccessToken)
	ok("DELETE", "/assets", map[string]any{"ids": ids[2:]}, 204)
	ok("POST", "/trash/restore/assets", map[string]any{"ids": ids[2:]}, 200)
	ok("DELETE", "/assets", map[string]any{"ids": ids[2:]}, 204)
	ok("POST", "/trash/restore", nil, 200)
	ok("DELETE", "/assets", map[string]any{"ids": ids[2:]}, 204)
	ok("POST", "/trash/empty", nil, 200)
	ok("DELETE", "/shared-links/"+links[0].ID, nil, 204)
	ok("DELETE", "/albums/"+al.ID, nil, 204)
	if _, still := s.Asset(uuid.MustParse(ids[2])); still {
		t.Fatal("emptied asset still there")
	}
}

func embeddedVersion(t *testing.T) string {
	spec, err := loadSpec("")
	if err != nil {
		t.Fatal(err)
	}
	return spec.Info.Version
}

// TestSpec2xUploadVisibility uploads with each visibility under a 2.x spec,
// whose AssetMediaCreateDto wraps the AssetVisibility enum in an allOf: real
// 2.x accepts every value of the enum and refuses others.
func TestSpec2xUploadVisibility(t *testing.T) {
	s := start(t, WithSpecFile(specFile(t, "2.7.3")))
	for i, vis := range []string{"timeline", "archive", "hidden"} {
		fields := append([]string{"deviceAssetId", vis, "deviceId", "test", "visibility", vis}, dates...)
		id, status, code := uploadFile(t, s, vis+".jpg", fmt.Appendf(nil, "content %d", i), fields...)
		if code != 201 || status != "created" {
			t.Fatalf("visibility %s: %d %s", vis, code, status)
		}
		a, ok := s.Asset(uuid.MustParse(id))
		if !ok || a.Visibility != vis {
			t.Fatalf("visibility %s: stored %+v", vis, a)
		}
	}
	fields := append([]string{"deviceAssetId", "x", "deviceId", "test", "visibility", "bogus"}, dates...)
	r := do(t, s, "POST", "/assets", form("x.jpg", []byte("x"), fields...))
	if e := r.errBody(t); r.status != 400 || !e.List || !contains(e.Message, "visibility") {
		t.Fatalf("visibility bogus: %d %s", r.status, r.body)
	}
	if f := s.ValidationFailures(); len(f) != 1 || f[0].OperationID != "uploadAsset" {
		t.Fatalf("failures %+v", f)
	}
}
