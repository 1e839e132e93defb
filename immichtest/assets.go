package immichtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
)

// maxFieldSize bounds a non-file multipart field (and a sidecar).
const maxFieldSize = 16 << 20

// accessLocked returns the asset if the caller may use it with perm, as
// Immich's access checks do: owners may use their assets, except locked
// ones, which need a session elevated by the PIN code (the fake has no PIN,
// so never); a share link reaches the assets it shares (downloads only when
// it allows them).
func (c *call) accessLocked(id uuid.UUID, perm string) (*assetRec, bool) {
	a, ok := c.s.assets[id]
	if !ok {
		return nil, false
	}
	if l := c.auth.link; l != nil {
		if perm == "asset.download" && !l.allowDownload {
			return nil, false
		}
		if !c.s.linkHasAssetLocked(l, id) {
			return nil, false
		}
		return a, true
	}
	return a, a.OwnerID == c.auth.userID && a.Visibility != "locked"
}

// accessAllLocked reports whether the caller may use every asset of ids
// for perm (Immich checks the whole list before changing any).
func (c *call) accessAllLocked(ids []uuid.UUID, perm string) bool {
	for _, id := range ids {
		if _, ok := c.accessLocked(id, perm); !ok {
			return false
		}
	}
	return true
}

func noAccess(perm string) string { return fmt.Sprintf("Not found or no %s access", perm) }

// uploadAsset is POST /assets: the multipart body is streamed (the asset to
// memory or the data dir, hashed on the way); the other fields are then
// validated against the spec; unknown fields are dropped as Immich does.
func (s *Server) uploadAsset(c *call) {
	if c.auth.link != nil && !c.auth.link.allowUpload {
		c.error(http.StatusUnauthorized, "Unauthorized")
		return
	}
	if h := c.r.Header.Get("x-immich-checksum"); h != "" {
		s.mu.Lock()
		a, dup := s.findByChecksumLocked(c.auth.userID, fromChecksum(h))
		s.mu.Unlock()
		if dup {
			c.json(http.StatusOK, map[string]any{"id": a.ID.String(), "status": "duplicate"})
			return
		}
	}
	up, ok := s.receiveUpload(c)
	if !ok {
		return
	}
	name := up.name()
	created, modified := up.times()
	s.mu.Lock()
	if a, dup := s.findByChecksumLocked(c.auth.userID, up.sum); dup {
		s.mu.Unlock()
		up.content.remove()
		c.json(http.StatusOK, map[string]any{"id": a.ID.String(), "status": "duplicate"})
		return
	}
	rec := s.addAssetLocked(Asset{
		OwnerID: c.auth.userID, OriginalFileName: name,
		FileCreatedAt: created.UTC(), FileModifiedAt: modified.UTC(),
		Visibility: up.first("visibility"), IsFavorite: up.first("isFavorite") == "true",
		DeviceAssetID: up.first("deviceAssetId"), DeviceID: up.first("deviceId"),
		Sidecar: up.sidecar,
	}, up.content, up.sum)
	rec.duration = up.first("duration")
	s.upsertMetadataLocked(rec.ID, up.fields["metadata"])
	// Immich adds what is uploaded through a share link to the link: to its
	// album, or to its assets.
	if l := c.auth.link; l != nil {
		if al := s.albums[l.albumID]; al != nil {
			al.assetIDs = append(al.assetIDs, rec.ID)
		} else if l.albumID == uuid.Nil {
			l.assetIDs = append(l.assetIDs, rec.ID)
		}
	}
	id := rec.ID.String()
	s.mu.Unlock()
	c.json(http.StatusCreated, map[string]any{"id": id, "status": "created"})
}

// metadataItem is one entry of an asset's metadata (AssetMetadataResponseDto).
type metadataItem struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	UpdatedAt string          `json:"updatedAt"`
}

// upsertMetadataLocked stores the items of an upload's metadata field (a
// JSON list, validated already) as Immich does: one value per key, a new
// value replacing the old.
func (s *Server) upsertMetadataLocked(id uuid.UUID, fields []string) {
	for _, f := range fields {
		type item struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		var items []item
		if json.Unmarshal([]byte(f), &items) != nil {
			// One item per part.
			var one item
			if json.Unmarshal([]byte(f), &one) != nil {
				continue
			}
			items = []item{one}
		}
		for _, it := range items {
			list := slices.DeleteFunc(s.metadata[id], func(m metadataItem) bool { return m.Key == it.Key })
			list = append(list, metadataItem{Key: it.Key, Value: it.Value, UpdatedAt: ts(now())})
			slices.SortFunc(list, func(a, b metadataItem) int { return strings.Compare(a.Key, b.Key) })
			s.metadata[id] = list
		}
	}
}

// assetMetadata is GET /assets/{id}/metadata: what uploads stored.
func (s *Server) assetMetadata(c *call) {
	s.mu.Lock()
	a, ok := c.accessLocked(c.pathID("id"), "asset.read")
	list := []metadataItem{}
	if ok {
		list = append(list, s.metadata[a.ID]...)
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("asset.read"))
		return
	}
	c.json(http.StatusOK, list)
}

// replaceAsset is PUT /assets/{id}/original (Immich 2.x): the asset keeps
// its id and gets the new content; a trashed copy keeps the old content, and
// its id is returned with status "replaced".
func (s *Server) replaceAsset(c *call) {
	id := c.pathID("id")
	s.mu.Lock()
	_, ok := c.accessLocked(id, "asset.update")
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("asset.update"))
		return
	}
	up, ok := s.receiveUpload(c)
	if !ok {
		return
	}
	name := up.name()
	created, modified := up.times()
	s.mu.Lock()
	a, ok := s.assets[id]
	if !ok {
		s.mu.Unlock()
		up.content.remove()
		c.error(http.StatusBadRequest, noAccess("asset.update"))
		return
	}
	if dup, found := s.findByChecksumLocked(a.OwnerID, up.sum); found && dup.ID != a.ID {
		// The new content is another asset's: Immich's checksum constraint
		// turns the replace into a duplicate answer.
		s.mu.Unlock()
		up.content.remove()
		c.json(http.StatusOK, map[string]any{"id": dup.ID.String(), "status": "duplicate"})
		return
	}
	old := *a
	oldCopy := s.addAssetLocked(old.Asset, old.content, old.Checksum)
	oldCopy.IsTrashed, oldCopy.deletedAt = true, now()
	s.unindexLocked(a)
	a.content, a.Checksum, a.Size = up.content, up.sum, up.content.size
	s.indexLocked(a)
	a.OriginalFileName, a.Type, a.ContentType = name, assetType(name), lookupMIME(name)
	a.FileCreatedAt, a.FileModifiedAt = created.UTC(), modified.UTC()
	a.DeviceAssetID, a.DeviceID, a.Sidecar = up.first("deviceAssetId"), up.first("deviceId"), up.sidecar
	a.duration = up.first("duration")
	a.updatedAt = now()
	copyID := oldCopy.ID.String()
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{"id": copyID, "status": "replaced"})
}

type upload struct {
	fields   map[string][]string
	fileName string
	content  blob
	sum      []byte
	sidecar  []byte
}

func (u *upload) first(name string) string {
	if v := u.fields[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// name is the asset's file name: the "filename" field when sent, else the
// multipart file part's name.
func (u *upload) name() string {
	if fn := u.first("filename"); fn != "" {
		return fn
	}
	return u.fileName
}

// times parses the fileCreatedAt and fileModifiedAt fields; a missing or
// malformed one is the zero time.
func (u *upload) times() (created, modified time.Time) {
	created, _ = time.Parse(time.RFC3339Nano, u.first("fileCreatedAt"))
	modified, _ = time.Parse(time.RFC3339Nano, u.first("fileModifiedAt"))
	return created, modified
}

// receiveUpload streams the multipart body and validates it against the
// spec. It answers the request itself when it reports false.
func (s *Server) receiveUpload(c *call) (*upload, bool) {
	fail := func(err error) (*upload, bool) {
		s.recordFailure(ValidationFailure{OperationID: c.rt.opID, Method: c.r.Method, Path: c.r.URL.Path, Err: err.Error()})
		c.invalidRequest(err)
		return nil, false
	}
	mt, params := mediaType(c.r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" || params["boundary"] == "" {
		const msg = "request body must be multipart/form-data"
		s.recordFailure(ValidationFailure{OperationID: c.rt.opID, Method: c.r.Method, Path: c.r.URL.Path, Err: msg})
		c.invalid(msg)
		return nil, false
	}
	schema := c.rt.op.RequestBody.Value.Content["multipart/form-data"].Schema.Value
	up := &upload{fields: map[string][]string{}}
	var haveAsset bool
	cleanup := func() {
		if haveAsset {
			up.content.remove()
		}
	}
	mr := multipart.NewReader(c.r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			cleanup()
			return s.bodyError(c, err)
		}
		name := part.FormName()
		// Immich (multer) takes one assetData and one sidecarData file,
		// checks each file's type when it arrives (by the filename field
		// if it came before the file, else by the file's name), and
		// refuses any other file part.
		typeName := up.first("filename")
		if typeName == "" {
			typeName = part.FileName()
		}
		switch {
		case name == "assetData" && haveAsset, name == "sidecarData" && up.sidecar != nil,
			part.FileName() != "" && name != "assetData" && name != "sidecarData":
			cleanup()
			c.error(http.StatusBadRequest, "Unexpected field")
			return nil, false
		case name == "assetData":
			if !isAssetFile(typeName) {
				c.error(http.StatusBadRequest, "Unsupported file type "+typeName)
				return nil, false
			}
			up.fileName = part.FileName()
			b, sum, err := s.storeBody(part)
			if err != nil {
				return s.bodyError(c, err)
			}
			up.content, up.sum, haveAsset = b, sum, true
		case name == "sidecarData":
			if !isSidecarFile(typeName) {
				cleanup()
				c.error(http.StatusBadRequest, "Unsupported file type "+typeName)
				return nil, false
			}
			data, err := io.ReadAll(io.LimitReader(part, maxFieldSize))
			if err != nil {
				cleanup()
				return s.bodyError(c, err)
			}
			up.sidecar = data
			if up.sidecar == nil {
				up.sidecar = []byte{}
			}
		case schema.Properties[name] != nil:
			data, err := io.ReadAll(io.LimitReader(part, maxFieldSize))
			if err != nil {
				cleanup()
				return s.bodyError(c, err)
			}
			if !c.rt.honours(name, string(data)) {
				// The rest of the body is read first, so the client
				// gets the answer rather than a reset connection.
				cleanup()
				io.Copy(io.Discard, c.r.Body)
				c.unhonoured(name)
				return nil, false
			}
			up.fields[name] = append(up.fields[name], string(data))
		default:
			// Immich strips unknown fields.
			if _, err := io.Copy(io.Discard, part); err != nil {
				cleanup()
				return s.bodyError(c, err)
			}
		}
		part.Close()
	}
	if err := s.validateUpload(c, up, haveAsset); err != nil {
		cleanup()
		return fail(err)
	}
	return up, true
}

// bodyError answers a failed body read: 413 like a proxy for an injected
// size limit, 400 otherwise (the client is usually gone by then).
func (s *Server) bodyError(c *call, err error) (*upload, bool) {
	if errors.Is(err, errTooLarge) {
		proxyError(c.w, http.StatusRequestEntityTooLarge)
		c.responded = true
		return nil, false
	}
	c.error(http.StatusBadRequest, "Unexpected end of form: "+err.Error())
	return nil, false
}

// optionalInImmich names upload fields that some specs require but Immich
// treats as optional.
var optionalInImmich = []string{"metadata"}

// validateUpload runs openapi3filter on an equivalent multipart body holding
// the received fields (unknown ones dropped) and empty file parts, so the
// spec decides what is required and what each field must look like, while
// the (possibly huge) file never has to be buffered.
func (s *Server) validateUpload(c *call, up *upload, haveAsset bool) error {
	media := c.rt.op.RequestBody.Value.Content["multipart/form-data"]
	schema := media.Schema.Value
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	var emptyArrays []string
	for _, name := range sortedKeys(up.fields) {
		prop := schema.Properties[name].Value
		for _, v := range up.fields[name] {
			if prop.Type.Is("array") {
				// Immich parses array fields sent as JSON text.
				var items []json.RawMessage
				if json.Unmarshal([]byte(v), &items) == nil {
					if len(items) == 0 {
						emptyArrays = append(emptyArrays, name)
					}
					for _, it := range items {
						h := textproto.MIMEHeader{}
						h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": name}))
						h.Set("Content-Type", "application/json")
						pw, _ := mw.CreatePart(h)
						pw.Write(it)
					}
					continue
				}
			}
			if prop.Type == nil || len(*prop.Type) == 0 {
				// A property without a type of its own (2.x wraps enum
				// refs in an allOf: "visibility") is a text part
				// kin-openapi cannot type and decodes as null. As a JSON
				// part it keeps its value and is validated against the
				// allOf as sent.
				h := textproto.MIMEHeader{}
				h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": name}))
				h.Set("Content-Type", "application/json")
				pw, _ := mw.CreatePart(h)
				pw.Write(typelessJSON(prop, v))
				continue
			}
			mw.WriteField(name, v)
		}
	}
	// Fields the spec lists as required but Immich's DTO marks @Optional()
	// (2.x's "metadata": the "!" of "metadata!:" made the generator require
	// it): the real server accepts a body without them.
	for _, name := range optionalInImmich {
		if _, sent := up.fields[name]; !sent && slices.Contains(schema.Required, name) {
			emptyArrays = append(emptyArrays, name)
		}
	}
	if haveAsset {
		pw, _ := mw.CreateFormFile("assetData", up.fileName)
		pw.Write([]byte{})
	}
	if up.sidecar != nil {
		pw, _ := mw.CreateFormFile("sidecarData", "sidecar.xmp")
		pw.Write([]byte{})
	}
	mw.Close()
	r := c.r.Clone(c.ctx)
	r.Body = io.NopCloser(&buf)
	r.ContentLength = int64(buf.Len())
	r.Header.Set("Content-Type", mw.FormDataContentType())
	var op *openapi3.Operation
	if len(emptyArrays) > 0 {
		// An empty array is present but has no part in a multipart body,
		// and an optional-in-Immich field may be absent; validate against
		// a copy of the schema that does not require them.
		sc := *schema
		sc.Required = slices.DeleteFunc(slices.Clone(schema.Required), func(n string) bool { return slices.Contains(emptyArrays, n) })
		mt := *media
		mt.Schema = &openapi3.SchemaRef{Value: &sc}
		rb := *c.rt.op.RequestBody.Value
		rb.Content = openapi3.Content{"multipart/form-data": &mt}
		o := *c.rt.op
		o.RequestBody = &openapi3.RequestBodyRef{Value: &rb}
		op = &o
	}
	return s.validateRequest(c, r, op)
}

// typelessJSON encodes the text v of a form field whose schema has no type
// as JSON: a string when the allOf it wraps says string (or says nothing),
// else the text itself when it is JSON (a number or boolean), else a string
// the schema then refuses.
func typelessJSON(prop *openapi3.Schema, v string) []byte {
	str := true
	for _, sr := range prop.AllOf {
		if sr.Value != nil && sr.Value.Type != nil && len(*sr.Value.Type) > 0 && !sr.Value.Type.Is("string") {
			str = false
		}
	}
	if !str && json.Valid([]byte(v)) {
		return []byte(v)
	}
	b, _ := json.Marshal(v)
	return b
}

// bulkUploadCheck is POST /assets/bulk-upload-check.
func (s *Server) bulkUploadCheck(c *call) {
	var body struct {
		Assets []struct {
			ID       string `json:"id"`
			Checksum string `json:"checksum"`
		} `json:"assets"`
	}
	if !c.decode(&body) {
		return
	}
	// A struct, not a map per result: encoding/json sorts a map's keys, and
	// that was a tenth of the fake's CPU on a cached re-run.
	type result struct {
		ID        string `json:"id"`
		Action    string `json:"action"`
		Reason    string `json:"reason,omitempty"`
		AssetID   string `json:"assetId,omitempty"`
		IsTrashed *bool  `json:"isTrashed,omitempty"`
	}
	results := make([]result, len(body.Assets))
	s.mu.Lock()
	for i, it := range body.Assets {
		results[i] = result{ID: it.ID, Action: "accept"}
		if a, dup := s.findByChecksumLocked(c.auth.userID, fromChecksum(it.Checksum)); dup {
			trashed := a.IsTrashed // a copy: the answer is encoded after the lock is released
			results[i] = result{ID: it.ID, Action: "reject", Reason: "duplicate", AssetID: a.ID.String(), IsTrashed: &trashed}
		}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{"results": results})
}

// getAsset is GET /assets/{id}.
func (s *Server) getAsset(c *call) {
	s.mu.Lock()
	a, ok := c.accessLocked(c.pathID("id"), "asset.read")
	var dto map[string]any
	if ok {
		dto = s.assetDTOLocked(a)
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("asset.read"))
		return
	}
	c.json(http.StatusOK, dto)
}

// serveFile sends content as Immich does (express res.sendFile): Range and
// 206, Last-Modified, a weak ETag W/"<size hex>-<mtime ms hex>" honoured by
// If-None-Match and If-Range, Cache-Control, and for named files an inline
// Content-Disposition whose filename* is UTF-8, escaped as JavaScript's
// encodeURIComponent. It goes through the download faults, after the status
// and headers are validated.
func (s *Server) serveFile(c *call, content io.ReadSeeker, size int64, fileName, contentType string, mod time.Time) {
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "private, max-age=86400, no-transform")
	etag := fmt.Sprintf(`W/"%x-%x"`, size, mod.UnixMilli())
	h.Set("ETag", etag)
	if fileName != "" {
		h.Set("Content-Disposition", "inline; filename*=UTF-8''"+encodeURIComponent(fileName))
	}
	// Express compares If-Range with the (weak) ETag as a string;
	// http.ServeContent would never match a weak one, so decide here.
	if ir := c.r.Header.Get("If-Range"); ir != "" && c.r.Header.Get("Range") != "" {
		c.r.Header.Del("If-Range")
		if ir != etag {
			if t, err := http.ParseTime(ir); err != nil || mod.Truncate(time.Second).After(t) {
				c.r.Header.Del("Range")
			}
		}
	}
	fw := &faultWriter{w: c.w, c: c}
	hw := &headCheckWriter{faultWriter: fw, c: c}
	c.responded = true
	http.ServeContent(hw, c.r, "", mod, content)
}

// encodeURIComponent escapes like JavaScript's encodeURIComponent.
func encodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-_.!~*'()", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// headCheckWriter validates the head of a 200/206 response when it is
// written.
type headCheckWriter struct {
	*faultWriter
	c       *call
	blocked bool
}

func (h *headCheckWriter) WriteHeader(code int) {
	if code == http.StatusOK || code == http.StatusPartialContent {
		h.c.responded = false
		if !h.c.streamHead(code) {
			h.blocked = true
			return
		}
		h.c.responded = true
	}
	h.faultWriter.WriteHeader(code)
}

func (h *headCheckWriter) Write(p []byte) (int, error) {
	if h.blocked {
		return 0, errors.New("response blocked: violates the spec")
	}
	return h.faultWriter.Write(p)
}

// downloadAsset is GET /assets/{id}/original.
func (s *Server) downloadAsset(c *call) {
	s.mu.Lock()
	a, ok := c.accessLocked(c.pathID("id"), "asset.download")
	var snap assetRec
	if ok {
		snap = *a
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("asset.download"))
		return
	}
	f, err := snap.content.open()
	if err != nil {
		c.error(http.StatusInternalServerError, "reading stored asset: "+err.Error())
		return
	}
	defer f.Close()
	s.serveFile(c, f, snap.Size, snap.OriginalFileName, snap.ContentType, snap.FileModifiedAt)
}

// playVideo is GET /assets/{id}/video/playback: the original of a video
// (the fake does not transcode), with Range support.
func (s *Server) playVideo(c *call) {
	s.mu.Lock()
	a, ok := c.accessLocked(c.pathID("id"), "asset.view")
	var snap assetRec
	if ok {
		snap = *a
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("asset.view"))
		return
	}
	if snap.Type != "VIDEO" {
		c.error(http.StatusBadRequest, "Asset is not a video")
		return
	}
	f, err := snap.content.open()
	if err != nil {
		c.error(http.StatusInternalServerError, "reading stored asset: "+err.Error())
		return
	}
	defer f.Close()
	s.serveFile(c, f, snap.Size, "", snap.ContentType, snap.FileModifiedAt)
}

// deleteAssets is DELETE /assets: to the trash, or for good with force.
func (s *Server) deleteAssets(c *call) {
	var body struct {
		IDs   []uuid.UUID `json:"ids"`
		Force bool        `json:"force"`
	}
	if !c.decode(&body) {
		return
	}
	s.mu.Lock()
	if !c.accessAllLocked(body.IDs, "asset.delete") {
		s.mu.Unlock()
		c.error(http.StatusBadRequest, noAccess("asset.delete"))
		return
	}
	for _, id := range body.IDs {
		if body.Force {
			s.deleteAssetLocked(id)
			continue
		}
		a := s.assets[id]
		if !a.IsTrashed {
			a.IsTrashed, a.deletedAt, a.updatedAt = true, now(), now()
		}
	}
	s.mu.Unlock()
	c.noContent()
}

// assetStatistics is GET /assets/statistics: the caller's assets (not
// trashed unless isTrashed) of the visibility asked for, by default those
// of the timeline and the archive.
func (s *Server) assetStatistics(c *call) {
	q := c.r.URL.Query()
	s.mu.Lock()
	var images, videos, total int
	for _, a := range s.assets {
		if a.OwnerID != c.auth.userID || a.IsTrashed != (q.Get("isTrashed") == "true") {
			continue
		}
		if q.Has("isFavorite") && a.IsFavorite != (q.Get("isFavorite") == "true") {
			continue
		}
		// Without a visibility Immich counts the timeline and the archive.
		if q.Has("visibility") && a.Visibility != q.Get("visibility") ||
			!q.Has("visibility") && a.Visibility != "timeline" && a.Visibility != "archive" {
			continue
		}
		total++
		switch a.Type {
		case "IMAGE":
			images++
		case "VIDEO":
			videos++
		}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{"images": images, "videos": videos, "total": total})
}

func (s *Server) restore(c *call, ids []uuid.UUID) {
	s.mu.Lock()
	n := 0
	for _, a := range s.assets {
		if a.OwnerID != c.auth.userID || !a.IsTrashed {
			continue
		}
		if ids != nil && !slices.Contains(ids, a.ID) {
			continue
		}
		a.IsTrashed, a.deletedAt, a.updatedAt = false, time.Time{}, now()
		n++
	}
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{"count": n})
}

// restoreTrash is POST /trash/restore.
func (s *Server) restoreTrash(c *call) { s.restore(c, nil) }

// restoreAssets is POST /trash/restore/assets.
func (s *Server) restoreAssets(c *call) {
	var body struct {
		IDs []uuid.UUID `json:"ids"`
	}
	if !c.decode(&body) {
		return
	}
	if body.IDs == nil {
		body.IDs = []uuid.UUID{}
	}
	s.mu.Lock()
	if !c.accessAllLocked(body.IDs, "asset.delete") {
		s.mu.Unlock()
		c.error(http.StatusBadRequest, noAccess("asset.delete"))
		return
	}
	s.mu.Unlock()
	s.restore(c, body.IDs)
}

// emptyTrash is POST /trash/empty: trashed assets are deleted for good.
func (s *Server) emptyTrash(c *call) {
	s.mu.Lock()
	var ids []uuid.UUID
	for _, id := range s.order {
		if a := s.assets[id]; a.OwnerID == c.auth.userID && a.IsTrashed {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		s.deleteAssetLocked(id)
	}
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{"count": len(ids)})
}

// assetUpdate is the part of UpdateAssetDto and AssetBulkUpdateDto the fake
// keeps: favourite, visibility and description.
type assetUpdate struct {
	IDs         []uuid.UUID `json:"ids"`
	IsFavorite  *bool       `json:"isFavorite"`
	Visibility  *string     `json:"visibility"`
	Description *string     `json:"description"`
}

func (u assetUpdate) applyLocked(a *assetRec) {
	if u.IsFavorite != nil {
		a.IsFavorite = *u.IsFavorite
	}
	if u.Visibility != nil {
		a.Visibility = *u.Visibility
	}
	if u.Description != nil {
		a.description = *u.Description
	}
	a.updatedAt = now()
}

// updateAssets is PUT /assets: the same change to several assets, all of
// which the caller must own; locking them takes them out of every album.
func (s *Server) updateAssets(c *call) {
	var u assetUpdate
	if !c.decode(&u) {
		return
	}
	s.mu.Lock()
	if !c.accessAllLocked(u.IDs, "asset.update") {
		s.mu.Unlock()
		c.error(http.StatusBadRequest, noAccess("asset.update"))
		return
	}
	for _, id := range u.IDs {
		u.applyLocked(s.assets[id])
	}
	if u.Visibility != nil && *u.Visibility == "locked" {
		// Immich takes locked assets out of every album.
		for _, al := range s.albums {
			al.assetIDs = slices.DeleteFunc(al.assetIDs, func(id uuid.UUID) bool { return slices.Contains(u.IDs, id) })
		}
	}
	s.mu.Unlock()
	c.noContent()
}

// updateAsset is PUT /assets/{id}; it answers the updated asset.
func (s *Server) updateAsset(c *call) {
	var u assetUpdate
	if !c.decode(&u) {
		return
	}
	s.mu.Lock()
	a, ok := c.accessLocked(c.pathID("id"), "asset.update")
	var dto map[string]any
	if ok {
		u.applyLocked(a)
		dto = s.assetDTOLocked(a)
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("asset.update"))
		return
	}
	c.json(http.StatusOK, dto)
}

// checkExistingAssets is POST /assets/exist (Immich 2.x): the
// deviceAssetIds of deviceId the caller has uploaded already.
func (s *Server) checkExistingAssets(c *call) {
	var body struct {
		DeviceID       string   `json:"deviceId"`
		DeviceAssetIDs []string `json:"deviceAssetIds"`
	}
	if !c.decode(&body) {
		return
	}
	existing := []string{}
	s.mu.Lock()
	for _, id := range s.order {
		a := s.assets[id]
		if a.OwnerID == c.auth.userID && a.DeviceID == body.DeviceID && slices.Contains(body.DeviceAssetIDs, a.DeviceAssetID) {
			existing = append(existing, a.DeviceAssetID)
		}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{"existingIds": existing})
}
