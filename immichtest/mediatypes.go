package immichtest

import (
	"path"
	"sort"
	"strings"
)

// The extension lists of Immich's server (server/src/utils/mime-types.ts):
// the first MIME type of each extension is the one Immich reports.
var (
	rawTypes = map[string]string{
		".3fr": "image/3fr", ".ari": "image/ari", ".arw": "image/arw", ".cap": "image/cap",
		".cin": "image/cin", ".cr2": "image/cr2", ".cr3": "image/cr3", ".crw": "image/crw",
		".dcr": "image/dcr", ".dng": "image/dng", ".erf": "image/erf", ".fff": "image/fff",
		".iiq": "image/iiq", ".k25": "image/k25", ".kdc": "image/kdc", ".mrw": "image/mrw",
		".nef": "image/nef", ".nrw": "image/nrw", ".orf": "image/orf", ".ori": "image/ori",
		".pef": "image/pef", ".psd": "image/psd", ".raf": "image/raf", ".raw": "image/raw",
		".rw2": "image/rw2", ".rwl": "image/rwl", ".sr2": "image/sr2", ".srf": "image/srf",
		".srw": "image/srw", ".x3f": "image/x3f",
	}
	otherImageTypes = map[string]string{
		".avif": "image/avif", ".bmp": "image/bmp", ".gif": "image/gif", ".heic": "image/heic",
		".heif": "image/heif", ".hif": "image/hif", ".insp": "image/jpeg", ".jpe": "image/jpeg",
		".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".jxl": "image/jxl", ".png": "image/png",
		".svg": "image/svg", ".tif": "image/tiff", ".tiff": "image/tiff", ".webp": "image/webp",
	}
	videoTypes = map[string]string{
		".3gp": "video/3gpp", ".3gpp": "video/3gpp", ".avi": "video/avi", ".flv": "video/x-flv",
		".insv": "video/mp4", ".m2ts": "video/mp2t", ".m4v": "video/x-m4v", ".mkv": "video/x-matroska",
		".mov": "video/quicktime", ".mp4": "video/mp4", ".mpe": "video/mpeg", ".mpeg": "video/mpeg",
		".mpg": "video/mpeg", ".mts": "video/mp2t", ".vob": "video/mpeg", ".webm": "video/webm",
		".wmv": "video/x-ms-wmv",
	}
	sidecarTypes = map[string]string{".xmp": "application/xml"}
)

func ext(name string) string { return strings.ToLower(path.Ext(name)) }

func imageType(e string) (string, bool) {
	if t, ok := rawTypes[e]; ok {
		return t, true
	}
	t, ok := otherImageTypes[e]
	return t, ok
}

// lookupMIME is Immich's mimeTypes.lookup.
func lookupMIME(name string) string {
	e := ext(name)
	if t, ok := imageType(e); ok {
		return t
	}
	if t, ok := videoTypes[e]; ok {
		return t
	}
	if t, ok := sidecarTypes[e]; ok {
		return t
	}
	return "application/octet-stream"
}

// assetType is Immich's mimeTypes.assetType.
func assetType(name string) string {
	t := lookupMIME(name)
	switch {
	case strings.HasPrefix(t, "image/"):
		return "IMAGE"
	case strings.HasPrefix(t, "video/"):
		return "VIDEO"
	}
	return "OTHER"
}

func isAssetFile(name string) bool {
	e := ext(name)
	_, img := imageType(e)
	_, vid := videoTypes[e]
	return img || vid
}

func isSidecarFile(name string) bool { _, ok := sidecarTypes[ext(name)]; return ok }

func extList(maps ...map[string]string) []string {
	var out []string
	for _, m := range maps {
		for k := range m {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
