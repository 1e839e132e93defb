package wrapper

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
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

// The hand-written framing is byte for byte what mime/multipart's Writer
// writes for the same parts and boundary, and mime/multipart's Reader
// reads back every field, file name and file.
func TestMultipartBodyMatchesMimeMultipart(t *testing.T) {
	dir := t.TempDir()
	names := []string{"IMG_0001.JPG", `odd "name"` + "\r\n.heic", "no-extension", "clip.mp4"}
	b := NewMultipartBody()
	want := &bytes.Buffer{}
	mw := multipart.NewWriter(want)
	if err := mw.SetBoundary(b.boundary); err != nil {
		t.Fatal(err)
	}
	add := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	add(b.AddField(`we"ird\name`, "v1"))
	add(mw.WriteField(`we"ird\name`, "v1"))
	for k, n := range names {
		p := filepath.Join(dir, fmt.Sprint(k))
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		p = filepath.Join(p, n)
		content := bytes.Repeat([]byte{byte('a' + k)}, 100*k)
		add(os.WriteFile(p, content, 0o644))
		add(b.AddFile("assetData", p, int64(len(content)), nil))
		h := textproto.MIMEHeader{}
		esc := strings.NewReplacer(`"`, "%22", "\r", "%0D", "\n", "%0A").Replace(n)
		h.Set("Content-Disposition", `form-data; name="assetData"; filename="`+esc+`"`)
		ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(n)))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		w, err := mw.CreatePart(h)
		add(err)
		_, err = w.Write(content)
		add(err)
		add(b.AddField("after", fmt.Sprint(k)))
		add(mw.WriteField("after", fmt.Sprint(k)))
	}
	add(mw.Close())
	rc, err := b.Open()
	add(err)
	got, err := io.ReadAll(rc)
	add(err)
	rc.Close()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("framing differs from mime/multipart:\n got %q\nwant %q", got, want.Bytes())
	}
	if b.ContentType() != mw.FormDataContentType() || b.Len() != int64(len(got)) {
		t.Fatalf("content type %q (want %q), Len %d (body %d)", b.ContentType(), mw.FormDataContentType(), b.Len(), len(got))
	}
	_, params, err := mime.ParseMediaType(b.ContentType())
	add(err)
	mr := multipart.NewReader(bytes.NewReader(got), params["boundary"])
	files := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		add(err)
		if part.FormName() == "assetData" {
			data, err := io.ReadAll(part)
			add(err)
			if len(data) != 100*files {
				t.Fatalf("file %d: %d bytes", files, len(data))
			}
			files++
		}
	}
	if files != len(names) {
		t.Fatalf("read back %d files, want %d", files, len(names))
	}
}
