package immichtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a server for one test and fails the test if the fake answered
// anything that violates the spec.
func start(t *testing.T, opts ...Option) *Server {
	t.Helper()
	return NewTestServer(t, opts...)
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// apiError is Immich's error body with the message as text (a list of
// validation messages joined by "; "; in 3.x the issues as "path: message").
type apiError struct {
	Message       string
	Error         string
	StatusCode    int
	CorrelationID string // the body's (2.x) or the header's (3.x)
	List          bool   // a validation failure: message was a list (2.x) or errors came (3.x)
	Issues        []issue
}

type issue struct {
	Code    string
	Path    []any
	Message string
}

// errBody decodes an error answer and fails the test unless it has the
// shape of the spec's major: 3.x {"message"} (+ "errors" for validation)
// with an X-Correlation-ID header; 2.x message, error, statusCode and
// correlationId, also in the x-immich-cid header.
func (r resp) errBody(t *testing.T) apiError {
	t.Helper()
	var raw map[string]json.RawMessage
	r.json(t, &raw)
	var out apiError
	if _, v2 := raw["statusCode"]; v2 {
		var e struct {
			Message       json.RawMessage
			Error         string
			StatusCode    int
			CorrelationID string
		}
		r.json(t, &e)
		out = apiError{Error: e.Error, StatusCode: e.StatusCode, CorrelationID: e.CorrelationID}
		var list []string
		if json.Unmarshal(e.Message, &out.Message) != nil {
			if err := json.Unmarshal(e.Message, &list); err != nil || len(list) == 0 {
				t.Fatalf("message neither text nor list: %s", r.body)
			}
			out.Message, out.List = strings.Join(list, "; "), true
		}
		if out.StatusCode != r.status || (out.Error == "") != (r.status == 500) || out.Message == "" ||
			out.CorrelationID == "" || r.header.Get("x-immich-cid") != out.CorrelationID {
			t.Fatalf("not Immich 2's error shape for %d: %s %v", r.status, r.body, r.header)
		}
		return out
	}
	var e struct {
		Message string
		Errors  []issue
	}
	r.json(t, &e)
	for k := range raw {
		if k != "message" && k != "errors" {
			t.Fatalf("Immich 3's error body has no %q: %s", k, r.body)
		}
	}
	out = apiError{Message: e.Message, StatusCode: r.status, CorrelationID: r.header.Get("X-Correlation-ID"), Issues: e.Errors}
	if _, ok := raw["errors"]; ok {
		if e.Message != "Validation failed" || len(e.Errors) == 0 {
			t.Fatalf("not Immich 3's validation shape: %s", r.body)
		}
		var msgs []string
		for _, is := range e.Errors {
			if is.Code == "" || is.Message == "" {
				t.Fatalf("issue without code or message: %s", r.body)
			}
			if len(is.Path) == 0 {
				msgs = append(msgs, is.Message)
				continue
			}
			var path []string
			for _, p := range is.Path {
				path = append(path, fmt.Sprint(p))
			}
			msgs = append(msgs, strings.Join(path, ".")+": "+is.Message)
		}
		out.Message, out.List = strings.Join(msgs, "; "), true
	}
	if out.Message == "" || out.CorrelationID == "" {
		t.Fatalf("not Immich 3's error shape for %d: %s %v", r.status, r.body, r.header)
	}
	return out
}

// call sends a request with the default API key (unless header sets
// another auth) and reads the whole answer.
func do(t *testing.T, s *Server, method, path string, body any, header ...string) resp {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case *multipartBody:
		rd, ct = bytes.NewReader(b.buf.Bytes()), b.ct
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("x-api-key", s.APIKey())
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

type multipartBody struct {
	buf bytes.Buffer
	ct  string
}

// form builds a multipart body: fields in order (name, value pairs), then
// the assetData part when name is not empty.
func form(name string, content []byte, fields ...string) *multipartBody {
	m := &multipartBody{}
	w := multipart.NewWriter(&m.buf)
	for i := 0; i+1 < len(fields); i += 2 {
		w.WriteField(fields[i], fields[i+1])
	}
	if name != "" {
		pw, _ := w.CreateFormFile("assetData", name)
		pw.Write(content)
	}
	w.Close()
	m.ct = w.FormDataContentType()
	return m
}

var dates = []string{"fileCreatedAt", "2024-05-01T10:00:00.000Z", "fileModifiedAt", "2024-05-02T11:00:00.000Z"}

// upload posts content as name with valid dates and returns id and status.
func uploadFile(t *testing.T, s *Server, name string, content []byte, extra ...string) (string, string, int) {
	t.Helper()
	r := do(t, s, "POST", "/assets", form(name, content, append(append([]string{}, dates...), extra...)...))
	var out struct{ ID, Status string }
	if r.status == 200 || r.status == 201 {
		r.json(t, &out)
	} else {
		t.Fatalf("upload %s: %d %s", name, r.status, r.body)
	}
	return out.ID, out.Status, r.status
}

func sha(b []byte) []byte { s := sha1.Sum(b); return s[:] }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
