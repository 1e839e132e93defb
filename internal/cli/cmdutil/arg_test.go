package cmdutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadArg(t *testing.T) {
	file := filepath.Join(t.TempDir(), "q.json")
	if err := os.WriteFile(file, []byte(`{"from":"file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ value, want, from string }{
		{"-", `{"from":"stdin"}`, "standard input"},
		{"@" + file, `{"from":"file"}`, file},
		{`{"from":"flag"}`, `{"from":"flag"}`, "--search"},
	} {
		raw, from, err := ReadArg(strings.NewReader(`{"from":"stdin"}`), "--search", tc.value)
		if err != nil || string(raw) != tc.want || from != tc.from {
			t.Errorf("ReadArg(%q) = %q, %q, %v; want %q from %q", tc.value, raw, from, err, tc.want, tc.from)
		}
	}
	_, _, err := ReadArg(strings.NewReader(""), "--search", "@"+file+".missing")
	var fe *FlagError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "--search") {
		t.Fatalf("a missing file: %v, want a *FlagError naming --search", err)
	}
}
