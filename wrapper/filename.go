package wrapper

import (
	"mime"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes bounds a sanitised file name, in bytes. File systems allow 255
// bytes; the rest leaves room for a " (9999)" collision suffix and ".part".
const maxNameBytes = 200

// maxExtBytes is the longest extension kept whole when a name is shortened.
const maxExtBytes = 16

// sanitizeFilename turns a name chosen by someone else (a server's
// Content-Disposition, an asset's originalFileName, a user's override) into a
// single, portable file name, or "" when nothing usable is left.
//
// The result is valid UTF-8 of at most maxNameBytes bytes; it holds no path
// separator, no control or bidirectional-override character and none of
// <>:"|?*; it does not start with a dot or a space nor end with a dot or a
// space, so it is never "." or ".."; it is never a Windows device name (CON,
// NUL, COM1, ...). Only the last element of a path is kept, so
// "../../etc/passwd" gives "passwd". sanitizeFilename is idempotent.
func sanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "_")
	// Keep the last non-empty element of a path, with either separator.
	name = strings.TrimRight(name, `/\`)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), isBidiControl(r):
			// dropped: invisible, or used to disguise an extension
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	name = b.String()
	name = truncateName(name, maxNameBytes)
	name = trimName(name)
	if name == "" {
		return ""
	}
	if isWindowsReserved(name) {
		name = truncateName("_"+name, maxNameBytes)
	}
	return name
}

// trimName removes what Windows strips or Unix hides: leading dots and
// spaces, trailing dots and spaces.
func trimName(name string) string {
	for {
		t := strings.TrimLeft(name, ". ")
		t = strings.TrimRight(t, ". ")
		if t == name {
			return t
		}
		name = t
	}
}

// isBidiControl reports the Unicode bidirectional controls (and the zero-width
// marks) that can make "gpj.exe" display as "exe.jpg".
func isBidiControl(r rune) bool {
	switch {
	case r == 0x061C, r == 0x200E, r == 0x200F, r == 0xFEFF:
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// windowsReserved are device names Windows refuses as file names, with or
// without an extension.
var windowsReserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM0": true, "COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"COM¹": true, "COM²": true, "COM³": true,
	"LPT0": true, "LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
	"LPT¹": true, "LPT²": true, "LPT³": true,
}

// isWindowsReserved reports whether name, up to its first dot and without
// trailing spaces, is a Windows device name ("con.txt", "NUL  .jpg").
func isWindowsReserved(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.TrimRight(stem, " ")
	return windowsReserved[strings.ToUpper(stem)]
}

// truncateName shortens name to at most n bytes on a rune boundary, keeping
// a short extension whole ("very...long.jpg" stays a .jpg).
func truncateName(name string, n int) string {
	if len(name) <= n {
		return name
	}
	ext := filepath.Ext(name)
	if len(ext) > maxExtBytes || len(ext) >= n || strings.ContainsAny(ext, " ") {
		ext = ""
	}
	stem := name[:len(name)-len(ext)]
	stem = cutUTF8(stem, n-len(ext))
	return strings.TrimRight(stem, ". ") + ext
}

// cutUTF8 returns the longest prefix of s of at most n bytes that ends on a
// rune boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// filenameFromContentDisposition returns the file name of a Content-Disposition
// header (RFC 6266), preferring the RFC 5987 extended form, as Immich sends it:
//
//	inline; filename*=UTF-8''IMG%201.jpg
//
// It returns "" when there is none. The name is not sanitised.
func filenameFromContentDisposition(header string) string {
	if header == "" {
		return ""
	}
	// mime.ParseMediaType decodes filename* (RFC 2231/5987) into "filename",
	// in preference to a plain filename parameter.
	if _, params, err := mime.ParseMediaType(header); err == nil {
		return params["filename"]
	}
	return lenientFilename(header)
}

// lenientFilename reads the filename* or filename parameter of a header that
// mime.ParseMediaType refuses. Immich encodes names with JavaScript's
// encodeURIComponent, which leaves ( ) ' ! * ~ as they are; parentheses are
// not allowed there by RFC 5987, so "IMG_1 (1).jpg" arrives as below, which
// the strict parser rejects:
//
//	inline; filename*=UTF-8''IMG_1%20(1).jpg
func lenientFilename(header string) string {
	parts := strings.Split(header, ";")
	plain := ""
	for _, part := range parts[1:] {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "filename*":
			charset, rest, ok := strings.Cut(v, "'")
			if !ok {
				continue
			}
			_, enc, ok := strings.Cut(rest, "'") // skip the language tag
			if !ok {
				continue
			}
			if cs := strings.ToLower(charset); cs != "utf-8" && cs != "us-ascii" {
				continue
			}
			if name, err := url.PathUnescape(enc); err == nil && utf8.ValidString(name) {
				return name
			}
		case "filename":
			if plain == "" {
				plain = unquote(v)
			}
		}
	}
	return plain
}

// unquote removes the quotes and backslash escapes of an RFC 7230
// quoted-string; other values are returned as they are.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// preferredExt lists the extension to give each content type Immich serves,
// where mime.ExtensionsByType would choose oddly (".jfif" for JPEG).
var preferredExt = map[string]string{
	"image/jpeg":          ".jpg",
	"image/jpg":           ".jpg",
	"image/webp":          ".webp",
	"image/png":           ".png",
	"image/gif":           ".gif",
	"image/heic":          ".heic",
	"image/heif":          ".heif",
	"image/avif":          ".avif",
	"image/jxl":           ".jxl",
	"image/tiff":          ".tiff",
	"image/bmp":           ".bmp",
	"image/x-adobe-dng":   ".dng",
	"image/dng":           ".dng",
	"image/svg+xml":       ".svg",
	"video/mp4":           ".mp4",
	"video/quicktime":     ".mov",
	"video/webm":          ".webm",
	"video/x-matroska":    ".mkv",
	"video/x-msvideo":     ".avi",
	"video/3gpp":          ".3gp",
	"video/mp2t":          ".mts",
	"video/mpeg":          ".mpg",
	"application/zip":     ".zip",
	"application/x-zip":   ".zip",
	"application/pdf":     ".pdf",
	"application/xml":     ".xml",
	"application/x-xmp":   ".xmp",
	"application/rdf+xml": ".xmp",
}

// extensionFor returns the usual extension (".jpg") for a Content-Type header
// value, or "" when unknown or generic (application/octet-stream).
func extensionFor(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt == "" || mt == "application/octet-stream" {
		return ""
	}
	if ext, ok := preferredExt[mt]; ok {
		return ext
	}
	exts, err := mime.ExtensionsByType(mt)
	if err != nil || len(exts) == 0 {
		return ""
	}
	return exts[0]
}

// withExtension adds the extension of contentType to name when name has
// none.
func withExtension(name, contentType string) string {
	if filepath.Ext(name) != "" {
		return name
	}
	return name + extensionFor(contentType)
}

// numberedName returns name with " (n)" before its extension:
// "IMG_1.jpg", 2 gives "IMG_1 (2).jpg". The result stays within
// maxNameBytes plus the suffix.
func numberedName(name string, n int) string {
	ext := filepath.Ext(name)
	if len(ext) > maxExtBytes || ext == name {
		ext = ""
	}
	stem := name[:len(name)-len(ext)]
	return stem + " (" + strconv.Itoa(n) + ")" + ext
}
