package immichtest

import (
	"bytes"
	"io"
	"mime/multipart"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
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

// FuzzCheckUUID: the fake's uuid format check accepts exactly what
// kin-openapi's RFC 4122 pattern accepts.
func FuzzCheckUUID(f *testing.F) {
	for _, s := range []string{
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "F47AC10B-58CC-4372-A567-0E02B2C3D479",
		"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000001",
		"f47ac10b-58cc-6372-a567-0e02b2c3d479", "f47ac10b-58cc-4372-c567-0e02b2c3d479",
		"f47ac10b-58cc-4372-a567-0e02b2c3d47g", "f47ac10b058cc-4372-a567-0e02b2c3d479",
		"f47ac10b-58cc-4372-a567-0e02b2c3d4790", "f47ac10b-58cc-4372-a567-0e02b2c3d47", "",
	} {
		f.Add(s)
	}
	re := regexp.MustCompile(openapi3.FormatOfStringForUUIDOfRFC4122)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := checkUUID(s) == nil, re.MatchString(s); got != want {
			t.Fatalf("checkUUID(%q) accepts: %v, the pattern: %v", s, got, want)
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

// FuzzChunks writes data in pieces and reads it back at any offset.
func FuzzChunks(f *testing.F) {
	f.Add(bytes.Repeat([]byte("ab"), 700000), uint16(1000), int64(123456))
	f.Add([]byte("short"), uint16(1), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, piece uint16, off int64) {
		var c chunks
		step := int(piece)%70000 + 1
		for i := 0; i < len(data); i += step {
			c.Write(data[i:min(i+step, len(data))])
		}
		got, _ := io.ReadAll(io.NewSectionReader(c, 0, int64(len(data))))
		if !bytes.Equal(got, data) {
			t.Fatalf("read back %d bytes of %d", len(got), len(data))
		}
		if len(data) > 0 {
			off = (off%int64(len(data)) + int64(len(data))) % int64(len(data))
			buf := make([]byte, len(data)-int(off))
			if n, err := c.ReadAt(buf, off); n != len(buf) || (err != nil && err != io.EOF) || !bytes.Equal(buf, data[off:]) {
				t.Fatalf("ReadAt(%d): %d %v", off, n, err)
			}
		}
	})
}
