package immichtest

import (
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
)

type linkRec struct {
	id            uuid.UUID
	userID        uuid.UUID
	key           string
	slug          string
	typ           string // ALBUM or INDIVIDUAL
	albumID       uuid.UUID
	assetIDs      []uuid.UUID
	allowDownload bool
	allowUpload   bool
	showMetadata  bool
	description   *string
	password      *string
	expiresAt     *string
	createdAt     time.Time
}

func (s *Server) linkHasAssetLocked(l *linkRec, id uuid.UUID) bool {
	if l.typ == "ALBUM" {
		al := s.albums[l.albumID]
		return al != nil && slices.Contains(al.assetIDs, id)
	}
	return slices.Contains(l.assetIDs, id)
}

func (s *Server) linkDTOLocked(l *linkRec) map[string]any {
	assets := []any{}
	for _, id := range l.assetIDs {
		if a := s.assets[id]; a != nil {
			assets = append(assets, s.assetDTOLocked(a))
		}
	}
	var slug any
	if l.slug != "" {
		slug = l.slug
	}
	m := map[string]any{
		"id": l.id.String(), "userId": l.userID.String(), "key": l.key, "slug": slug, "type": l.typ,
		"allowDownload": l.allowDownload, "allowUpload": l.allowUpload, "showMetadata": l.showMetadata,
		"description": l.description, "expiresAt": l.expiresAt, "password": l.password,
		"createdAt": ts(l.createdAt), "assets": assets,
	}
	if al := s.albums[l.albumID]; al != nil {
		m["album"] = s.albumDTOLocked(al, false)
	}
	return m
}

// createSharedLink is POST /shared-links: an ALBUM link of one of the
// caller's albums, or an INDIVIDUAL link of some of the caller's assets.
// Uploads and downloads are allowed unless switched off.
func (s *Server) createSharedLink(c *call) {
	var body struct {
		Type          string      `json:"type"`
		AlbumID       *uuid.UUID  `json:"albumId"`
		AssetIDs      []uuid.UUID `json:"assetIds"`
		AllowDownload *bool       `json:"allowDownload"`
		AllowUpload   *bool       `json:"allowUpload"`
		ShowMetadata  *bool       `json:"showMetadata"`
		Slug          *string     `json:"slug"`
		Description   *string     `json:"description"`
		Password      *string     `json:"password"`
		ExpiresAt     *string     `json:"expiresAt"`
	}
	if !c.decode(&body) {
		return
	}
	// Defaults as Immich's SharedLinkService.create: uploads and downloads
	// allowed, metadata shown; hiding metadata also forbids downloads.
	orTrue := func(b *bool) bool { return b == nil || *b }
	l := &linkRec{
		id: uuid.New(), userID: c.auth.userID, key: randomSecret(50), typ: body.Type,
		allowDownload: orTrue(body.AllowDownload) && orTrue(body.ShowMetadata), allowUpload: orTrue(body.AllowUpload),
		showMetadata: orTrue(body.ShowMetadata), description: body.Description, expiresAt: body.ExpiresAt,
		password: body.Password, createdAt: now(),
	}
	if body.Slug != nil {
		l.slug = *body.Slug
	}
	dto, msg := s.addLink(c, l, body.AlbumID, body.AssetIDs)
	if msg != "" {
		c.error(http.StatusBadRequest, msg)
		return
	}
	c.json(http.StatusCreated, dto)
}

// addLink checks and stores a new link; it returns its DTO, or the reason
// it was refused.
func (s *Server) addLink(c *call, l *linkRec, albumID *uuid.UUID, assetIDs []uuid.UUID) (map[string]any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch l.typ {
	case "ALBUM":
		if albumID == nil {
			return nil, "Invalid albumId"
		}
		if _, ok := c.albumAccessLocked(*albumID, true); !ok {
			return nil, noAccess("album.share")
		}
		l.albumID = *albumID
	default:
		if len(assetIDs) == 0 {
			return nil, "Invalid assetIds"
		}
		if !c.accessAllLocked(assetIDs, "asset.share") {
			return nil, noAccess("asset.share")
		}
		l.assetIDs = slices.Clone(assetIDs)
	}
	for _, o := range s.links {
		if l.slug != "" && o.slug == l.slug {
			return nil, "Failed to save shared link"
		}
	}
	s.links[l.id] = l
	return s.linkDTOLocked(l), ""
}

// listSharedLinks is GET /shared-links: the caller's links, newest first,
// those of albumId or the one with id when asked.
func (s *Server) listSharedLinks(c *call) {
	q := c.r.URL.Query()
	s.mu.Lock()
	out := []any{}
	var mine []*linkRec
	for _, l := range s.links {
		if l.userID != c.auth.userID || c.auth.link != nil ||
			(q.Has("albumId") && l.albumID.String() != q.Get("albumId")) || (q.Has("id") && l.id.String() != q.Get("id")) {
			continue
		}
		mine = append(mine, l)
	}
	slices.SortFunc(mine, func(a, b *linkRec) int { return b.createdAt.Compare(a.createdAt) })
	for _, l := range mine {
		out = append(out, s.linkDTOLocked(l))
	}
	s.mu.Unlock()
	c.json(http.StatusOK, out)
}

// mySharedLink is GET /shared-links/me: the link used to authenticate.
func (s *Server) mySharedLink(c *call) {
	if c.auth.link == nil {
		c.error(http.StatusForbidden, "Forbidden")
		return
	}
	s.mu.Lock()
	dto := s.linkDTOLocked(c.auth.link)
	s.mu.Unlock()
	c.json(http.StatusOK, dto)
}

// ownLinkLocked returns the caller's link with id ("Shared link not found"
// otherwise, as Immich).
func (c *call) ownLinkLocked(id uuid.UUID) (*linkRec, bool) {
	l, ok := c.s.links[id]
	return l, ok && l.userID == c.auth.userID && c.auth.link == nil
}

// getSharedLink is GET /shared-links/{id}.
func (s *Server) getSharedLink(c *call) {
	s.mu.Lock()
	l, ok := c.ownLinkLocked(c.pathID("id"))
	var dto map[string]any
	if ok {
		dto = s.linkDTOLocked(l)
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, "Shared link not found")
		return
	}
	c.json(http.StatusOK, dto)
}

// removeSharedLink is DELETE /shared-links/{id}.
func (s *Server) removeSharedLink(c *call) {
	id := c.pathID("id")
	s.mu.Lock()
	_, ok := c.ownLinkLocked(id)
	if ok {
		delete(s.links, id)
	}
	s.mu.Unlock()
	if !ok {
		c.error(http.StatusBadRequest, "Shared link not found")
		return
	}
	c.noContent()
}
