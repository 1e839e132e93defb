package wrapper

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Fields added after the last file are sent after it, the body is the same
// on every Open, and a part added once the body is closed (Len or Open ran)
// is refused instead of corrupting the body.
func TestMultipartBodyOrderAndClosed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.jpg")
	if err := os.WriteFile(p, []byte("photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := NewMultipartBody()
	for _, err := range []error{b.AddField("before", "1"), b.AddFile("assetData", p, 5, nil), b.AddField("after", "2")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	read := func() []byte {
		rc, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		raw, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	first, second := read(), read()
	if !bytes.Equal(first, second) || int64(len(first)) != b.Len() {
		t.Fatalf("two opens differ or length %d != Len %d", len(first), b.Len())
	}
	i, j, k := bytes.Index(first, []byte(`name="before"`)), bytes.Index(first, []byte("photo")), bytes.Index(first, []byte(`name="after"`))
	if i < 0 || j < i || k < j {
		t.Fatalf("parts out of order (%d, %d, %d):\n%s", i, j, k, first)
	}
	if err := b.AddField("late", "x"); err == nil {
		t.Fatal("AddField after Open: no error")
	}
	if err := b.AddFile("late", p, 5, nil); err == nil {
		t.Fatal("AddFile after Open: no error")
	}
	if !bytes.Equal(read(), first) {
		t.Fatal("a refused part changed the body")
	}
}
