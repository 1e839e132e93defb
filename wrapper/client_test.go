package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewValidatesAndNormalizesURL(t *testing.T) {
	tests := []struct {
		in, want, errHas string
	}{
		{in: "https://photos.example.com", want: "https://photos.example.com/api"},
		{in: "https://photos.example.com/", want: "https://photos.example.com/api"},
		{in: "http://nas:2283/api", want: "http://nas:2283/api"},
		{in: "http://nas:2283/api/", want: "http://nas:2283/api"},
		{in: " http://nas/immich ", want: "http://nas/immich/api"},
		{in: "http://nas/api?x=1#f", want: "http://nas/api"},
		{in: "", errHas: "empty server URL"},
		{in: "photos.example.com", errHas: "must start with http:// or https://"},
		{in: "ftp://photos.example.com", errHas: "must start with http:// or https://"},
		{in: "http://", errHas: "has no host"},
		{in: "https://user:secret@photos.example.com", errHas: "must not hold credentials"},
		{in: "http://[::1", errHas: "server URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := New(tt.in, WithAPIKey("k"))
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("New(%q) error = %v, want one containing %q", tt.in, err, tt.errHas)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error leaks the URL's password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tt.in, err)
			}
			if got := c.ServerURL(); got != tt.want {
				t.Fatalf("ServerURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOptionsRejectEmptyValues(t *testing.T) {
	for name, opt := range map[string]Option{
		"key":    WithAPIKey(" "),
		"bearer": WithBearerToken(""),
		"http":   WithHTTPClient(nil),
	} {
		if _, err := New("http://x", opt); err == nil {
			t.Errorf("%s: New accepted an empty value", name)
		}
	}
}

// The key goes out in the x-api-key header, and nowhere else: not in the
// URL, not in String/GoString/%v, not in an error.
func TestAPIKeyOnlyInHeader(t *testing.T) {
	const key = "k3y-SECRET-123"
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("x-api-key")+" "+r.URL.String()+" "+r.Header.Get("User-Agent"))
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/server/ping" {
			fmt.Fprint(w, `{"res":"pong"}`)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Invalid API key","error":"Unauthorized","statusCode":401,"correlationId":"c1"}`)
	}))
	defer srv.Close()
	c, err := New(srv.URL, WithAPIKey(key), WithUserAgent("ua-test"), WithRetry(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	for _, s := range []string{c.String(), c.GoString(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, key) {
			t.Fatalf("formatting leaks the key: %s", s)
		}
	}
	_, err = c.Upload(context.Background(), []string{t.TempDir()}, UploadOptions{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "check the API key") {
		t.Fatalf("Upload with a rejected key: %v, want ErrUnauthorized saying to check the key", err)
	}
	if strings.Contains(err.Error(), key) {
		t.Fatalf("error leaks the key: %v", err)
	}
	if len(seen) == 0 || !strings.HasPrefix(seen[0], key+" /api/server/ping ua-test") {
		t.Fatalf("requests seen %q: want the key in the header and the ping first", seen)
	}
}

func TestCheckResponse(t *testing.T) {
	if err := CheckResponse("op", &http.Response{StatusCode: 201}, nil); err != nil {
		t.Fatalf("2xx: %v", err)
	}
	err := CheckResponse("getAssetInfo", &http.Response{StatusCode: 404, Header: http.Header{}}, []byte(`{"message":"Asset not found","correlationId":"abc"}`))
	var ae *APIError
	if !errors.As(err, &ae) || !errors.Is(err, ErrNotFound) || ae.Message != "Asset not found" || ae.CorrelationID != "abc" {
		t.Fatalf("got %#v", err)
	}
	if err := CheckResponse("op", nil, nil); err == nil {
		t.Fatal("nil response accepted")
	}
}
