package immichtest

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
)

type albumRec struct {
	id          uuid.UUID
	ownerID     uuid.UUID
	name        string
	description string
	assetIDs    []uuid.UUID
	thumbID     uuid.UUID // albumThumbnailAssetId chosen by the user, while in the album
	noActivity  bool      // isActivityEnabled switched off
	order       string    // "asc" when set so; Immich's default is "desc"
	createdAt   time.Time
	updatedAt   time.Time
}

func (s *Server) schemaHas(schema, prop string) bool {
	sc := s.spec.Components.Schemas[schema]
	return sc != nil && sc.Value != nil && sc.Value.Properties[prop] != nil
}

func (s *Server) enumHas(schema, value string) bool {
	sc := s.spec.Components.Schemas[schema]
	if sc == nil || sc.Value == nil {
		return false
	}
	return slices.Contains(sc.Value.Enum, any(value))
}

// albumDTOLocked builds an AlbumResponseDto for the spec in use: Immich 2.x
// albums carry owner and assets, 3.x ones list the owner in albumUsers.
func (s *Server) albumDTOLocked(al *albumRec, withAssets bool) map[string]any {
	owner := s.users[al.ownerID]
	var thumb any
	switch {
	case al.thumbID != uuid.Nil && slices.Contains(al.assetIDs, al.thumbID):
		thumb = al.thumbID.String()
	case len(al.assetIDs) > 0:
		thumb = al.assetIDs[0].String()
	}
	users := []any{}
	if s.enumHas("AlbumUserRole", "owner") {
		users = append(users, map[string]any{"role": "owner", "user": s.userDTO(owner)})
	}
	hasLink := s.albumSharedLocked(al)
	m := map[string]any{
		"id":                         al.id.String(),
		"albumName":                  al.name,
		"description":                al.description,
		"albumThumbnailAssetId":      thumb,
		"albumUsers":                 users,
		"createdAt":                  ts(al.createdAt),
		"updatedAt":                  ts(al.updatedAt),
		"hasSharedLink":              hasLink,
		"isActivityEnabled":          !al.noActivity,
		"shared":                     hasLink,
		"order":                      cmp.Or(al.order, "desc"),
		"ownerId":                    al.ownerID.String(),
		"owner":                      s.userDTO(owner),
		"lastModifiedAssetTimestamp": ts(al.updatedAt),
	}
	var first, last time.Time
	assets := []any{}
	count := 0
	for _, id := range al.assetIDs {
		a := s.assets[id]
		if a == nil || a.IsTrashed {
			continue // Immich counts and lists only assets not in the trash
		}
		count++
		if first.IsZero() || a.FileCreatedAt.Before(first) {
			first = a.FileCreatedAt
		}
		if a.FileCreatedAt.After(last) {
			last = a.FileCreatedAt
		}
		if withAssets {
			assets = append(assets, s.assetDTOLocked(a))
		}
	}
	m["assetCount"] = count
	if !first.IsZero() {
		m["startDate"], m["endDate"] = ts(first), ts(last)
	}
	if s.schemaHas("AlbumResponseDto", "assets") {
		m["assets"] = assets
	}
	return m
}

// albumAccessLocked returns the album if the caller may use it: its owner,
// or a share link of it (reading only).
func (c *call) albumAccessLocked(id uuid.UUID, write bool) (*albumRec, bool) {
	al, ok := c.s.albums[id]
	if !ok {
		return nil, false
	}
	if l := c.auth.link; l != nil {
		return al, !write && l.albumID == id
	}
	return al, al.ownerID == c.auth.userID
}

// listAlbums is GET /albums: the caller's albums, newest first, as
// Immich's album repository lists them. assetId (either major) lists the
// albums holding that asset and overrides the other filters. 2.x: shared
// true lists albums with a share link, false those without (the fake has no
// album users, so a link is what makes an album shared). 3.x: id and name
// match exactly, isShared as 2.x's shared, isOwned false lists none (albums
// shared with the caller by others do not exist in the fake).
func (s *Server) listAlbums(c *call) {
	q := c.r.URL.Query()
	boolQ := func(name string) *bool {
		if !q.Has(name) {
			return nil
		}
		b := q.Get(name) == "true"
		return &b
	}
	var assetID uuid.UUID
	if q.Has("assetId") {
		assetID, _ = uuid.Parse(q.Get("assetId"))
	}
	shared := boolQ("shared")
	if isShared := boolQ("isShared"); isShared != nil {
		shared = isShared
	}
	owned := boolQ("isOwned")
	s.mu.Lock()
	out := []any{}
	for i := len(s.albumOrder) - 1; i >= 0; i-- {
		al := s.albums[s.albumOrder[i]]
		if al == nil || al.ownerID != c.auth.userID {
			continue
		}
		if q.Has("assetId") {
			if slices.Contains(al.assetIDs, assetID) {
				out = append(out, s.albumDTOLocked(al, false))
			}
			continue
		}
		switch {
		case owned != nil && !*owned,
			shared != nil && s.albumSharedLocked(al) != *shared,
			q.Has("id") && al.id.String() != q.Get("id"),
			q.Has("name") && al.name != q.Get("name"):
			continue
		}
		out = append(out, s.albumDTOLocked(al, false))
	}
	s.mu.Unlock()
	c.json(http.StatusOK, out)
}

// albumSharedLocked reports whether Immich counts the album as shared: it
// has users besides its owner (never, in the fake) or a share link.
func (s *Server) albumSharedLocked(al *albumRec) bool {
	for _, l := range s.links {
		if l.albumID == al.id {
			return true
		}
	}
	return false
}

// createAlbum is POST /albums; assets the caller may not use are left out,
// as Immich does.
func (s *Server) createAlbum(c *call) {
	var body struct {
		AlbumName   string      `json:"albumName"`
		Description string      `json:"description"`
		AssetIDs    []uuid.UUID `json:"assetIds"`
	}
	if !c.decode(&body) {
		return
	}
	t := now()
	s.mu.Lock()
	al := &albumRec{id: uuid.New(), ownerID: c.auth.userID, name: body.AlbumName, description: body.Description, createdAt: t, updatedAt: t}
	for _, id := range body.AssetIDs {
		if _, ok := c.accessLocked(id, "asset.share"); ok && !slices.Contains(al.assetIDs, id) {
			al.assetIDs = append(al.assetIDs, id)
		}
	}
	s.albums[al.id] = al
	s.albumOrder = append(s.albumOrder, al.id)
	dto := s.albumDTOLocked(al, true)
	s.mu.Unlock()
	c.json(http.StatusCreated, dto)
}

// getAlbum is GET /albums/{id}.
func (s *Server) getAlbum(c *call) {
	s.mu.Lock()
	al, ok := c.albumAccessLocked(c.pathID("id"), false)
	var dto map[string]any
	if ok {
		dto = s.albumDTOLocked(al, c.r.URL.Query().Get("withoutAssets") != "true")
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("album.read"))
		return
	}
	c.json(http.StatusOK, dto)
}

// deleteAlbum is DELETE /albums/{id}; the assets stay.
func (s *Server) deleteAlbum(c *call) {
	id := c.pathID("id")
	s.mu.Lock()
	_, ok := c.albumAccessLocked(id, true)
	if ok {
		delete(s.albums, id)
		s.albumOrder = removeID(s.albumOrder, id)
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("album.delete"))
		return
	}
	c.noContent()
}

type bulkIDs struct {
	IDs []uuid.UUID `json:"ids"`
}

// addAssetsToAlbum is PUT /albums/{id}/assets with a result per asset:
// "duplicate" when already in the album, "no_permission" when the caller may
// not use it (or it does not exist).
func (s *Server) addAssetsToAlbum(c *call) {
	if c.auth.link != nil {
		// Immich lets a link that allows uploads add to its album, with
		// rules that changed between releases; the fake does not.
		c.unhonoured("key")
		return
	}
	var body bulkIDs
	if !c.decode(&body) {
		return
	}
	s.mu.Lock()
	al, ok := c.albumAccessLocked(c.pathID("id"), true)
	if !ok {
		s.mu.Unlock()
		c.error(http.StatusBadRequest, noAccess("albumAsset.create"))
		return
	}
	results := []any{}
	changed := false
	for _, id := range body.IDs {
		switch _, access := c.accessLocked(id, "asset.share"); {
		case slices.Contains(al.assetIDs, id):
			results = append(results, map[string]any{"id": id.String(), "success": false, "error": "duplicate"})
		case !access:
			results = append(results, map[string]any{"id": id.String(), "success": false, "error": "no_permission"})
		default:
			al.assetIDs = append(al.assetIDs, id)
			changed = true
			results = append(results, map[string]any{"id": id.String(), "success": true})
		}
	}
	if changed {
		al.updatedAt = now()
	}
	s.mu.Unlock()
	c.json(http.StatusOK, results)
}

// removeAssetsFromAlbum is DELETE /albums/{id}/assets with a result per
// asset: "not_found" when not in the album, "no_permission" when the caller
// may not use it.
func (s *Server) removeAssetsFromAlbum(c *call) {
	var body bulkIDs
	if !c.decode(&body) {
		return
	}
	s.mu.Lock()
	al, ok := c.albumAccessLocked(c.pathID("id"), true)
	if !ok {
		s.mu.Unlock()
		c.error(http.StatusBadRequest, noAccess("albumAsset.delete"))
		return
	}
	results := []any{}
	for _, id := range body.IDs {
		switch _, access := c.accessLocked(id, "asset.share"); {
		case !slices.Contains(al.assetIDs, id):
			results = append(results, map[string]any{"id": id.String(), "success": false, "error": "not_found"})
		case !access:
			results = append(results, map[string]any{"id": id.String(), "success": false, "error": "no_permission"})
		default:
			al.assetIDs = removeID(al.assetIDs, id)
			al.updatedAt = now()
			results = append(results, map[string]any{"id": id.String(), "success": true})
		}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, results)
}

// addAssetsToAlbums is PUT /albums/assets: the assets the caller may share
// go into each of the caller's albums listed. One result for all: success
// when anything was added, else "no_permission" (no usable album or asset)
// or "duplicate" (all there already).
func (s *Server) addAssetsToAlbums(c *call) {
	if c.auth.link != nil {
		c.unhonoured("key")
		return
	}
	var body struct {
		AlbumIDs []uuid.UUID `json:"albumIds"`
		AssetIDs []uuid.UUID `json:"assetIds"`
	}
	if !c.decode(&body) {
		return
	}
	s.mu.Lock()
	var albums []*albumRec
	for _, id := range body.AlbumIDs {
		if al, ok := c.albumAccessLocked(id, true); ok && !slices.Contains(albums, al) {
			albums = append(albums, al)
		}
	}
	var assets []uuid.UUID
	for _, id := range body.AssetIDs {
		if _, ok := c.accessLocked(id, "asset.share"); ok && !slices.Contains(assets, id) {
			assets = append(assets, id)
		}
	}
	result := map[string]any{"success": false, "error": "duplicate"}
	if len(albums) == 0 || len(assets) == 0 {
		result["error"] = "no_permission"
	}
	for _, al := range albums {
		for _, id := range assets {
			if !slices.Contains(al.assetIDs, id) {
				al.assetIDs = append(al.assetIDs, id)
				al.updatedAt = now()
				result = map[string]any{"success": true}
			}
		}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, result)
}

// albumStatistics is GET /albums/statistics (albums with a share link count
// as shared).
func (s *Server) albumStatistics(c *call) {
	s.mu.Lock()
	var owned, shared, notShared int
	for _, al := range s.albums {
		if al.ownerID != c.auth.userID {
			continue
		}
		owned++
		if s.albumDTOLocked(al, false)["shared"] == true {
			shared++
		} else {
			notShared++
		}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{"owned": owned, "shared": shared, "notShared": notShared})
}

// updateAlbum is PATCH /albums/{id}: name, description, isActivityEnabled,
// order, and the thumbnail, which must be an asset of the album ("Invalid
// album thumbnail" otherwise, as Immich answers).
func (s *Server) updateAlbum(c *call) {
	var body struct {
		AlbumThumbnailAssetID *uuid.UUID `json:"albumThumbnailAssetId"`
		AlbumName             *string    `json:"albumName"`
		Description           *string    `json:"description"`
		IsActivityEnabled     *bool      `json:"isActivityEnabled"`
		Order                 *string    `json:"order"`
	}
	if !c.decode(&body) {
		return
	}
	s.mu.Lock()
	al, ok := c.albumAccessLocked(c.pathID("id"), true)
	var dto map[string]any
	if ok && body.AlbumThumbnailAssetID != nil && !slices.Contains(al.assetIDs, *body.AlbumThumbnailAssetID) {
		s.mu.Unlock()
		c.error(http.StatusBadRequest, "Invalid album thumbnail")
		return
	}
	if ok {
		if body.AlbumThumbnailAssetID != nil {
			al.thumbID = *body.AlbumThumbnailAssetID
		}
		if body.AlbumName != nil {
			al.name = *body.AlbumName
		}
		if body.Description != nil {
			al.description = *body.Description
		}
		if body.IsActivityEnabled != nil {
			al.noActivity = !*body.IsActivityEnabled
		}
		if body.Order != nil {
			al.order = *body.Order
		}
		al.updatedAt = now()
		dto = s.albumDTOLocked(al, false)
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, noAccess("album.update"))
		return
	}
	c.json(http.StatusOK, dto)
}
