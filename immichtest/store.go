package immichtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Asset is an asset as the server holds it.
type Asset struct {
	ID               uuid.UUID
	OwnerID          uuid.UUID
	OriginalFileName string
	Checksum         []byte // raw SHA-1 of the content, computed by the server
	Size             int64
	Type             string // IMAGE, VIDEO, AUDIO or OTHER, from the file name as Immich does
	FileCreatedAt    time.Time
	FileModifiedAt   time.Time
	IsTrashed        bool
	Visibility       string // timeline, archive, hidden or locked
	DeviceAssetID    string // sent by Immich 2.x clients, "" otherwise
	DeviceID         string
	Sidecar          []byte // the sidecarData part, nil when none was sent
	ContentType      string // Immich's MIME type for the file name
	IsFavorite       bool
	Exif             Exif // what Immich would have read from the file; see SeedAsset
}

// Exif is the part of an asset's metadata (Immich's asset_exif) that search
// filters on. The fake reads nothing from files: an uploaded asset has none
// of these, and SeedAsset sets them. An empty string or a zero Rating is
// unknown, null in Immich's answers (so `"city": null` finds it).
type Exif struct {
	City, State, Country   string
	Make, Model, LensModel string
	// Rating is 1 to 5 stars (-1, "rejected", also exists in Immich 2.x);
	// 0 is unrated.
	Rating int
	// Description is the user's description (PUT /assets/{id} changes it).
	Description string
}

// blob is stored content: in memory (in chunks, so a body of unknown size
// never needs a doubled buffer), or a file under the data dir.
type blob struct {
	mem  chunks
	path string
	size int64
}

func (b blob) open() (io.ReadSeekCloser, error) {
	if b.path != "" {
		return os.Open(b.path)
	}
	return nopSeekCloser{io.NewSectionReader(b.mem, 0, b.size)}, nil
}

type nopSeekCloser struct{ *io.SectionReader }

func (nopSeekCloser) Close() error { return nil }

// chunkSize is the size of the in-memory chunks of a body.
const chunkSize = 1 << 20

// chunks is content held in memory as chunkSize pieces (the last shorter).
type chunks [][]byte

// ReadAt implements io.ReaderAt.
func (c chunks) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for len(p) > 0 {
		i, o := int(off/chunkSize), int(off%chunkSize)
		if i >= len(c) || o >= len(c[i]) {
			return n, io.EOF
		}
		k := copy(p, c[i][o:])
		n, off, p = n+k, off+int64(k), p[k:]
	}
	return n, nil
}

// Write implements io.Writer, appending.
func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(*c) == 0 || len((*c)[len(*c)-1]) == chunkSize {
			*c = append(*c, make([]byte, 0, min(chunkSize, max(len(p), 64<<10))))
		}
		last := &(*c)[len(*c)-1]
		if cap(*last) < chunkSize && len(*last)+len(p) > cap(*last) {
			grown := make([]byte, len(*last), min(chunkSize, 2*(len(*last)+len(p))))
			copy(grown, *last)
			*last = grown
		}
		k := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

// partDir is the folder under the data dir that uploads are written to
// until they are complete.
const partDir = "parts"

// copyBufs holds storeBody's copy buffers (a fresh 256 KiB per upload was
// most of the garbage of a run of small uploads).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// storeBody streams r into a new blob, computing its SHA-1 on the way. With
// a data dir the bytes go to a file (memory stays bounded by the copy
// buffer); otherwise to memory.
func (s *Server) storeBody(r io.Reader) (blob, []byte, error) {
	h := sha1.New()
	if s.cfg.dataDir != "" {
		f, err := os.CreateTemp(filepath.Join(s.cfg.dataDir, partDir), "upload-*.part")
		if err != nil {
			return blob{}, nil, err
		}
		bp := copyBufs.Get().(*[]byte)
		n, err := io.CopyBuffer(io.MultiWriter(f, h), r, *bp)
		copyBufs.Put(bp)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
			return blob{}, nil, err
		}
		return blob{path: f.Name(), size: n}, h.Sum(nil), nil
	}
	var c chunks
	n, err := io.Copy(io.MultiWriter(&c, h), r)
	if err != nil {
		return blob{}, nil, err
	}
	return blob{mem: c, size: n}, h.Sum(nil), nil
}

func (b blob) remove() {
	if b.path != "" {
		os.Remove(b.path)
	}
}

// assetRec is the server's record of an asset.
type assetRec struct {
	Asset
	content   blob
	seq       int64
	createdAt time.Time
	updatedAt time.Time
	deletedAt time.Time
	duration  string // as sent ("" when none)
	// description is the user's description (exifInfo.description); it
	// is kept here, not in Asset.Exif.Description, which snapshots fill.
	description string
}

// originalPath is where Immich would keep the upload:
// /data/upload/<owner>/<id[0:2]>/<id[2:4]>/<id><ext>.
func (a *assetRec) originalPath() string {
	id := a.ID.String()
	return fmt.Sprintf("/data/upload/%s/%s/%s/%s%s", a.OwnerID, id[0:2], id[2:4], id, strings.ToLower(path.Ext(a.OriginalFileName)))
}

func (a *assetRec) snapshot() Asset {
	out := a.Asset
	out.Exif.Description = a.description
	out.Checksum = bytes.Clone(a.Checksum)
	out.Sidecar = bytes.Clone(a.Sidecar)
	return out
}

// Assets returns a snapshot of every asset (trashed ones included), sorted
// by upload order.
func (s *Server) Assets() []Asset {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Asset, 0, len(s.order))
	for _, id := range s.order {
		if a, ok := s.assets[id]; ok {
			out = append(out, a.snapshot())
		}
	}
	return out
}

// Asset returns the asset with id, if the server holds it.
func (s *Server) Asset(id uuid.UUID) (Asset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.assets[id]
	if !ok {
		return Asset{}, false
	}
	return a.snapshot(), true
}

// AssetContent returns the stored bytes of the asset with id (read into
// memory; meant for small test files).
func (s *Server) AssetContent(id uuid.UUID) ([]byte, error) {
	s.mu.Lock()
	a, ok := s.assets[id]
	var b blob
	if ok {
		b = a.content
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("immichtest: no asset %s", id)
	}
	f, err := b.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// AddAsset stores content as if the default user had uploaded it under
// name, with both file dates set to now, and returns it. It panics when an
// asset with the same content exists already (Immich refuses duplicates).
func (s *Server) AddAsset(name string, content []byte) Asset {
	b, sum, err := s.storeBody(bytes.NewReader(content))
	if err != nil {
		panic(fmt.Sprintf("immichtest: AddAsset: %v", err))
	}
	t := now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.findByChecksumLocked(s.defaultUser, sum); dup {
		b.remove()
		panic(fmt.Sprintf("immichtest: AddAsset(%q): same content as an existing asset", name))
	}
	a := s.addAssetLocked(Asset{
		OwnerID: s.defaultUser, OriginalFileName: name, FileCreatedAt: t, FileModifiedAt: t,
		Visibility: "timeline",
	}, b, sum)
	return a.snapshot()
}

func (s *Server) addAssetLocked(a Asset, b blob, sum []byte) *assetRec {
	a.ID = uuid.New()
	a.Checksum = sum
	a.Size = b.size
	a.Type = assetType(a.OriginalFileName)
	a.ContentType = lookupMIME(a.OriginalFileName)
	if a.Visibility == "" {
		a.Visibility = "timeline"
	}
	s.seq++
	t := now()
	rec := &assetRec{Asset: a, content: b, seq: s.seq, createdAt: t, updatedAt: t}
	if b.path != "" {
		id := a.ID.String()
		dir := filepath.Join(s.cfg.dataDir, id[0:2], id[2:4])
		final := filepath.Join(dir, id+strings.ToLower(path.Ext(a.OriginalFileName)))
		if err := os.Rename(b.path, final); err == nil {
			rec.content.path = final
		} else if os.MkdirAll(dir, 0o700) == nil && os.Rename(b.path, final) == nil {
			rec.content.path = final
		}
	}
	s.assets[a.ID] = rec
	s.order = append(s.order, a.ID)
	s.indexLocked(rec)
	return rec
}

func (s *Server) findByChecksumLocked(owner uuid.UUID, sum []byte) (*assetRec, bool) {
	for _, id := range s.byChecksum[checksumKey(owner, sum)] {
		if a := s.assets[id]; a != nil {
			return a, true
		}
	}
	return nil, false
}

// checksumKey is the key of s.byChecksum: like Immich's unique index on
// (ownerId, checksum), lookups cost one map access, not a scan.
func checksumKey(owner uuid.UUID, sum []byte) string {
	return string(owner[:]) + string(sum)
}

// indexLocked adds a to the checksum index, after the assets already there
// (so lookups find the earliest upload first, as a scan in order would).
func (s *Server) indexLocked(a *assetRec) {
	k := checksumKey(a.OwnerID, a.Checksum)
	s.byChecksum[k] = append(s.byChecksum[k], a.ID)
}

// unindexLocked removes a from the checksum index, under its current
// checksum.
func (s *Server) unindexLocked(a *assetRec) {
	k := checksumKey(a.OwnerID, a.Checksum)
	ids := slices.DeleteFunc(s.byChecksum[k], func(id uuid.UUID) bool { return id == a.ID })
	if len(ids) == 0 {
		delete(s.byChecksum, k)
	} else {
		s.byChecksum[k] = ids
	}
}

// deleteAssetLocked removes an asset for good, with its file and album
// memberships.
func (s *Server) deleteAssetLocked(id uuid.UUID) {
	a, ok := s.assets[id]
	if !ok {
		return
	}
	a.content.remove()
	s.unindexLocked(a)
	delete(s.assets, id)
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	for _, al := range s.albums {
		al.assetIDs = removeID(al.assetIDs, id)
	}
	for k := range s.thumbs {
		if k.id == id {
			delete(s.thumbs, k)
		}
	}
}

func removeID(ids []uuid.UUID, id uuid.UUID) []uuid.UUID {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// fromChecksum decodes a checksum as Immich does: 28 characters are base64,
// anything else hex. It returns nil when the text decodes to nothing.
func fromChecksum(s string) []byte {
	if len(s) == 28 {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		return b
	}
	// Like Node's Buffer.from(hex): decode up to the first invalid pair.
	out := make([]byte, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			break
		}
		out = append(out, hi<<4|lo)
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ---- DTOs ----

const timeLayout = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// durationIsString reports whether the spec's AssetResponseDto.duration is
// a string ("0:00:00.00000", Immich 2.x) rather than integer milliseconds.
func (s *Server) durationIsString() bool {
	sc := s.spec.Components.Schemas["AssetResponseDto"]
	if sc == nil || sc.Value == nil {
		return false
	}
	d := sc.Value.Properties["duration"]
	return d != nil && d.Value != nil && d.Value.Type.Is("string")
}

// assetDTO builds an AssetResponseDto, with the fields of every supported
// release (extra fields are allowed by the spec).
func (s *Server) assetDTOLocked(a *assetRec) map[string]any {
	owner := s.users[a.OwnerID]
	var dur any
	if s.durationIsString() {
		dur = "0:00:00.00000"
		if a.duration != "" {
			dur = a.duration
		}
	} else if a.duration != "" {
		var ms int64
		if _, err := fmt.Sscan(a.duration, &ms); err == nil {
			dur = ms
		}
	}
	id := a.ID.String()
	m := map[string]any{
		"id":               id,
		"deviceAssetId":    a.DeviceAssetID,
		"deviceId":         a.DeviceID,
		"ownerId":          a.OwnerID.String(),
		"libraryId":        nil,
		"type":             a.Type,
		"originalPath":     a.originalPath(),
		"originalFileName": a.OriginalFileName,
		"originalMimeType": a.ContentType,
		"resized":          true,
		"thumbhash":        nil,
		"fileCreatedAt":    ts(a.FileCreatedAt),
		"fileModifiedAt":   ts(a.FileModifiedAt),
		"localDateTime":    ts(a.FileCreatedAt),
		"createdAt":        ts(a.createdAt),
		"updatedAt":        ts(a.updatedAt),
		"isFavorite":       a.IsFavorite,
		"isArchived":       a.Visibility == "archive",
		"isTrashed":        a.IsTrashed,
		"isOffline":        false,
		"isEdited":         false,
		"visibility":       a.Visibility,
		"duration":         dur,
		"hasMetadata":      true,
		"width":            nil,
		"height":           nil,
		"checksum":         base64.StdEncoding.EncodeToString(a.Checksum),
		"duplicateId":      nil,
		"livePhotoVideoId": nil,
		"people":           []any{},
		"tags":             []any{},
		"stack":            nil,
		"exifInfo":         s.exifDTO(a),
	}
	if owner != nil {
		m["owner"] = s.userDTO(owner)
	}
	return m
}

// exifDTO builds an ExifResponseDto with the properties the spec's
// release has: the file's size and dates, the user's description, and the
// seeded place, camera and rating (null when unknown, as Immich answers).
func (s *Server) exifDTO(a *assetRec) map[string]any {
	orNull := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	var rating any
	if a.Exif.Rating != 0 {
		rating = a.Exif.Rating
	}
	all := map[string]any{
		"fileSizeInByte":   a.Size,
		"description":      a.description,
		"dateTimeOriginal": ts(a.FileCreatedAt),
		"modifyDate":       ts(a.FileModifiedAt),
		"city":             orNull(a.Exif.City),
		"state":            orNull(a.Exif.State),
		"country":          orNull(a.Exif.Country),
		"make":             orNull(a.Exif.Make),
		"model":            orNull(a.Exif.Model),
		"lensModel":        orNull(a.Exif.LensModel),
		"rating":           rating,
	}
	m := make(map[string]any, len(all))
	for k, v := range all {
		if s.schemaHas("ExifResponseDto", k) {
			m[k] = v
		}
	}
	return m
}

func (s *Server) userDTO(u *user) map[string]any {
	return map[string]any{
		"id":               u.id.String(),
		"email":            u.email,
		"name":             u.name,
		"profileImagePath": "",
		"avatarColor":      "primary",
		"profileChangedAt": ts(u.createdAt),
	}
}
