package cmdutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/wrapper"
)

type jsonSample struct {
	Name    string            `json:"name"`
	List    []string          `json:"list"`
	Nil     []int             `json:"nil"`
	Bytes   []byte            `json:"bytes"`
	Omitted []string          `json:"omitted,omitempty"`
	Zero    int               `json:"zero,omitempty"`
	Ptr     *string           `json:"ptr,omitempty"`
	Map     map[string]any    `json:"map"`
	Nested  []map[string]bool `json:"nested"`
	Times   []time.Time       `json:"times"`
	NoTag   bool
	Skipped string `json:"-"`
	hidden  int
}

type jsonEmbedded struct {
	jsonSample
	Extra string `json:"extra,string"`
}

type jsonEmpty struct {
	A []int `json:"a,omitempty"`
}

// TestWriteJSONMatchesEncoder checks WriteJSON's output, byte for byte,
// against json.Encoder with SetIndent("", "  ") for the upload result and
// for values that exercise each rule (omitempty, "-", []byte, nil and empty
// slices, HTML escaping, values encoding/json lays out itself).
func TestWriteJSONMatchesEncoder(t *testing.T) {
	s := "<b>&"
	id := "9e6ccea5-d47e-4ac5-8b31-e770d24ce57a"
	result := &wrapper.UploadResult{
		Uploaded: []wrapper.UploadedFile{{Asset: api.AssetMediaResponseDto{Id: uuid.MustParse(id), Status: api.AssetMediaStatusCreated}, Filepath: "a/é.jpg", Bytes: 3}},
		Rejected: []wrapper.RejectedFile{{Filepath: "b.jpg", AssetID: &id, Reason: "duplicate", Trashed: true}, {Filepath: "c.txt", Reason: "unsupported_format"}},
		Failed:   []wrapper.FailedFile{{Filepath: "d\n.jpg", Error: "boom", Err: errors.New("boom")}},
		Stats:    wrapper.UploadStats{Total: 4, Uploaded: 1, Rejected: 2, Failed: 1},
	}
	values := map[string]any{
		"upload result":          result,
		"empty upload result":    &wrapper.UploadResult{Uploaded: []wrapper.UploadedFile{}},
		"sample":                 jsonSample{Name: s, List: []string{"x", s}, Bytes: []byte("hi"), Ptr: &s, Map: map[string]any{"k": []int{1}}, Nested: []map[string]bool{{"t": true}, {}}, Times: []time.Time{time.Unix(0, 0).UTC()}, Skipped: "no", hidden: 1},
		"zero sample":            jsonSample{},
		"pointer to sample":      &jsonSample{List: []string{}},
		"embedded (fallback)":    jsonEmbedded{Extra: "e"},
		"all omitted":            jsonEmpty{},
		"slice of structs":       []wrapper.FailedFile{{Filepath: "x"}, {Filepath: "y"}},
		"empty slice":            []int{},
		"nil":                    nil,
		"nil pointer":            (*wrapper.UploadResult)(nil),
		"bytes":                  []byte{1, 2, 3},
		"marshaler (time)":       time.Unix(1, 0).UTC(),
		"slice of marshalers":    []time.Time{time.Unix(1, 0).UTC()},
		"string":                 s,
		"nested slice in slice":  [][]int{{1, 2}, {}, nil},
		"map at the top (plain)": map[string][]int{"a": {1}},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			var want, got bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&got, v); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("WriteJSON differs from json.Encoder:\ngot:\n%s\nwant:\n%s", got.String(), want.String())
			}
		})
	}
}

// ptrText marshals through a pointer receiver only: encoding/json uses it
// for addressable values (slice elements, fields under a pointer) and not
// for copies.
type ptrText struct{ N int }

func (p *ptrText) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "pt-%d", p.N), nil }

type withPtrText struct {
	One  ptrText   `json:"one"`
	Many []ptrText `json:"many"`
}

// duplicateNames has two members named "A" (one by its Go name).
type duplicateNames struct {
	A string
	B string `json:"A"`
	C []int  `json:"c"`
}

type oddName struct {
	A []int `json:"a b,omitempty"`
	B []int `json:"ü"`
}

// TestWriteJSONFollowsEncodingJSONRules: pointer-receiver marshalers,
// repeated and unusual member names, as encoding/json handles them.
func TestWriteJSONFollowsEncodingJSONRules(t *testing.T) {
	for name, v := range map[string]any{
		"pointer marshalers under a pointer": &withPtrText{One: ptrText{1}, Many: []ptrText{{2}, {3}}},
		"pointer marshalers in a copy":       withPtrText{One: ptrText{1}, Many: []ptrText{{2}, {3}}},
		"slice of pointer marshalers":        []ptrText{{4}, {5}},
		"repeated names":                     duplicateNames{A: "a", B: "b", C: []int{1}},
		"unusual names":                      &oddName{A: []int{1}, B: []int{2}},
	} {
		t.Run(name, func(t *testing.T) { checkLikeEncoder(t, v) })
	}
}

// TestWriteJSONRandomResults fills the result types the CLI prints with
// random values (nil and empty lists, nil pointers, HTML and line
// separators in strings) and compares with the Encoder each time.
func TestWriteJSONRandomResults(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		for _, v := range []any{new(wrapper.UploadResult), new([]api.AssetResponseDto), new(api.UserAdminResponseDto)} {
			fill(reflect.ValueOf(v).Elem(), r, 0)
			if !t.Run(fmt.Sprintf("%d/%T", i, v), func(t *testing.T) { checkLikeEncoder(t, v) }) {
				return
			}
		}
	}
}

// fill sets v to random values, depth-bounded.
func fill(v reflect.Value, r *rand.Rand, depth int) {
	if depth > 6 || !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if r.IntN(4) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), r, depth+1)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(2e9), 0).UTC()))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), r, depth+1)
		}
	case reflect.Slice:
		switch r.IntN(3) {
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		case 2:
			n := 1 + r.IntN(3)
			sl := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(sl.Index(i), r, depth+1)
			}
			v.Set(sl)
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), r, depth+1)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		if v.Type().Key().Kind() == reflect.String && r.IntN(2) == 0 {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString("k<&>")
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, r, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString([]string{"", "a<b>&c", "é\u2028x", "plain"}[r.IntN(4)])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(r.Int64N(100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(r.Uint64N(100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(r.IntN(1000)) / 8)
	}
}

func checkLikeEncoder(t *testing.T, v any) {
	t.Helper()
	var want, got bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	wantErr := enc.Encode(v)
	gotErr := WriteJSON(&got, v)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("errors differ: Encoder %v, WriteJSON %v", wantErr, gotErr)
	}
	if wantErr == nil && got.String() != want.String() {
		t.Fatalf("WriteJSON differs from json.Encoder:\ngot:\n%s\nwant:\n%s", got.String(), want.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteJSONReportsWriteErrors(t *testing.T) {
	big := make([]string, 10000)
	for i := range big {
		big[i] = "some file name that takes room.jpg"
	}
	if err := WriteJSON(failingWriter{}, big); err == nil || err.Error() != "disk full" {
		t.Fatalf("err = %v, want disk full", err)
	}
}

// BenchmarkWriteJSON10kRejected: the JSON of a cached re-run of 10,000
// files, through json.Encoder and through WriteJSON, to a discarding
// writer (the CLI writes to stdout).
func BenchmarkWriteJSON10kRejected(b *testing.B) {
	res := &wrapper.UploadResult{Uploaded: []wrapper.UploadedFile{}, Failed: []wrapper.FailedFile{}}
	id := "9e6ccea5-d47e-4ac5-8b31-e770d24ce57a"
	for range 10000 {
		res.Rejected = append(res.Rejected, wrapper.RejectedFile{Filepath: "library/000/IMG_00000.jpg", AssetID: &id, Reason: "duplicate"})
	}
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			enc := json.NewEncoder(io.Discard)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("WriteJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := WriteJSON(io.Discard, res); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestWriteJSONListsMatchesWriteJSON spools an upload result's lists
// element by element into JSONLists and checks that WriteJSONLists writes
// the same bytes as WriteJSON of the whole result, for empty and filled
// lists, and that Close removes the temporary files.
func TestWriteJSONListsMatchesWriteJSON(t *testing.T) {
	id := "9e6ccea5-d47e-4ac5-8b31-e770d24ce57a"
	full := &wrapper.UploadResult{
		Uploaded: []wrapper.UploadedFile{
			{Asset: api.AssetMediaResponseDto{Id: uuid.MustParse(id), Status: api.AssetMediaStatusCreated}, Filepath: "a/é.jpg", Bytes: 3},
			{Asset: api.AssetMediaResponseDto{Id: uuid.MustParse(id), Status: api.AssetMediaStatusDuplicate}, Filepath: "<b>.jpg", Deleted: true},
		},
		Rejected: []wrapper.RejectedFile{},
		Failed:   []wrapper.FailedFile{{Filepath: "d\n.jpg", Error: "boom", Err: errors.New("boom")}},
		Stats:    wrapper.UploadStats{Total: 3, Uploaded: 2, Failed: 1, DurationMS: 12},
		DryRun:   true,
	}
	dir := t.TempDir()
	lists := map[string]*JSONList{}
	for _, name := range []string{"uploaded", "rejected", "failed"} {
		l, err := NewJSONList(dir)
		if err != nil {
			t.Fatal(err)
		}
		lists[name] = l
	}
	for i := range full.Uploaded {
		if err := lists["uploaded"].Add(&full.Uploaded[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range full.Failed {
		if err := lists["failed"].Add(&full.Failed[i]); err != nil {
			t.Fatal(err)
		}
	}
	summary := *full
	summary.Uploaded, summary.Rejected, summary.Failed = nil, nil, nil
	var got, want bytes.Buffer
	if err := WriteJSONLists(&got, &summary, lists); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&want, full); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("WriteJSONLists wrote\n%s\nWriteJSON wrote\n%s", got.String(), want.String())
	}
	if n := lists["uploaded"].Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	for _, l := range lists {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("Close left %v", left)
	}
}
