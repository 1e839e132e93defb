package immichtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// metadataSearchFields are the MetadataSearchDto properties (of every
// supported release) the fake gives Immich's meaning. A property of the
// spec's MetadataSearchDto that is not here, sent in a request, is answered
// 501 naming it and recorded as a ValidationFailure: the fake never ignores
// a filter it does not know.
var metadataSearchFields = map[string]bool{
	"id": true, "checksum": true, "originalFileName": true, "originalPath": true,
	"previewPath": true, "thumbnailPath": true, "encodedVideoPath": true,
	"deviceId": true, "deviceAssetId": true, "libraryId": true, "description": true, "ocr": true,
	"type": true, "isFavorite": true, "isOffline": true, "isEncoded": true, "isMotion": true,
	"isNotInAlbum": true, "visibility": true,
	"withDeleted": true, "withExif": true, "withPeople": true, "withStacked": true,
	"takenAfter": true, "takenBefore": true, "createdAfter": true, "createdBefore": true,
	"updatedAfter": true, "updatedBefore": true, "trashedAfter": true, "trashedBefore": true,
	"albumIds": true, "personIds": true, "tagIds": true,
	"city": true, "state": true, "country": true, "make": true, "model": true, "lensModel": true,
	"rating": true, "order": true, "page": true, "size": true,
}

// nullable is a request property where null means something other than
// absent (`"city": null` finds assets without a city).
type nullable[T any] struct {
	set, null bool
	v         T
}

// UnmarshalJSON implements json.Unmarshaler; encoding/json calls it for a
// JSON null too.
func (n *nullable[T]) UnmarshalJSON(b []byte) error {
	n.set = true
	if string(b) == "null" {
		n.null = true
		return nil
	}
	return json.Unmarshal(b, &n.v)
}

// jsDate is a request date as Immich reads it into a JavaScript Date: ISO
// 8601 with or without seconds, or a bare date (midnight UTC); millisecond
// precision.
type jsDate struct{ t *time.Time }

var jsDateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"}

// UnmarshalJSON implements json.Unmarshaler.
func (d *jsDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, l := range jsDateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			t = t.UTC().Truncate(time.Millisecond)
			d.t = &t
			return nil
		}
	}
	return fmt.Errorf("%q is not a date", s)
}

// metadataSearch is a MetadataSearchDto (Immich 2.3 to 3.0).
type metadataSearch struct {
	ID               *uuid.UUID `json:"id"`
	Checksum         string     `json:"checksum"`
	OriginalFileName string     `json:"originalFileName"`
	OriginalPath     string     `json:"originalPath"`
	PreviewPath      string     `json:"previewPath"`
	ThumbnailPath    string     `json:"thumbnailPath"`
	EncodedVideoPath string     `json:"encodedVideoPath"`
	DeviceID         string     `json:"deviceId"`
	DeviceAssetID    string     `json:"deviceAssetId"`
	LibraryID        *uuid.UUID `json:"libraryId"`
	Description      string     `json:"description"`
	OCR              string     `json:"ocr"`
	Type             string     `json:"type"`
	IsFavorite       *bool      `json:"isFavorite"`
	IsOffline        *bool      `json:"isOffline"`
	IsEncoded        *bool      `json:"isEncoded"`
	IsMotion         *bool      `json:"isMotion"`
	IsNotInAlbum     bool       `json:"isNotInAlbum"`
	Visibility       string     `json:"visibility"`
	WithDeleted      bool       `json:"withDeleted"`
	WithExif         bool       `json:"withExif"`
	WithPeople       bool       `json:"withPeople"`
	WithStacked      *bool      `json:"withStacked"`

	TakenAfter    jsDate `json:"takenAfter"`
	TakenBefore   jsDate `json:"takenBefore"`
	CreatedAfter  jsDate `json:"createdAfter"`
	CreatedBefore jsDate `json:"createdBefore"`
	UpdatedAfter  jsDate `json:"updatedAfter"`
	UpdatedBefore jsDate `json:"updatedBefore"`
	TrashedAfter  jsDate `json:"trashedAfter"`
	TrashedBefore jsDate `json:"trashedBefore"`

	AlbumIDs  []uuid.UUID           `json:"albumIds"`
	PersonIDs []uuid.UUID           `json:"personIds"`
	TagIDs    nullable[[]uuid.UUID] `json:"tagIds"`
	City      nullable[string]      `json:"city"`
	State     nullable[string]      `json:"state"`
	Country   nullable[string]      `json:"country"`
	Make      nullable[string]      `json:"make"`
	Model     nullable[string]      `json:"model"`
	LensModel nullable[string]      `json:"lensModel"`
	Rating    nullable[float64]     `json:"rating"`
	Order     string                `json:"order"`
	Page      int                   `json:"page"`
	Size      int                   `json:"size"`
}

// readSearch reads a search body (validated against the spec already):
// only the properties of the spec's schema count, as Immich strips the
// others; a property the fake does not honour is answered 501. It answers
// the request itself when it reports false.
func (s *Server) readSearch(c *call, schema string, honoured map[string]bool, q *metadataSearch) bool {
	var raw map[string]json.RawMessage
	if !c.decode(&raw) {
		return false
	}
	// The operation's body schema is the DTO named schema.
	props := c.rt.op.RequestBody.Value.Content["application/json"].Schema.Value.Properties
	kept := map[string]json.RawMessage{}
	for _, name := range sortedKeys(raw) {
		if props[name] == nil {
			continue
		}
		if !honoured[name] {
			msg := fmt.Sprintf("immichtest does not honour %s.%s", schema, name)
			s.recordFailure(ValidationFailure{OperationID: c.rt.opID, Method: c.r.Method, Path: c.r.URL.Path, Err: msg})
			c.error(http.StatusNotImplemented, msg)
			return false
		}
		kept[name] = raw[name]
	}
	b, _ := json.Marshal(kept)
	if err := json.Unmarshal(b, q); err != nil {
		c.invalid(err.Error())
		return false
	}
	// Immich 2.x (class-validator) refuses empty strings here; 3.x (zod)
	// takes them as no filter.
	if s.version[0] < 3 {
		for _, f := range []struct {
			name, v string
		}{
			{"checksum", q.Checksum}, {"deviceId", q.DeviceID}, {"deviceAssetId", q.DeviceAssetID},
			{"originalPath", q.OriginalPath}, {"previewPath", q.PreviewPath},
			{"thumbnailPath", q.ThumbnailPath}, {"encodedVideoPath", q.EncodedVideoPath},
		} {
			if _, ok := kept[f.name]; ok && f.v == "" {
				c.invalid(f.name + " should not be empty")
				return false
			}
		}
	}
	if q.Rating.set && !q.Rating.null && q.Rating.v != math.Trunc(q.Rating.v) {
		c.invalid("rating must be an integer number")
		return false
	}
	q.Description = strings.TrimSpace(q.Description)
	q.OriginalFileName = strings.TrimSpace(q.OriginalFileName)
	return true
}

// searchAssets is POST /search/metadata, with Immich's meaning for every
// property of MetadataSearchDto:
//
//   - Without visibility, Immich 2.x finds timeline assets only, 3.x every
//     asset but locked ones; "locked" needs an elevated session, which the
//     fake never has (401).
//   - Trashed assets only with withDeleted, trashedAfter/Before or
//     isOffline: true.
//   - Dates are inclusive: takenAfter/Before on fileCreatedAt, created on
//     the upload time, updated on the last change, trashed on the time it
//     went to the trash.
//   - originalFileName, originalPath and description: case- and
//     accent-insensitive substring, where % and _ are LIKE wildcards.
//   - city, state, country, make, model, lensModel and rating: equality;
//     null finds assets without one.
//   - albumIds: assets in every one of the albums (readable by the caller,
//     owner not restricted); isNotInAlbum: in no album (ignored with
//     albumIds).
//   - The fake has no people, tags, libraries, OCR text, encoded videos,
//     motion parts, offline files or stacks, as an Immich with nothing of
//     them: non-empty personIds, tagIds, libraryId, ocr, encodedVideoPath,
//     isEncoded/isMotion/isOffline true match nothing; tagIds null matches
//     all. previewPath and thumbnailPath are accepted and ignored, as
//     Immich's query ignores them.
//   - Items in fileCreatedAt order (then id), newest first unless order is
//     "asc"; size 250 by default; nextPage is the next page's number while
//     more remain. exifInfo only with withExif.
//
// Requests through a share link must name albumIds.
func (s *Server) searchAssets(c *call) {
	var q metadataSearch
	if !s.readSearch(c, "MetadataSearchDto", metadataSearchFields, &q) {
		return
	}
	if q.Visibility == "locked" {
		c.error(http.StatusUnauthorized, "Elevated permission is required")
		return
	}
	s.mu.Lock()
	if len(q.AlbumIDs) > 0 {
		for _, id := range q.AlbumIDs {
			if _, ok := c.albumAccessLocked(id, false); !ok {
				s.mu.Unlock()
				c.error(http.StatusBadRequest, noAccess("album.read"))
				return
			}
		}
	} else if c.auth.link != nil {
		s.mu.Unlock()
		c.error(http.StatusBadRequest, "Shared link access is only allowed in combination with an albumIds filter")
		return
	}
	var matched []*assetRec
	for _, id := range s.order {
		if a := s.assets[id]; s.matchLocked(c, &q, a, len(q.AlbumIDs) > 0) {
			matched = append(matched, a)
		}
	}
	slices.SortFunc(matched, func(x, y *assetRec) int {
		d := x.FileCreatedAt.Compare(y.FileCreatedAt)
		if d == 0 {
			d = bytes.Compare(x.ID[:], y.ID[:])
		}
		if q.Order == "asc" {
			return d
		}
		return -d
	})
	page, size := max(q.Page, 1), q.Size
	if size < 1 {
		size = 250
	}
	start := min((page-1)*size, len(matched))
	end := min(start+size, len(matched))
	items := make([]any, 0, end-start)
	for _, a := range matched[start:end] {
		items = append(items, s.searchDTOLocked(c, a, q.WithExif))
	}
	s.mu.Unlock()
	var next any
	if end < len(matched) {
		next = strconv.Itoa(page + 1)
	}
	c.json(http.StatusOK, map[string]any{
		"albums": map[string]any{"total": 0, "count": 0, "items": []any{}, "facets": []any{}},
		"assets": map[string]any{"total": len(items), "count": len(items), "items": items, "facets": []any{}, "nextPage": next},
	})
}

// matchLocked reports whether asset a is one the search q finds for the
// caller: among the caller's assets, or with anyOwner (albums the caller
// may read were named) among everyone's.
func (s *Server) matchLocked(c *call, q *metadataSearch, a *assetRec, anyOwner bool) bool {
	if !anyOwner && a.OwnerID != c.auth.userID {
		return false
	}
	switch {
	case q.Visibility != "":
		if a.Visibility != q.Visibility {
			return false
		}
	case s.version[0] < 3:
		if a.Visibility != "timeline" {
			return false
		}
	default:
		if a.Visibility == "locked" {
			return false
		}
	}
	withDeleted := q.WithDeleted || q.TrashedAfter.t != nil || q.TrashedBefore.t != nil || (q.IsOffline != nil && *q.IsOffline)
	if a.IsTrashed && !withDeleted {
		return false
	}
	var deletedAt *time.Time
	if a.IsTrashed {
		deletedAt = &a.deletedAt
	}
	dates := []struct {
		q      jsDate
		v      *time.Time
		before bool
	}{
		{q.TakenAfter, &a.FileCreatedAt, false}, {q.TakenBefore, &a.FileCreatedAt, true},
		{q.CreatedAfter, &a.createdAt, false}, {q.CreatedBefore, &a.createdAt, true},
		{q.UpdatedAfter, &a.updatedAt, false}, {q.UpdatedBefore, &a.updatedAt, true},
		{q.TrashedAfter, deletedAt, false}, {q.TrashedBefore, deletedAt, true},
	}
	for _, d := range dates {
		if d.q.t == nil {
			continue
		}
		// A null column (an asset not in the trash) compares false.
		if d.v == nil || (d.before && d.v.After(*d.q.t)) || (!d.before && d.v.Before(*d.q.t)) {
			return false
		}
	}
	switch {
	case q.ID != nil && a.ID != *q.ID,
		q.Checksum != "" && !bytes.Equal(a.Checksum, fromChecksum(q.Checksum)),
		q.DeviceID != "" && a.DeviceID != q.DeviceID,
		q.DeviceAssetID != "" && a.DeviceAssetID != q.DeviceAssetID,
		q.Type != "" && a.Type != q.Type,
		q.IsFavorite != nil && a.IsFavorite != *q.IsFavorite,
		q.OriginalFileName != "" && !ilikeContains(a.OriginalFileName, q.OriginalFileName),
		q.OriginalPath != "" && !ilikeContains(a.originalPath(), q.OriginalPath),
		q.Description != "" && !ilikeContains(a.description, q.Description),
		!exifMatch(q.City, a.Exif.City), !exifMatch(q.State, a.Exif.State),
		!exifMatch(q.Country, a.Exif.Country), !exifMatch(q.Make, a.Exif.Make),
		!exifMatch(q.Model, a.Exif.Model), !exifMatch(q.LensModel, a.Exif.LensModel),
		q.Rating.set && q.Rating.null && a.Exif.Rating != 0,
		q.Rating.set && !q.Rating.null && (a.Exif.Rating == 0 || float64(a.Exif.Rating) != q.Rating.v):
		return false
	}
	// What the fake never has: an asset without people, tags, library,
	// OCR text, encoded video, motion part or stack, and never offline.
	switch {
	case len(q.PersonIDs) > 0, q.TagIDs.set && len(q.TagIDs.v) > 0, q.LibraryID != nil,
		q.OCR != "", q.EncodedVideoPath != "",
		q.IsEncoded != nil && *q.IsEncoded, q.IsMotion != nil && *q.IsMotion,
		q.IsOffline != nil && *q.IsOffline:
		return false
	}
	if len(q.AlbumIDs) > 0 {
		// In all of them: the number of distinct albums holding the asset
		// must equal the number of ids sent (a repeated id never matches).
		var in []uuid.UUID
		for _, id := range q.AlbumIDs {
			if al := s.albums[id]; al != nil && slices.Contains(al.assetIDs, a.ID) && !slices.Contains(in, id) {
				in = append(in, id)
			}
		}
		return len(in) == len(q.AlbumIDs)
	}
	if q.IsNotInAlbum {
		for _, al := range s.albums {
			if slices.Contains(al.assetIDs, a.ID) {
				return false
			}
		}
	}
	return true
}

// searchStatistics is POST /search/statistics: how many of the caller's
// assets the filters of StatisticsSearchDto find, with the meaning and
// defaults searchAssets gives them (there is no withDeleted: trashed assets
// count only with a trash date filter or isOffline).
func (s *Server) searchStatistics(c *call) {
	var q metadataSearch
	if !s.readSearch(c, "StatisticsSearchDto", metadataSearchFields, &q) {
		return
	}
	if q.Visibility == "locked" {
		c.error(http.StatusUnauthorized, "Elevated permission is required")
		return
	}
	n := 0
	s.mu.Lock()
	for _, id := range s.order {
		if s.matchLocked(c, &q, s.assets[id], false) {
			n++
		}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{"total": n})
}

// exifMatch applies an exif equality filter: absent matches all, null
// matches unknown (""), a value matches only itself.
func exifMatch(f nullable[string], v string) bool {
	switch {
	case !f.set:
		return true
	case f.null:
		return v == ""
	}
	return v != "" && v == f.v
}

// searchDTOLocked is an asset as a search answers it: without owner and
// tags (the search does not load them), with exifInfo only when asked, and
// isFavorite only for the owner.
func (s *Server) searchDTOLocked(c *call, a *assetRec, withExif bool) map[string]any {
	m := s.assetDTOLocked(a)
	delete(m, "owner")
	delete(m, "tags")
	if !withExif {
		delete(m, "exifInfo")
	}
	if a.OwnerID != c.auth.userID {
		m["isFavorite"] = false
	}
	return m
}

// ilikeContains reports whether text contains sub as PostgreSQL's
// f_unaccent(text) ILIKE '%' || f_unaccent(sub) || '%' does: ignoring case
// and accents, with % (any run) and _ (any one character) in sub as
// wildcards and \ escaping the next character.
func ilikeContains(text, sub string) bool {
	return likeMatch([]rune(fold(text)), []rune("%"+fold(sub)+"%"))
}

// fold lower-cases s and strips the accents of Latin letters.
func fold(s string) string {
	var b strings.Builder
	for _, r := range lower(s) {
		if a, ok := unaccent[r]; ok {
			b.WriteString(a)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unaccent maps lower-case accented Latin letters to their base letters,
// as PostgreSQL's unaccent dictionary does.
var unaccent = func() map[rune]string {
	const from = "àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž"
	const to = "aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz"
	m := map[rune]string{'æ': "ae", 'œ': "oe", 'ß': "ss", 'þ': "th", 'ð': "d"}
	i := 0
	for _, r := range from {
		m[r] = to[i : i+1]
		i++
	}
	if i != len(to) || utf8.RuneCountInString(from) != len(to) {
		panic("immichtest: unaccent table out of step")
	}
	return m
}()

// likeMatch matches text against a LIKE pattern (%, _ and \ escapes).
func likeMatch(text, pat []rune) bool {
	// Iterative wildcard matching: remember the last % to retry from.
	ti, pi := 0, 0
	starP, starT := -1, 0
	for ti < len(text) {
		if pi < len(pat) {
			switch p := pat[pi]; {
			case p == '%':
				starP, starT = pi, ti
				pi++
				continue
			case p == '_':
				ti, pi = ti+1, pi+1
				continue
			case p == '\\' && pi+1 < len(pat):
				if pat[pi+1] == text[ti] {
					ti, pi = ti+1, pi+2
					continue
				}
			case p == text[ti]:
				ti, pi = ti+1, pi+1
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starT++
		ti, pi = starT, starP+1
	}
	for pi < len(pat) && pat[pi] == '%' {
		pi++
	}
	return pi == len(pat)
}
