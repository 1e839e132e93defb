package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/goimmich/goimmich/api/apispec"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The committed table must be what the generator makes from the embedded
// spec: the CLI is in step with package api.
func TestGeneratedFileIsUpToDate(t *testing.T) {
	doc, err := apispec.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Generate(doc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../cli/apicmd/operations.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/cli/apicmd/operations.gen.go is stale: run go generate ./... at the module root")
	}
	ops := 0
	for _, item := range doc.Paths.Map() {
		ops += len(item.Operations())
	}
	if n := strings.Count(string(got), "Method: "); n != ops || n != 254 {
		t.Fatalf("generated %d operations, spec has %d, pinned release has 254", n, ops)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	doc, err := apispec.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	a, err := Generate(doc)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := Generate(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatal("two runs of the generator differ")
		}
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("  a\n\tb  c "); got != "a b c" {
		t.Fatalf("oneLine = %q", got)
	}
}
