package immichtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// unimplemented returns the Unimplemented failures recorded by s.
func unimplemented(s *Server) []ValidationFailure {
	var out []ValidationFailure
	for _, f := range s.ValidationFailures() {
		if f.Unimplemented {
			out = append(out, f)
		}
	}
	return out
}

// TestUnhonouredField501: a field of the spec the fake does not implement
// (in a JSON body, a query, a multipart form) is answered 501 naming it,
// recorded, and changes nothing.
func TestUnhonouredField501(t *testing.T) {
	s := NewServer()
	defer s.Close()
	id, _, _ := uploadFile(t, s, "a.jpg", []byte("a"))
	cases := []struct {
		name, method, path string
		body               any
		op, field          string
	}{
		{"json body", "PUT", "/assets/" + id, map[string]any{"isFavorite": true, "rating": 5}, "updateAsset", "rating"},
		{"json value", "POST", "/albums", map[string]any{"albumName": "x", "albumUsers": []any{map[string]any{"userId": uuid.NewString(), "role": "editor"}}}, "createAlbum", "albumUsers"},
		{"query", "GET", "/assets/" + id + "/thumbnail?size=fullsize", nil, "viewAsset", "size"},
		{"multipart", "POST", "/assets", form("b.jpg", []byte("b"), append([]string{"livePhotoVideoId", id}, dates...)...), "uploadAsset", "livePhotoVideoId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(unimplemented(s))
			r := do(t, s, tc.method, tc.path, tc.body)
			want := fmt.Sprintf("immichtest does not implement field %s of operation %s", tc.field, tc.op)
			if r.status != 501 || r.errBody(t).Message != want {
				t.Fatalf("%d %s, want 501 %q", r.status, r.body, want)
			}
			f := unimplemented(s)
			if len(f) != before+1 || f[before].OperationID != tc.op || !strings.Contains(f[before].Err, tc.field) {
				t.Fatalf("recorded %+v", f)
			}
		})
	}
	if a, _ := s.Asset(uuid.MustParse(id)); a.IsFavorite {
		t.Fatal("a refused update changed the asset")
	}
	if n := len(s.Assets()); n != 1 || len(s.Albums()) != 0 {
		t.Fatalf("refused requests stored %d assets, %d albums", n, len(s.Albums()))
	}
	// Fields the spec does not have are dropped, as Immich drops them; an
	// honoured field with an accepted value passes.
	r := do(t, s, "PUT", "/assets/"+id, map[string]any{"isFavorite": true, "noSuchField": 1})
	if r.status != 200 {
		t.Fatalf("unknown field: %d %s", r.status, r.body)
	}
	r = do(t, s, "POST", "/albums", map[string]any{"albumName": "y", "albumUsers": []any{}})
	if r.status != 201 {
		t.Fatalf("empty albumUsers: %d %s", r.status, r.body)
	}
}

// TestUnimplementedOperation501: an operation of the spec without a handler
// answers 501 and is recorded.
func TestUnimplementedOperation501(t *testing.T) {
	s := NewServer()
	defer s.Close()
	r := do(t, s, "GET", "/people", nil)
	if r.status != 501 || r.errBody(t).Message != "immichtest does not implement operation getAllPeople" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if f := unimplemented(s); len(f) != 1 || f[0].OperationID != "getAllPeople" {
		t.Fatalf("recorded %+v", f)
	}
}

// TestNewTestServerReportsUnimplemented: a 501 of the fake fails the test
// that started it.
func TestNewTestServerReportsUnimplemented(t *testing.T) {
	rt := &recTB{TB: t}
	s := NewTestServer(rt)
	do(t, s, "GET", "/people", nil)
	do(t, s, "GET", "/assets/"+uuid.NewString()+"/thumbnail?size=fullsize", nil)
	for _, f := range rt.cleanups {
		f()
	}
	if len(rt.errs) != 2 || !strings.Contains(rt.errs[0], "getAllPeople") || !strings.Contains(rt.errs[1], "field size of operation viewAsset") {
		t.Fatalf("reported %q", rt.errs)
	}
}

// TestSearchHonoursEveryField: search operations honour every request field
// of their spec (derived from it, for each release).
func TestSearchHonoursEveryField(t *testing.T) {
	s := start(t)
	var want []string
	for _, e := range s.router.routes {
		if e.rt.opID == "searchAssets" {
			want = specFields(e.rt)
		}
	}
	slices.Sort(want)
	got := s.honouredFields("searchAssets")
	if len(want) < 40 || !slices.Equal(got, want) {
		t.Fatalf("honoured %v, spec %v", got, want)
	}
	if got := s.honouredFields("updateAsset"); slices.Contains(got, "rating") || !slices.Contains(got, "isFavorite") {
		t.Fatalf("updateAsset honours %v", got)
	}
}

// TestErrorShape3x: Immich 3 answers errors with only a message (a
// validation failure adds zod's issues with the field's path) and names
// every answer with X-Correlation-ID, the caller's when it sent one.
func TestErrorShape3x(t *testing.T) {
	s := start(t)
	r := do(t, s, "GET", "/server/ping", nil)
	if r.status != 200 || len(r.header.Get("X-Correlation-ID")) != 36 {
		t.Fatalf("ping: %d %v", r.status, r.header)
	}
	r = do(t, s, "GET", "/server/ping", nil, "X-Correlation-ID", "mine-1")
	if got := r.header.Get("X-Correlation-ID"); got != "mine-1" {
		t.Fatalf("correlation id %q, want the caller's", got)
	}
	r = do(t, s, "GET", "/assets/"+uuid.NewString(), nil, "X-Correlation-ID", "mine-2")
	if e := r.errBody(t); r.status != 400 || e.CorrelationID != "mine-2" || e.List {
		t.Fatalf("%d %s %v", r.status, r.body, r.header)
	}
	cases := []struct {
		name       string
		method     string
		path       string
		body       any
		code       string
		path0      []any
		msgContain string
	}{
		{"multipart type", "POST", "/assets", form("a.mp4", []byte("v"), append([]string{"duration", "abc"}, dates...)...), "invalid_type", []any{"duration"}, "expected number, received NaN"},
		{"required", "POST", "/assets/bulk-upload-check", map[string]any{"assets": []any{map[string]any{"id": "1"}}}, "invalid_type", []any{"assets", 0, "checksum"}, "expected string, received undefined"},
		{"enum", "PUT", "/assets", map[string]any{"ids": []string{}, "visibility": "nowhere"}, "invalid_value", []any{"visibility"}, `Invalid option: expected one of "archive"|"timeline"`},
		{"uuid", "DELETE", "/assets", map[string]any{"ids": []string{"x"}}, "invalid_format", []any{"ids", 0}, "Invalid UUID"},
		{"query", "GET", "/assets/statistics?isFavorite=maybe", nil, "", []any{"isFavorite"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, s, tc.method, tc.path, tc.body)
			e := r.errBody(t)
			if r.status != 400 || !e.List || len(e.Issues) != 1 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			is := e.Issues[0]
			if fmt.Sprint(is.Path) != fmt.Sprint(tc.path0) || (tc.code != "" && is.Code != tc.code) || !strings.Contains(is.Message, tc.msgContain) {
				t.Fatalf("issue %+v, want path %v code %q", is, tc.path0, tc.code)
			}
		})
	}
}

// TestErrorShape2x: Immich 2 answers errors with message (a list for
// validation), error, statusCode and correlationId, and the correlation id
// in x-immich-cid.
func TestErrorShape2x(t *testing.T) {
	s := start(t, WithSpecFile(specFile(t, "2.7.3")))
	r := do(t, s, "GET", "/assets/"+uuid.NewString(), nil, "x-immich-cid", "mine-3")
	e := r.errBody(t)
	if r.status != 400 || e.List || e.Error != "Bad Request" || e.StatusCode != 400 || e.CorrelationID != "mine-3" ||
		e.Message != "Not found or no asset.read access" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r.header.Get("X-Correlation-ID") != "" {
		t.Fatalf("2.x answered a 3.x header: %v", r.header)
	}
	r = do(t, s, "POST", "/assets/bulk-upload-check", map[string]any{"items": []string{}})
	if e := r.errBody(t); r.status != 400 || !e.List || !contains(e.Message, "assets") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = do(t, s, "DELETE", "/assets", map[string]any{"ids": []string{"x"}})
	if e := r.errBody(t); r.status != 400 || !e.List || !contains(e.Message, "ids") {
		t.Fatalf("not a uuid: %d %s", r.status, r.body)
	}
	r = do(t, s, "GET", "/no/such/path", nil)
	if e := r.errBody(t); r.status != 404 || e.Error != "Not Found" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	s.SetFaults(Faults{ErrorRate: 1})
	r = do(t, s, "GET", "/server/ping", nil)
	if e := r.errBody(t); r.status != http.StatusInternalServerError || e.Error != "" || e.Message != "Internal server error" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// TestShareLinkAlbumAdd501: adding to an album through a share link is
// something Immich allows (with allowUpload) and the fake does not
// implement: 501, by query key or header.
func TestShareLinkAlbumAdd501(t *testing.T) {
	s := NewServer(WithSpecFile(specFile(t, "2.7.3"))) // its 501s are recorded on purpose
	defer s.Close()
	var al struct{ ID string }
	do(t, s, "POST", "/albums", map[string]any{"albumName": "x"}).json(t, &al)
	var link struct{ Key string }
	do(t, s, "POST", "/shared-links", map[string]any{"type": "ALBUM", "albumId": al.ID}).json(t, &link)
	body := map[string]any{"ids": []string{uuid.NewString()}}
	for _, r := range []resp{
		do(t, s, "PUT", "/albums/"+al.ID+"/assets?key="+link.Key, body, "x-api-key", ""),
		do(t, s, "PUT", "/albums/"+al.ID+"/assets", body, "x-api-key", "", "x-immich-share-key", link.Key),
	} {
		if r.status != 501 || !contains(r.errBody(t).Message, "field key of operation addAssetsToAlbum") {
			t.Errorf("%d %s", r.status, r.body)
		}
	}
	if n := len(unimplemented(s)); n != 2 {
		t.Fatalf("recorded %d", n)
	}
}

// TestRegistryMatchesHandlers: every handler has an entry in the registry
// (search operations excepted: they honour their whole spec), and every
// entry has a handler.
func TestRegistryMatchesHandlers(t *testing.T) {
	s := start(t)
	search := map[string]bool{}
	for _, e := range s.router.routes {
		search[e.rt.opID] = e.rt.allFields
	}
	for op := range s.handlers() {
		if _, ok := honoured[op]; !ok && !search[op] {
			t.Errorf("handler %s has no registry entry", op)
		}
	}
	for op := range honoured {
		if _, ok := s.handlers()[op]; !ok {
			t.Errorf("registry entry %s has no handler", op)
		}
	}
}

// TestRegistryFieldsExist: every field the registry names exists in some
// release's spec of the operation, so a misspelt name cannot leave a real
// field answering 501. Fields of 2.x only (deviceAssetId) need the 2.x
// specs, from IMMICH_SPEC_DIR.
func TestRegistryFieldsExist(t *testing.T) {
	servers := []*Server{start(t)}
	for _, v := range []string{"2.3.1", "2.7.3"} {
		servers = append(servers, start(t, WithSpecFile(specFile(t, v))))
	}
	known := map[string]map[string]bool{}
	for _, srv := range servers {
		for _, e := range srv.router.routes {
			for _, f := range specFields(e.rt) {
				if known[e.rt.opID] == nil {
					known[e.rt.opID] = map[string]bool{}
				}
				known[e.rt.opID][f] = true
			}
		}
	}
	for op, fields := range honoured {
		for f := range fields {
			if !known[op][f] {
				t.Errorf("registry names %s.%s, which no spec has", op, f)
			}
		}
	}
}
