package wrapper

import (
	"errors"
	"net/http"
	"strings"
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
		is        error
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
			msg:  `HTML page "Error response"`, is: ErrNotFound, hintHas: "not an answer of Immich's API"},
		{name: "plain text on lines", status: 500, body: "upstream\n  connect error\n", msg: "upstream connect error"},
		{name: "long UTF-8 body", status: 502, body: strings.Repeat("é", 150), msg: strings.Repeat("é", 100) + "…"},
		{name: "cloudflare 524", status: 524, body: "error code: 524", msg: "error code: 524", hintHas: "proxy"},
		{name: "429", status: 429, body: "", header: http.Header{"Retry-After": {"7"}}, hintHas: "retry after 7"},
		{name: "long body", status: 502, body: long, msg: long[:200] + "…"},
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
			if tt.is != nil && !errors.Is(e, tt.is) {
				t.Fatalf("errors.Is(%v, %v) = false", e, tt.is)
			}
			for _, s := range []error{ErrUnauthorized, ErrForbidden, ErrNotFound} {
				if s != tt.is && errors.Is(e, s) {
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
