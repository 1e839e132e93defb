package wrapper

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestNewAPIError(t *testing.T) {
	long := strings.Repeat("x", 500)
	tests := []struct {
		name      string
		status    int
		body      string
		header    http.Header
		msg, corr string
		is, also  error
		hintHas   string
	}{
		{name: "immich string", status: 401, body: `{"message":"Invalid API key","error":"Unauthorized","statusCode":401,"correlationId":"x1"}`,
			msg: "Invalid API key", corr: "x1", is: ErrUnauthorized, hintHas: "API key"},
		{name: "immich list", status: 400, body: `{"message":["a must be a UUID","b is required"],"error":"Bad Request"}`,
			msg: "a must be a UUID; b is required"},
		{name: "forbidden", status: 403, body: `{"message":"Missing required permission: asset.upload"}`,
			msg: "Missing required permission: asset.upload", is: ErrForbidden, hintHas: "permission"},
		{name: "not found", status: 404, body: `{"error":"Not Found"}`, msg: "Not Found", is: ErrNotFound},
		{name: "proxy 413", status: 413, body: "<html>413 Request Entity Too Large</html>",
			msg: `HTML page "413 Request Entity Too Large"`, hintHas: "proxy"},
		{name: "web server 404", status: 404, header: http.Header{"Content-Type": {"text/html;charset=utf-8"}},
			body: "<!DOCTYPE HTML>\n<html lang=\"en\">\n  <head>\n    <title>Error response</title>\n  </head>\n  <body><h1>Error response</h1></body>\n</html>\n",
			msg:  `HTML page "Error response"`, is: ErrNotFound, also: ErrNotImmich, hintHas: "not an answer of Immich's API"},
		{name: "plain text on lines", status: 500, body: "upstream\n  connect error\n", msg: "upstream connect error"},
		{name: "long UTF-8 body", status: 502, body: strings.Repeat("é", 150), msg: strings.Repeat("é", 100) + "…"},
		{name: "cloudflare 524", status: 524, body: "error code: 524", msg: "error code: 524", hintHas: "proxy"},
		{name: "429", status: 429, body: "", header: http.Header{"Retry-After": {"7"}}, hintHas: "retry after 7"},
		{name: "long body", status: 502, body: long, msg: long[:200] + "…", hintHas: "behind it is not answering"},
		{name: "immich 400 not found", status: 400, body: `{"message":"Not found or no asset.read access","error":"Bad Request","statusCode":400}`,
			msg: "Not found or no asset.read access", is: ErrNotFound, hintHas: "no such item"},
		{name: "immich 400 album access", status: 400, body: `{"message":"Not found or no album.read access"}`,
			msg: "Not found or no album.read access", is: ErrNotFound},
		{name: "3.x correlation header", status: 500, header: http.Header{"X-Correlation-Id": {"h-42"}}, body: `{"message":"Internal server error"}`,
			msg: "Internal server error", corr: "h-42"},
		{name: "proxy 502 page", status: 502, header: http.Header{"Content-Type": {"text/html"}},
			body: "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", msg: `HTML page "502 Bad Gateway"`, hintHas: "behind it is not answering"},
		{name: "proxy 503 text", status: 503, body: "no healthy upstream", msg: "no healthy upstream", hintHas: "behind it is not answering"},
		{name: "proxy 504 page", status: 504, header: http.Header{"Content-Type": {"text/html"}},
			body: "<html><title>504 Gateway Time-out</title></html>", msg: `HTML page "504 Gateway Time-out"`, hintHas: "behind it is not answering"},
		{name: "immich 503", status: 503, body: `{"message":"Server is starting up"}`, msg: "Server is starting up"},
		{name: "login portal page", status: 401, header: http.Header{"Content-Type": {"text/html"}},
			body: "<html><title>Sign in</title></html>", msg: `HTML page "Sign in"`, is: ErrUnauthorized, also: ErrNotImmich, hintHas: "web page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			e := newAPIError("op", tt.status, h, strings.NewReader(tt.body))
			if e.Message != tt.msg || e.CorrelationID != tt.corr || e.StatusCode != tt.status || e.Operation != "op" {
				t.Fatalf("got %+v", e)
			}
			for _, want := range []error{tt.is, tt.also} {
				if want != nil && !errors.Is(e, want) {
					t.Fatalf("errors.Is(%v, %v) = false", e, want)
				}
			}
			for _, s := range []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrNotImmich} {
				if s != tt.is && s != tt.also && errors.Is(e, s) {
					t.Fatalf("errors.Is(%v, %v) = true", e, s)
				}
			}
			if !strings.Contains(e.Hint, tt.hintHas) || !strings.Contains(e.Error(), tt.hintHas) {
				t.Fatalf("hint %q / error %q, want %q", e.Hint, e.Error(), tt.hintHas)
			}
			if !strings.HasPrefix(e.Error(), "op: server answered") {
				t.Fatalf("Error() = %q", e.Error())
			}
		})
	}
}

// Immich 3 reports a failed validation as a list of field errors; 2.x as a
// list of strings. Both are kept as data and shown, the first few, in
// Error.
func TestAPIErrorFields(t *testing.T) {
	tests := []struct {
		name, body string
		header     http.Header
		fields     []FieldError
		corr       string
		shows      []string
		hides      string
	}{
		{name: "3.x validation",
			header: http.Header{"X-Correlation-Id": {"7c1e"}},
			body:   `{"message":"Validation failed","errors":[{"code":"invalid_type","path":["duration"],"message":"Invalid input: expected number, received NaN"}]}`,
			fields: []FieldError{{Path: "duration", Code: "invalid_type", Message: "Invalid input: expected number, received NaN"}},
			corr:   "7c1e",
			shows:  []string{"Validation failed", "duration: Invalid input: expected number, received NaN", "correlationId 7c1e"}},
		{name: "3.x nested paths, more than shown",
			body: `{"message":"Validation failed","errors":[` +
				`{"code":"invalid_type","path":["assets",0,"checksum"],"message":"Required"},` +
				`{"code":"too_small","path":["size"],"message":"Too small"},` +
				`{"code":"invalid_string","path":["id"],"message":"Invalid uuid"},` +
				`{"code":"custom","path":["x"],"message":"Bad x"}]}`,
			fields: []FieldError{{Path: "assets.0.checksum", Code: "invalid_type", Message: "Required"}, {Path: "size", Code: "too_small", Message: "Too small"},
				{Path: "id", Code: "invalid_string", Message: "Invalid uuid"}, {Path: "x", Code: "custom", Message: "Bad x"}},
			shows: []string{"assets.0.checksum: Required", "size: Too small", "id: Invalid uuid", "and 1 more"},
			hides: "Bad x"},
		{name: "2.x list of strings",
			body:   `{"message":["duration must be a number","id must be a UUID"],"error":"Bad Request","statusCode":400,"correlationId":"2x-1"}`,
			fields: []FieldError{{Message: "duration must be a number"}, {Message: "id must be a UUID"}},
			corr:   "2x-1",
			shows:  []string{"400 Bad Request: duration must be a number; id must be a UUID (correlationId 2x-1)"}},
		{name: "2.x string, header wins", header: http.Header{"X-Correlation-Id": {"from-header"}},
			body: `{"message":"Asset not found","error":"Bad Request","correlationId":"from-body"}`,
			corr: "from-header", shows: []string{"Asset not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			e := newAPIError("updateAsset", 400, h, strings.NewReader(tt.body))
			if !reflect.DeepEqual(e.Fields, tt.fields) || e.CorrelationID != tt.corr {
				t.Fatalf("fields %#v, correlation %q; want %#v, %q", e.Fields, e.CorrelationID, tt.fields, tt.corr)
			}
			for _, want := range tt.shows {
				if !strings.Contains(e.Error(), want) {
					t.Errorf("Error() = %q, want it to show %q", e.Error(), want)
				}
			}
			if tt.hides != "" && strings.Contains(e.Error(), tt.hides) {
				t.Errorf("Error() = %q shows more than %d fields", e.Error(), maxFieldsShown)
			}
		})
	}
}

// A request that got no answer is a *ConnectionError wrapping the cause,
// saying the URL is wrong or the server down.
func TestConnectionError(t *testing.T) {
	addr := closedAddr(t)
	c := newTestClient(t, "http://"+addr, quickPolicy(3))
	_, err := c.GetServerVersionWithResponse(context.Background())
	var ce *ConnectionError
	if !errors.As(err, &ce) || !errors.Is(err, syscall.ECONNREFUSED) || ce.URL != c.ServerURL() {
		t.Fatalf("err = %#v, want a *ConnectionError for %s wrapping ECONNREFUSED", err, c.ServerURL())
	}
	for _, want := range []string{"cannot reach the Immich server at http://" + addr + "/api", "connection refused: is the server running"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %q, want %q", err, want)
		}
	}
	var ae *APIError
	if errors.As(err, &ae) || errors.Is(err, ErrNotImmich) {
		t.Fatalf("err = %v is also an answer", err)
	}

	bad, err := New("http://no-such-host.invalid", WithRetry(quickPolicy(3)))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.CloseIdleConnections()
	_, err = bad.GetServerVersionWithResponse(context.Background())
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "does not resolve") {
		t.Fatalf("unknown host: %v", err)
	}
}

// newAPIError takes any body a server or proxy may send: it never panics,
// stays one bounded line, and keeps the status.
func FuzzNewAPIError(f *testing.F) {
	for _, seed := range []string{
		`{"message":"Validation failed","errors":[{"code":"invalid_type","path":["duration",0],"message":"x"}]}`,
		`{"message":["a","b"],"error":"Bad Request","correlationId":"c"}`,
		`{"message":{"nested":true}}`, `{"errors":[{"path":null}]}`,
		"<html><title>502</title></html>", "", "\xff\xfe", `{"message":`,
	} {
		f.Add(400, seed, "application/json")
		f.Add(502, seed, "text/html")
	}
	f.Fuzz(func(t *testing.T, status int, body, ctype string) {
		e := newAPIError("op", status, http.Header{"Content-Type": {ctype}}, strings.NewReader(body))
		if e.StatusCode != status {
			t.Fatalf("status %d, want %d", e.StatusCode, status)
		}
		msg := e.Error()
		if strings.ContainsAny(e.Message, "\r\n") && !e.immich {
			t.Fatalf("message of a non-Immich body spans lines: %q", e.Message)
		}
		if len(msg) > 2*maxErrorBody {
			t.Fatalf("error of %d bytes", len(msg))
		}
	})
}
