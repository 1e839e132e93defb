package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/immichtest"
)

// TestDownloadFrom2xServer downloads a video and a photo with
// DownloadAssetToFile from the fake server answering as each Immich 2.x
// release does (its spec from $IMMICH_SPEC_DIR): AssetResponseDto.duration
// is a string "H:MM:SS.ffffff" there, which the api types generated from 3.x
// read through apitypes.Duration.
func TestDownloadFrom2xServer(t *testing.T) {
	specDir := os.Getenv("IMMICH_SPEC_DIR")
	if specDir == "" {
		t.Skip("IMMICH_SPEC_DIR not set (CI sets it)")
	}
	specs, _ := filepath.Glob(filepath.Join(specDir, "immich-openapi-specs-2.*.json"))
	if len(specs) == 0 {
		t.Fatalf("IMMICH_SPEC_DIR=%s holds no 2.x spec", specDir)
	}
	for _, spec := range specs {
		t.Run(filepath.Base(spec), func(t *testing.T) {
			s, c := newImmich(t, immichtest.WithSpecFile(spec))
			ctx := context.Background()
			video := randomBytes(200_000, 21)
			photo := randomBytes(100_000, 22)
			vid := upload2x(t, s, "clip.mp4", video, "0:00:05.000000")
			pid := s.AddAsset("IMG_0001.jpg", photo).ID

			info, err := c.GetAssetInfoWithResponse(ctx, vid, nil)
			if err != nil {
				t.Fatal(err)
			}
			if info.JSON200 == nil || info.JSON200.Duration == nil || info.JSON200.Duration.Std() != 5*time.Second {
				t.Fatalf("asset info: status %d, body %s", info.StatusCode(), info.Body)
			}
			if !bytes.Contains(info.Body, []byte(`"duration":"0:00:05.000000"`)) {
				t.Fatalf("the fake did not answer in the 2.x form: %s", info.Body)
			}

			dir := t.TempDir()
			for name, want := range map[uuid.UUID][]byte{vid: video, pid: photo} {
				got, err := c.DownloadAssetToFile(ctx, name, dir, DownloadOptions{})
				if err != nil {
					t.Fatalf("DownloadAssetToFile(%s): %v", name, err)
				}
				if !bytes.Equal(mustRead(t, got.Path), want) {
					t.Fatalf("%s: bytes differ", got)
				}
			}
			checkOnly(t, dir, map[string][]byte{"clip.mp4": video, "IMG_0001.jpg": photo})
			if f := s.ValidationFailures(); len(f) > 0 {
				t.Fatalf("requests or answers the spec refuses: %+v", f)
			}
		})
	}
}

// upload2x uploads content as a 2.x client does (device fields, a duration
// string) and returns the new asset's id.
func upload2x(t *testing.T, s *immichtest.Server, name string, content []byte, duration string) uuid.UUID {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	now := time.Now().UTC().Format(time.RFC3339)
	for _, kv := range [][2]string{{"deviceAssetId", name}, {"deviceId", "test"}, {"metadata", "[]"},
		{"fileCreatedAt", now}, {"fileModifiedAt", now}, {"duration", duration}} {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("assetData", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/assets", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("x-api-key", s.APIKey())
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var created struct{ ID uuid.UUID }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &created) != nil {
		t.Fatalf("upload %s: %d %s", name, resp.StatusCode, b)
	}
	return created.ID
}
