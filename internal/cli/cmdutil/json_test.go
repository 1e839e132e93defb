package cmdutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
