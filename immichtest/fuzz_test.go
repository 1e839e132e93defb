package immichtest

import (
	"bytes"
	"mime/multipart"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"a.jpg", "../../x", "..", "CON.txt", "a\x00b", "trail. ", strings.Repeat("é", 200), ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := sanitizeFilename(name)
		if got == "" || got == "." || got == ".." || len(got) > 255 {
			t.Fatalf("%q -> %q", name, got)
		}
		if strings.ContainsAny(got, `/\?<>:*|"`) {
			t.Fatalf("%q -> %q keeps a forbidden character", name, got)
		}
		for _, r := range got {
			if r < 0x20 || (r >= 0x80 && r <= 0x9f) {
				t.Fatalf("%q -> %q keeps a control character", name, got)
			}
		}
		if utf8.ValidString(name) && !utf8.ValidString(got) {
			t.Fatalf("%q -> %q cut inside a character", name, got)
		}
	})
}

func FuzzFromChecksum(f *testing.F) {
	f.Add("2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")
	f.Add("L9ThxnotKPzthJ7hu3bnORuT6xI=")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		b := fromChecksum(s)
		if len(s) != 28 && len(b) > len(s)/2 {
			t.Fatalf("%q decoded to %d bytes", s, len(b))
		}
	})
}

// FuzzUploadForm sends arbitrary multipart fields with an asset: whatever
// comes in, the fake answers 200, 201 or 400 (never 5xx, never a response
// the spec rejects) and stores an asset only on 201.
func FuzzUploadForm(f *testing.F) {
	f.Add("fileCreatedAt", "2024-05-01T10:00:00.000Z", "a.jpg", []byte("x"))
	f.Add("duration", "12", "clip.mp4", []byte("y"))
	f.Add("metadata", "[{}]", "a.heic", []byte{})
	f.Add("visibility", "bogus", "b.png", []byte("z"))
	f.Add("filename", "x.txt", "", []byte("q"))
	s := NewServer()
	defer s.Close()
	f.Fuzz(func(t *testing.T, field, value, file string, content []byte) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("fileModifiedAt", "2024-05-02T11:00:00.000Z")
		if field != "fileCreatedAt" {
			w.WriteField("fileCreatedAt", "2024-05-01T10:00:00.000Z")
		}
		w.WriteField(field, value)
		pw, _ := w.CreateFormFile("assetData", file)
		pw.Write(content)
		w.Close()
		before := len(s.Assets())
		r := do(t, s, "POST", "/assets", &multipartBody{buf: buf, ct: w.FormDataContentType()})
		switch r.status {
		case 200, 400:
			if len(s.Assets()) != before {
				t.Fatalf("%d stored an asset", r.status)
			}
		case 201:
			if len(s.Assets()) != before+1 {
				t.Fatal("201 without a stored asset")
			}
		default:
			t.Fatalf("%d %s", r.status, r.body)
		}
		for _, v := range s.ValidationFailures() {
			if v.Response {
				t.Fatalf("response violates the spec: %+v", v)
			}
		}
	})
}
