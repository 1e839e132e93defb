package goimmich_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/api/apispec"
	"github.com/goimmich/goimmich/apitypes"
	"github.com/goimmich/goimmich/immichtest"
)

// TestEveryOperationHasAMethod checks that api.ClientWithResponses has an
// OperationIdWithResponse method for every operation of the pinned spec.
func TestEveryOperationHasAMethod(t *testing.T) {
	spec, err := apispec.GetSpec()
	if err != nil {
		t.Fatalf("loading embedded spec: %v", err)
	}
	typ := reflect.TypeFor[*api.ClientWithResponses]()
	var ops, missing []string
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
				continue
			}
			ops = append(ops, op.OperationID)
			// Operations with a typed JSON body get OpWithResponse; those
			// whose body is multipart or a form only get the streaming
			// OpWithBodyWithResponse (content type and io.Reader).
			name := strings.ToUpper(op.OperationID[:1]) + op.OperationID[1:]
			_, typed := typ.MethodByName(name + "WithResponse")
			_, raw := typ.MethodByName(name + "WithBodyWithResponse")
			if !typed && !raw {
				missing = append(missing, name+"WithResponse")
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d of %d operations lack a method on api.ClientWithResponses: %v", len(missing), len(ops), missing)
	}
	// Immich 3.0.3 has 254 operations; a much smaller count means the spec
	// or the generator lost some.
	if len(ops) < 200 {
		t.Errorf("embedded spec has %d operations; expected the whole Immich API (254 in 3.0.3)", len(ops))
	}
	t.Logf("%d operations, all with a generated method", len(ops))
}

// TestGeneratedClientOverLoopback calls a few generated operations against a
// real HTTP server on loopback and checks requests and decoded responses.
func TestGeneratedClientOverLoopback(t *testing.T) {
	const key = "test-key-123"
	userID := uuid.New()
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

	mux := http.NewServeMux()
	requireKey := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("x-api-key") != key {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Invalid API key","error":"Unauthorized","statusCode":401,"correlationId":"abc"}`))
			return false
		}
		return true
	}
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /api/server/ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"res": "pong"})
	})
	mux.HandleFunc("GET /api/server/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"major": 3, "minor": 0, "patch": 3})
	})
	mux.HandleFunc("GET /api/users/me", func(w http.ResponseWriter, r *http.Request) {
		if !requireKey(w, r) {
			return
		}
		writeJSON(w, map[string]any{
			"avatarColor": "primary", "createdAt": created, "deletedAt": nil,
			"email": "admin@example.com", "id": userID, "isAdmin": true, "license": nil,
			"name": "Admin", "oauthId": "", "profileChangedAt": created, "profileImagePath": "",
			"quotaSizeInBytes": nil, "quotaUsageInBytes": 1234, "shouldChangePassword": false,
			"status": "active", "storageLabel": "admin", "updatedAt": created,
		})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	withKey := api.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("x-api-key", key)
		return nil
	})
	c, err := api.NewClientWithResponses(srv.URL+"/api", withKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	ping, err := c.PingServerWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ping.StatusCode() != 200 || ping.JSON200 == nil || ping.JSON200.Res != "pong" {
		t.Errorf("ping: status %d, body %+v", ping.StatusCode(), ping.JSON200)
	}

	ver, err := c.GetServerVersionWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ver.JSON200 == nil || *ver.JSON200 != (api.ServerVersionResponseDto{Major: 3, Minor: 0, Patch: 3}) {
		t.Errorf("version: %+v", ver.JSON200)
	}

	me, err := c.GetMyUserWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := me.JSON200
	if u == nil {
		t.Fatalf("users/me: status %d, body %s", me.StatusCode(), me.Body)
	}
	if u.Id != userID || string(u.Email) != "admin@example.com" || !u.IsAdmin || u.Status != api.UserStatusActive ||
		!u.CreatedAt.Equal(created) || u.QuotaUsageInBytes == nil || *u.QuotaUsageInBytes != 1234 ||
		u.QuotaSizeInBytes != nil || u.StorageLabel == nil || *u.StorageLabel != "admin" {
		t.Errorf("users/me decoded wrong: %+v", u)
	}

	// Without the key the server's 401 is surfaced, not decoded as a user.
	anon, err := api.NewClientWithResponses(srv.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	me, err = anon.GetMyUserWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.StatusCode() != http.StatusUnauthorized || me.JSON200 != nil {
		t.Errorf("users/me without key: status %d, user %+v", me.StatusCode(), me.JSON200)
	}
}

// TestAssetResponseDurationEveryForm decodes AssetResponseDto answers in the
// form of each major release through the generated type: "H:MM:SS.ffffff"
// (Immich 2.x), milliseconds and null (Immich 3.x).
func TestAssetResponseDurationEveryForm(t *testing.T) {
	for _, tc := range []struct {
		json string
		want *time.Duration
	}{
		{`"0:00:05.000000"`, ptr(5 * time.Second)},
		{`"0:00:00.00000"`, ptr(time.Duration(0))},
		{`5000`, ptr(5 * time.Second)},
		{`null`, nil},
	} {
		var a api.AssetResponseDto
		body := `{"id":"` + uuid.NewString() + `","type":"VIDEO","duration":` + tc.json + `,"checksum":"x"}`
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Errorf("duration %s: %v", tc.json, err)
			continue
		}
		switch {
		case tc.want == nil && a.Duration != nil:
			t.Errorf("duration %s decoded to %v, want nil", tc.json, a.Duration.Std())
		case tc.want != nil && (a.Duration == nil || a.Duration.Std() != *tc.want):
			t.Errorf("duration %s decoded to %v, want %v", tc.json, a.Duration, *tc.want)
		}
	}
	// Encoded as 3.x does.
	d := apitypes.Duration(5 * time.Second)
	b, err := json.Marshal(api.AssetResponseDto{Duration: &d})
	if err != nil || !strings.Contains(string(b), `"duration":5000`) {
		t.Errorf("encoded %s, %v; want duration 5000", b, err)
	}
}

// TestAssetDurationFromEveryRelease uploads a video and a photo to the fake
// server under the spec of each Immich release in $IMMICH_SPEC_DIR (the
// pinned one only, without it), reads them back with GET /assets/{id}, as
// that release answers it (the fake validates its answers against the
// spec), and decodes the answer into the generated api.AssetResponseDto.
func TestAssetDurationFromEveryRelease(t *testing.T) {
	specs := map[string]string{"pinned": ""} // the embedded spec
	if dir := os.Getenv("IMMICH_SPEC_DIR"); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "immich-openapi-specs-*.json"))
		if len(files) == 0 {
			t.Fatalf("no specs in IMMICH_SPEC_DIR=%s", dir)
		}
		specs = map[string]string{}
		for _, f := range files {
			specs[strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "immich-openapi-specs-"), ".json")] = f
		}
	}
	for name, file := range specs {
		t.Run(name, func(t *testing.T) {
			var opts []immichtest.Option
			if file != "" {
				opts = append(opts, immichtest.WithSpecFile(file))
			}
			s := immichtest.NewTestServer(t, opts...)
			version := s.SpecVersion()
			// Each major sends the duration of an upload in its own form.
			sent := "5000"
			if strings.HasPrefix(version, "2.") {
				sent = "0:00:05.000000"
			}
			video := getAsset(t, s, uploadRaw(t, s, "clip.mp4", "video bytes", "duration", sent))
			photo := getAsset(t, s, uploadRaw(t, s, "photo.jpg", "photo bytes"))
			if video.Duration == nil || video.Duration.Std() != 5*time.Second {
				t.Errorf("video duration %v, want 5s", video.Duration)
			}
			// 3.x: null for a still image; 2.x: "0:00:00.00000".
			if strings.HasPrefix(version, "2.") {
				if photo.Duration == nil || *photo.Duration != 0 {
					t.Errorf("photo duration %v, want 0", photo.Duration)
				}
			} else if photo.Duration != nil {
				t.Errorf("photo duration %v, want nil", photo.Duration.Std())
			}
			if f := s.ValidationFailures(); len(f) != 0 {
				t.Errorf("validation failures: %+v", f)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// uploadRaw uploads a file with the fields every release requires, plus
// extra (name, value pairs), and returns the new asset's id. It sends plain
// HTTP so that it does not depend on the generated signature of uploadAsset.
func uploadRaw(t *testing.T, s *immichtest.Server, name, content string, extra ...string) string {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	now := time.Now().UTC().Format(time.RFC3339)
	fields := append([]string{"deviceAssetId", name, "deviceId", "test", "metadata", "[]",
		"fileCreatedAt", now, "fileModifiedAt", now}, extra...)
	for i := 0; i < len(fields); i += 2 {
		if err := w.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("assetData", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(fw, content)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/assets", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	var created struct{ ID string }
	doJSON(t, s, req, http.StatusCreated, &created)
	return created.ID
}

// getAsset reads GET /assets/{id} and decodes it into the generated type.
func getAsset(t *testing.T, s *immichtest.Server, id string) api.AssetResponseDto {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+"/assets/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	var a api.AssetResponseDto
	doJSON(t, s, req, http.StatusOK, &a)
	return a
}

func doJSON(t *testing.T, s *immichtest.Server, req *http.Request, want int, v any) {
	t.Helper()
	req.Header.Set("x-api-key", s.APIKey())
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s %s: decoding %s: %v", req.Method, req.URL.Path, b, err)
	}
}

// TestByteCountsDecodeAbove4GiB decodes byte counts above 4 GiB, which
// Immich 3.x declares as integers without a format: the overlay makes them
// int64, so they decode on 32-bit platforms too (GOARCH=386 go test).
func TestByteCountsDecodeAbove4GiB(t *testing.T) {
	const big = 5 << 30
	var exif api.ExifResponseDto
	if err := json.Unmarshal([]byte(`{"fileSizeInByte":5368709120}`), &exif); err != nil || exif.FileSizeInByte == nil || *exif.FileSizeInByte != big {
		t.Errorf("ExifResponseDto.fileSizeInByte: %v, %v", exif.FileSizeInByte, err)
	}
	var st api.ServerStatsResponseDto
	if err := json.Unmarshal([]byte(`{"usage":5368709120,"usagePhotos":5368709120,"usageVideos":5368709120,"usageByUser":[{"usage":5368709120,"quotaSizeInBytes":5368709120}]}`), &st); err != nil ||
		st.Usage != big || st.UsagePhotos != big || st.UsageVideos != big || len(st.UsageByUser) != 1 ||
		st.UsageByUser[0].Usage != big || st.UsageByUser[0].QuotaSizeInBytes == nil || *st.UsageByUser[0].QuotaSizeInBytes != big {
		t.Errorf("ServerStatsResponseDto: %+v, %v", st, err)
	}
	var u api.UserAdminResponseDto
	if err := json.Unmarshal([]byte(`{"quotaSizeInBytes":5368709120,"quotaUsageInBytes":5368709120}`), &u); err != nil ||
		u.QuotaSizeInBytes == nil || *u.QuotaSizeInBytes != big || u.QuotaUsageInBytes == nil || *u.QuotaUsageInBytes != big {
		t.Errorf("UserAdminResponseDto: %+v, %v", u, err)
	}
	var disk api.ServerStorageResponseDto
	if err := json.Unmarshal([]byte(`{"diskSizeRaw":5368709120,"diskUseRaw":5368709120,"diskAvailableRaw":5368709120}`), &disk); err != nil ||
		disk.DiskSizeRaw != big || disk.DiskUseRaw != big || disk.DiskAvailableRaw != big {
		t.Errorf("ServerStorageResponseDto: %+v, %v", disk, err)
	}
	var dl api.DownloadResponseDto
	if err := json.Unmarshal([]byte(`{"totalSize":5368709120,"archives":[{"size":5368709120,"assetIds":[]}]}`), &dl); err != nil ||
		dl.TotalSize != big || len(dl.Archives) != 1 || dl.Archives[0].Size != big {
		t.Errorf("DownloadResponseDto: %+v, %v", dl, err)
	}
}
