package wrapper

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitizeFilename(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct {
		in, want string
	}{
		{"IMG_0001.HEIC", "IMG_0001.HEIC"},
		{"Été à Paris.jpg", "Été à Paris.jpg"},
		{"../../etc/passwd", "passwd"},
		{`..\..\x`, "x"},
		{"/etc/shadow", "shadow"},
		{`C:\Windows\win.ini`, "win.ini"},
		{"dir/", "dir"},
		{"..", ""},
		{".", ""},
		{"...", ""},
		{"", ""},
		{"/", ""},
		{" . ", ""},
		{".hidden.jpg", "hidden.jpg"},
		{"trailing. . ", "trailing"},
		{"a\x00b.jpg", "ab.jpg"},
		{"new\nline\r.jpg", "newline.jpg"},
		{"tab\there.jpg", "tabhere.jpg"},
		{"del\x7f.jpg", "del.jpg"},
		{"c1\u0085.jpg", "c1.jpg"},
		{"photo\u202egpj.exe", "photogpj.exe"},
		{`what?<>:"|*.jpg`, "what_______.jpg"},
		{"CON", "_CON"},
		{"con.txt", "_con.txt"},
		{"Nul .jpg", "_Nul .jpg"},
		{"COM1.jpg", "_COM1.jpg"},
		{"lpt9", "_lpt9"},
		{"COM¹.png", "_COM¹.png"},
		{"CONSOLE.jpg", "CONSOLE.jpg"},
		{"bad\xff\xfe.jpg", "bad_.jpg"},
		{"\ufffd.jpg", "jpg"},
		{long, strings.Repeat("a", maxNameBytes)},
		{long + ".jpg", strings.Repeat("a", maxNameBytes-4) + ".jpg"},
		{strings.Repeat("é", 150) + ".mp4", strings.Repeat("é", (maxNameBytes-4)/2) + ".mp4"},
	}
	for _, tt := range tests {
		got := sanitizeFilename(tt.in)
		if got != tt.want {
			t.Errorf("sanitizeFilename(%q) = %q, want %q", tt.in, got, tt.want)
		}
		checkSafeName(t, tt.in, got)
	}
}

// checkSafeName asserts the guarantees of sanitizeFilename's doc comment.
func checkSafeName(t *testing.T, in, got string) {
	t.Helper()
	if got == "" {
		return
	}
	if !utf8.ValidString(got) {
		t.Fatalf("sanitizeFilename(%q) = %q: not valid UTF-8", in, got)
	}
	if len(got) > maxNameBytes {
		t.Fatalf("sanitizeFilename(%q) = %q: %d bytes > %d", in, got, len(got), maxNameBytes)
	}
	if strings.ContainsAny(got, `/\<>:"|?*`) {
		t.Fatalf("sanitizeFilename(%q) = %q: holds a separator or a character Windows refuses", in, got)
	}
	for _, r := range got {
		if unicode.IsControl(r) || isBidiControl(r) || r == utf8.RuneError {
			t.Fatalf("sanitizeFilename(%q) = %q: holds control character %U", in, got, r)
		}
	}
	if got == "." || got == ".." || strings.HasPrefix(got, ".") || strings.HasPrefix(got, " ") ||
		strings.HasSuffix(got, ".") || strings.HasSuffix(got, " ") {
		t.Fatalf("sanitizeFilename(%q) = %q: bad leading or trailing character", in, got)
	}
	if isWindowsReserved(got) {
		t.Fatalf("sanitizeFilename(%q) = %q: a Windows device name", in, got)
	}
	if !filepath.IsLocal(got) || filepath.Base(got) != got {
		t.Fatalf("sanitizeFilename(%q) = %q: not a single local name", in, got)
	}
	if again := sanitizeFilename(got); again != got {
		t.Fatalf("sanitizeFilename not idempotent: %q -> %q -> %q", in, got, again)
	}
	// The names derived from it stay single, local names too.
	for _, derived := range []string{numberedName(got, 9999) + ".part", got + ".part"} {
		if !filepath.IsLocal(derived) || filepath.Base(derived) != derived || len(derived) > 255 {
			t.Fatalf("derived name %q of %q is unsafe", derived, got)
		}
	}
}

// FuzzSanitize checks the guarantees of sanitizeFilename on any input, and
// that the result can be created as a file inside a folder and nowhere else.
// Seeds: testdata/fuzz/FuzzSanitize.
func FuzzSanitize(f *testing.F) {
	dir := f.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { root.Close() })
	f.Fuzz(func(t *testing.T, in string) {
		got := sanitizeFilename(in)
		checkSafeName(t, in, got)
		if got == "" {
			return
		}
		// The name must be creatable in the folder, as one entry of it.
		fh, err := root.OpenFile(got, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatalf("creating %q (from %q): %v", got, in, err)
		}
		fh.Close()
		if _, err := os.Lstat(filepath.Join(dir, got)); err != nil {
			t.Fatalf("%q (from %q) is not an entry of the folder: %v", got, in, err)
		}
		if err := root.Remove(got); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzContentDisposition checks that any Content-Disposition header yields a
// name that sanitises safely, and never panics.
func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{
		`attachment; filename="a.jpg"`,
		`inline; filename*=UTF-8''%2E%2E%2F%2E%2E%2Fetc%2Fpasswd`,
		`attachment; filename*=UTF-8'en'%E2%82%AC%20rates.jpg; filename="EUR rates.jpg"`,
		`attachment; filename="..\\..\\x"`,
		`inline; filename*=UTF-8''%00%0A.jpg`,
		`inline; filename*=UTF-8''IMG_0001%20(1).jpg`,
		`attachment; filename="a (1).jpg"; filename*=UTF-8''b%20(2)%2F.jpg`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		name := filenameFromContentDisposition(header)
		checkSafeName(t, name, sanitizeFilename(name))
	})
}

func TestFilenameFromContentDisposition(t *testing.T) {
	tests := []struct {
		header, want string
	}{
		{"", ""},
		{"inline", ""},
		{`attachment; filename="IMG_1.jpg"`, "IMG_1.jpg"},
		{`attachment; filename=plain.jpg`, "plain.jpg"},
		// Immich: inline; filename*=UTF-8''${encodeURIComponent(fileName)}
		{`inline; filename*=UTF-8''IMG%201%20%C3%A9t%C3%A9.jpg`, "IMG 1 été.jpg"},
		// RFC 6266: filename* wins over filename, whatever the order.
		{`attachment; filename*=UTF-8''%E2%82%AC%20rates.jpg; filename="EUR rates.jpg"`, "€ rates.jpg"},
		{`attachment; filename="EUR rates.jpg"; filename*=utf-8'en'%E2%82%AC%20rates.jpg`, "€ rates.jpg"},
		{`inline; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`, "../../etc/passwd"}, // sanitised later
		{`attachment; filename="a\"b.jpg"`, `a"b.jpg`},
		{`attachment; filename=`, ""},
		{`;;;`, ""},
		// Immich's encodeURIComponent leaves ( ) ' ! * ~ unencoded, which the
		// strict parser refuses.
		{`inline; filename*=UTF-8''IMG_0001%20(1).jpg`, "IMG_0001 (1).jpg"},
		{`inline; filename*=UTF-8''Caf%C3%A9%20(2)!.HEIC`, "Café (2)!.HEIC"},
		{`attachment; filename="a (1).jpg"; filename*=UTF-8''b%20(2).jpg`, "b (2).jpg"},
		{`attachment; filename="a (1).jpg"; filename*=ISO-8859-1''b%E9(2).jpg`, "a (1).jpg"},
		{`attachment; filename="q\"x (1).jpg"`, `q"x (1).jpg`},
		{`inline; filename*=UTF-8''bad%ZZ(1).jpg`, ""},
		{`inline; filename*=UTF-8''%FF(1).jpg`, ""},
		{`inline; filename*=UTF-8''..%2F..%2F(x)`, "../../(x)"},
	}
	for _, tt := range tests {
		if got := filenameFromContentDisposition(tt.header); got != tt.want {
			t.Errorf("filenameFromContentDisposition(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestExtensionFor(t *testing.T) {
	tests := []struct{ ct, want string }{
		{"image/jpeg", ".jpg"},
		{"image/webp", ".webp"},
		{"image/jpeg; charset=binary", ".jpg"},
		{"video/mp4", ".mp4"},
		{"video/quicktime", ".mov"},
		{"application/zip", ".zip"},
		{"application/octet-stream", ""},
		{"", ""},
		{"not a type", ""},
		{"image/x-unknown-thing", ""},
	}
	for _, tt := range tests {
		if got := extensionFor(tt.ct); got != tt.want {
			t.Errorf("extensionFor(%q) = %q, want %q", tt.ct, got, tt.want)
		}
	}
	if got := withExtension("IMG_1", "image/webp"); got != "IMG_1.webp" {
		t.Errorf("withExtension(IMG_1, webp) = %q", got)
	}
	if got := withExtension("IMG_1.HEIC", "image/jpeg"); got != "IMG_1.HEIC" {
		t.Errorf("withExtension keeps an existing extension, got %q", got)
	}
}

func TestNumberedName(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"IMG_1.jpg", 1, "IMG_1 (1).jpg"},
		{"IMG_1", 2, "IMG_1 (2)"},
		{"archive.tar.gz", 3, "archive.tar (3).gz"},
		{"x." + strings.Repeat("e", 40), 1, "x." + strings.Repeat("e", 40) + " (1)"},
	}
	for _, tt := range tests {
		if got := numberedName(tt.name, tt.n); got != tt.want {
			t.Errorf("numberedName(%q, %d) = %q, want %q", tt.name, tt.n, got, tt.want)
		}
	}
}
