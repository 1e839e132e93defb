package wrapper

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/goimmich/goimmich/immichtest"
)

// uploadForms is a proxy in front of a fake server that records the form
// fields (not the files) of every POST /assets it passes on.
type uploadForms struct {
	mu    sync.Mutex
	forms []map[string]string
}

func recordUploadForms(t *testing.T, s *immichtest.Server) (*uploadForms, string) {
	t.Helper()
	target, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	rec := &uploadForms{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/assets" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Error(err)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			fields := map[string]string{}
			for {
				part, err := mr.NextPart()
				if err != nil {
					break
				}
				if part.FileName() == "" {
					v, _ := io.ReadAll(part)
					fields[part.FormName()] = string(v)
				}
			}
			rec.mu.Lock()
			rec.forms = append(rec.forms, fields)
			rec.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

// The upload form follows the server's release: 3.x gets no
// deviceAssetId/deviceId and duration in milliseconds, 2.x both device
// fields and duration as "H:MM:SS.ffffff"; both get dates with a UTC
// offset. The fake server validates each form against its release's spec.
func TestUploadFormFollowsRelease(t *testing.T) {
	dateWithOffset := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)
	releases := map[string]string{"3.0.3": ""} // the embedded spec
	if dir := os.Getenv("IMMICH_SPEC_DIR"); dir != "" {
		releases["2.7.3"] = filepath.Join(dir, "immich-openapi-specs-2.7.3.json")
	} else {
		t.Log("IMMICH_SPEC_DIR not set: 2.x not tested")
	}
	for release, spec := range releases {
		t.Run(release, func(t *testing.T) {
			var opts []immichtest.Option
			if spec != "" {
				opts = append(opts, immichtest.WithSpecFile(spec))
			}
			s, _ := newUploadEnv(t, opts...)
			if s.SpecVersion() != release {
				t.Fatalf("the fake runs %s, want %s", s.SpecVersion(), release)
			}
			rec, proxyURL := recordUploadForms(t, s)
			c, err := New(proxyURL, WithAPIKey(s.APIKey()), WithRetry(uploadRetry()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"My photo.jpg": "a photo", "clip.mp4": "a video"})
			res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
			if err != nil || res.Stats.Uploaded != 2 {
				t.Fatalf("%v %+v", err, res)
			}
			if len(rec.forms) != 2 {
				t.Fatalf("%d uploads recorded", len(rec.forms))
			}
			for _, f := range rec.forms {
				for _, k := range []string{"fileCreatedAt", "fileModifiedAt"} {
					if !dateWithOffset.MatchString(f[k]) {
						t.Fatalf("%s = %q, want a date with a UTC offset", k, f[k])
					}
				}
				_, hasDeviceID := f["deviceId"]
				_, hasDeviceAssetID := f["deviceAssetId"]
				switch release {
				case "3.0.3":
					if hasDeviceID || hasDeviceAssetID || f["duration"] != "0" {
						t.Fatalf("3.x form %v: want no deviceId/deviceAssetId and duration 0", f)
					}
				default:
					if f["deviceId"] != "goimmich" || !strings.HasSuffix(f["deviceAssetId"], "-7") || f["duration"] != "0:00:00.000000" {
						t.Fatalf("2.x form %v: want deviceId, deviceAssetId and duration 0:00:00.000000", f)
					}
				}
			}
		})
	}
}
