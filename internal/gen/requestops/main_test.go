package main

import (
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	spec := `{"info":{"version":"9.9.9"},"paths":{
		"/b/{id}":{"parameters":[],"get":{"operationId":"getB","responses":{"200":{"content":{"application/octet-stream":{}}}}}},
		"/a":{"post":{"operationId":"makeA","responses":{"201":{"content":{"application/json":{}}},"400":{"content":{"text/plain":{}}}}},
		      "get":{"operationId":"listA","responses":{"200":{"content":{"application/json; charset=utf-8":{}}}}}}}}`
	src, err := generate([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	got := string(src)
	for _, want := range []string{
		"from the Immich 9.9.9 spec. DO NOT EDIT.",
		"{\"GET\", \"/a\", \"listA\", false},\n\t{\"POST\", \"/a\", \"makeA\", false},\n\t{\"GET\", \"/b/{id}\", \"getB\", true},",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("output lacks %q:\n%s", want, got)
		}
	}
	if _, err := generate([]byte(`{"paths":{"/x":{"get":{}}}}`)); err == nil || !strings.Contains(err.Error(), "no operationId") {
		t.Fatalf("an operation without operationId: %v", err)
	}
}
