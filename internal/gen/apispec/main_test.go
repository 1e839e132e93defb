package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/goimmich/goimmich/api/apispec"
)

// TestCommittedFileIsGenerated regenerates api/apispec/spec.gen.go from the
// spec it embeds and expects the committed file byte for byte: the output
// is deterministic and round-trips.
func TestCommittedFileIsGenerated(t *testing.T) {
	spec, err := apispec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil || doc.OpenAPI == "" || len(doc.Paths) < 100 {
		t.Fatalf("the embedded spec does not decode to an OpenAPI document (%d paths, openapi %q): %v", len(doc.Paths), doc.OpenAPI, err)
	}
	got, err := generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "..", "api", "apispec", "spec.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("generating from the embedded spec gives %d bytes, the committed file has %d: run go generate", len(got), len(want))
	}
}

// TestGenerateIsDeterministic: two generations from one spec are equal,
// with the generated-code header and the constant.
func TestGenerateIsDeterministic(t *testing.T) {
	spec := []byte(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{}}`)
	src, err := generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("DO NOT EDIT")) || !bytes.Contains(src, []byte("const specGzip = `")) {
		t.Fatalf("generated source lacks its header or constant:\n%s", src)
	}
	again, err := generate(spec)
	if err != nil || !bytes.Equal(src, again) {
		t.Fatal("two generations from one spec differ")
	}
}
