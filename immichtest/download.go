package immichtest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"
	"image/jpeg"
	_ "image/png" // thumbnails of PNG originals
	"io"
	"net/http"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// defaultArchiveSize is Immich's default archiveSize of POST /download/info
// (4 GiB).
const defaultArchiveSize = 4 << 30

// downloadInfo is POST /download/info: the requested assets (by ids, album
// or user) split into archives the way Immich does: assets are added to the
// current archive until its size exceeds archiveSize.
func (s *Server) downloadInfo(c *call) {
	var body struct {
		AssetIDs    []uuid.UUID `json:"assetIds"`
		AlbumID     *uuid.UUID  `json:"albumId"`
		UserID      *uuid.UUID  `json:"userId"`
		ArchiveSize int64       `json:"archiveSize"`
	}
	if !c.decode(&body) {
		return
	}
	if body.ArchiveSize <= 0 {
		body.ArchiveSize = defaultArchiveSize
	}
	s.mu.Lock()
	var list []*assetRec
	switch {
	case body.AssetIDs != nil:
		for _, id := range body.AssetIDs {
			a, ok := c.accessLocked(id, "asset.download")
			if !ok {
				s.mu.Unlock()
				c.error(http.StatusBadRequest, noAccess("asset.download"))
				return
			}
			list = append(list, a)
		}
	case body.AlbumID != nil:
		al, ok := c.albumAccessLocked(*body.AlbumID, false)
		if !ok || (c.auth.link != nil && !c.auth.link.allowDownload) {
			s.mu.Unlock()
			c.error(http.StatusBadRequest, noAccess("album.download"))
			return
		}
		for _, id := range al.assetIDs {
			if a := s.assets[id]; a != nil && !a.IsTrashed {
				list = append(list, a)
			}
		}
	case body.UserID != nil:
		if *body.UserID != c.auth.userID || c.auth.link != nil {
			s.mu.Unlock()
			c.error(http.StatusBadRequest, noAccess("timeline.download"))
			return
		}
		for _, id := range s.order {
			if a := s.assets[id]; a.OwnerID == c.auth.userID && !a.IsTrashed {
				list = append(list, a)
			}
		}
	default:
		s.mu.Unlock()
		c.error(http.StatusBadRequest, "assetIds, albumId, or userId is required")
		return
	}
	s.mu.Unlock()
	archives := []any{}
	var total, size int64
	ids := []string{}
	for _, a := range list {
		total += a.Size
		size += a.Size
		ids = append(ids, a.ID.String())
		if size > body.ArchiveSize {
			archives = append(archives, map[string]any{"size": size, "assetIds": ids})
			size, ids = 0, []string{}
		}
	}
	if len(ids) > 0 {
		archives = append(archives, map[string]any{"size": size, "assetIds": ids})
	}
	c.json(http.StatusCreated, map[string]any{"totalSize": total, "archives": archives})
}

// downloadArchive is POST /download/archive: a zip of the originals,
// streamed (stored, not compressed), named by original file name, with
// "+1", "+2"... before the extension for repeated names as Immich does.
func (s *Server) downloadArchive(c *call) {
	var body struct {
		AssetIDs []uuid.UUID `json:"assetIds"`
	}
	if !c.decode(&body) {
		return
	}
	s.mu.Lock()
	list := make([]assetRec, 0, len(body.AssetIDs))
	for _, id := range body.AssetIDs {
		a, ok := c.accessLocked(id, "asset.download")
		if !ok {
			s.mu.Unlock()
			c.error(http.StatusBadRequest, noAccess("asset.download"))
			return
		}
		list = append(list, *a)
	}
	s.mu.Unlock()
	c.w.Header().Set("Content-Type", "application/octet-stream")
	if !c.streamHead(http.StatusOK) {
		return
	}
	c.responded = true
	fw := &faultWriter{w: c.w, c: c}
	fw.WriteHeader(http.StatusOK)
	zw := zip.NewWriter(fw)
	seen := map[string]int{}
	for _, a := range list {
		name := sanitizeFilename(a.OriginalFileName)
		n := seen[name]
		seen[name]++
		if n > 0 {
			e := path.Ext(name)
			name = fmt.Sprintf("%s+%d%s", strings.TrimSuffix(name, e), n, e)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: a.FileModifiedAt})
		if err != nil {
			return
		}
		f, err := a.content.open()
		if err != nil {
			panic(http.ErrAbortHandler) // cannot report an error mid-stream
		}
		_, err = io.Copy(w, f)
		f.Close()
		if err != nil {
			return
		}
	}
	zw.Close()
}

var (
	windowsReserved = regexp.MustCompile(`(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$`)
	trailingDotsRE  = regexp.MustCompile(`[. ]+$`)
)

// sanitizeFilename does what the sanitize-filename package does for Immich's
// archive entries: drop / ? < > \ : * | " and control characters, names made
// of dots, Windows device names and trailing dots or spaces, cut to 255
// bytes; "unnamed" when nothing is left.
func sanitizeFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/?<>\:*|"`, r) || r < 0x20 || (r >= 0x80 && r <= 0x9f) {
			return -1
		}
		return r
	}, name)
	if strings.Trim(name, ".") == "" || windowsReserved.MatchString(name) {
		name = ""
	}
	name = trailingDotsRE.ReplaceAllString(name, "")
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		return "unnamed"
	}
	return name
}

type thumbKey struct {
	id   uuid.UUID
	size string
}

// viewAsset is GET /assets/{id}/thumbnail: a real JPEG image. Sizes follow
// Immich's defaults: "thumbnail" has 250 pixels on its short side, "preview"
// (and the larger sizes, which the fake does not distinguish) 1440, never
// enlarged. An uploaded JPEG, PNG or GIF (up to 32 MiB) is scaled down from
// its own pixels; anything else gets a square picture coloured by its
// checksum. Immich sends WebP thumbnails; the Go standard library has no
// WebP encoder, so the fake sends JPEG and says so in Content-Type and file
// name.
func (s *Server) viewAsset(c *call) {
	size := c.r.URL.Query().Get("size")
	if size == "" {
		size = "thumbnail"
	}
	if size == "original" {
		c.error(http.StatusBadRequest, "May not request original file")
		return
	}
	s.mu.Lock()
	a, ok := c.accessLocked(c.pathID("id"), "asset.view")
	var snap assetRec
	var img []byte
	if ok {
		snap = *a
		img = s.thumbs[thumbKey{a.ID, size}]
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("asset.view"))
		return
	}
	if img == nil {
		short := 1440
		if size == "thumbnail" {
			short = 250
		}
		img = renderThumb(snap.content, snap.Checksum, short)
		s.mu.Lock()
		if _, still := s.assets[snap.ID]; still {
			s.thumbs[thumbKey{snap.ID, size}] = img
		}
		s.mu.Unlock()
	}
	name := strings.TrimSuffix(snap.OriginalFileName, path.Ext(snap.OriginalFileName)) + "_" + size + ".jpg"
	s.serveFile(c, bytes.NewReader(img), int64(len(img)), name, "image/jpeg", snap.FileModifiedAt)
}

// maxThumbSource bounds the originals the fake decodes for thumbnails.
const maxThumbSource = 32 << 20

// renderThumb encodes a JPEG whose short side is short pixels (no
// enlargement, like sharp's fit "outside"): the original scaled down when it
// decodes as an image, else a checksum-coloured square.
func renderThumb(content blob, seed []byte, short int) []byte {
	var src image.Image
	if content.size <= maxThumbSource {
		if f, err := content.open(); err == nil {
			// Refuse pixel bombs before decoding: at most 50 megapixels.
			if cfg, _, err := image.DecodeConfig(f); err == nil && cfg.Width*cfg.Height <= 50e6 {
				if _, err := f.Seek(0, io.SeekStart); err == nil {
					src, _, _ = image.Decode(f)
				}
			}
			f.Close()
		}
	}
	var img image.Image
	if src != nil {
		img = scaleOutside(src, short)
	} else {
		if len(seed) < 3 {
			seed = append(seed, 0, 0, 0)
		}
		w, h := short, short
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				rgba.SetRGBA(x, y, color.RGBA{R: seed[0] + uint8(x*255/w), G: seed[1] + uint8(y*255/h), B: seed[2], A: 255})
			}
		}
		img = rgba
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// scaleOutside scales src down (nearest neighbour) so that its short side
// is short pixels; smaller images are kept as they are.
func scaleOutside(src image.Image, short int) image.Image {
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	if min(sw, sh) <= short || sw == 0 || sh == 0 {
		return src
	}
	w, h := sw*short/sh, short
	if sw < sh {
		w, h = short, sh*short/sw
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dst.Set(x, y, src.At(sb.Min.X+x*sw/w, sb.Min.Y+y*sh/h))
		}
	}
	return dst
}
