package immichtest

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// AssetSeed describes an asset for SeedAsset: what an Immich server would
// hold after an upload, metadata extraction and the user's later changes.
// Zero fields take the defaults named.
type AssetSeed struct {
	// Name is the original file name (required); its extension gives the
	// MIME type and, unless Type is set, the type, as on upload.
	Name string
	// Content is the stored file; nil stores a short placeholder unique to
	// the asset, so its checksum is unique too.
	Content []byte
	// Owner is the owning user (DefaultUserID or one from AddUser); zero
	// is the default user.
	Owner uuid.UUID
	// Type is IMAGE, VIDEO, AUDIO or OTHER; "" derives it from Name.
	Type string
	// TakenAt is fileCreatedAt, which takenAfter/takenBefore and the
	// search order use; zero is now.
	TakenAt time.Time
	// ModifiedAt is fileModifiedAt; zero is TakenAt.
	ModifiedAt time.Time
	// CreatedAt is when the server received the asset (createdAfter and
	// createdBefore); zero is now.
	CreatedAt time.Time
	// UpdatedAt is the asset's last change (updatedAfter, updatedBefore);
	// zero is CreatedAt.
	UpdatedAt time.Time
	// TrashedAt, when set, puts the asset in the trash since then
	// (trashedAfter, trashedBefore).
	TrashedAt time.Time
	// Visibility is timeline (""), archive, hidden or locked.
	Visibility string
	Favorite   bool
	// DeviceAssetID and DeviceID are what an Immich 2.x client sends.
	DeviceAssetID, DeviceID string
	// Exif is the metadata Immich would have read from the file.
	Exif Exif
	// AlbumIDs are albums (SeedAlbum, or created through the API) the
	// asset is added to.
	AlbumIDs []uuid.UUID
}

// SeedAsset stores an asset as seed describes it, without an upload, and
// returns it. Nothing is validated against the spec and no request is
// counted. It panics on a seed Immich could not hold (no name, an unknown
// owner or album, an unknown type or visibility, a rating outside the
// spec's range, content the owner has already), as AddAsset does: seeding
// is test setup, and a wrong seed is a bug of the test.
func (s *Server) SeedAsset(seed AssetSeed) Asset {
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("immichtest: SeedAsset(%q): ", seed.Name) + fmt.Sprintf(format, args...))
	}
	if seed.Name == "" {
		fail("Name is required")
	}
	if seed.Type != "" && !slices.Contains([]string{"IMAGE", "VIDEO", "AUDIO", "OTHER"}, seed.Type) {
		fail("type %q is none of IMAGE, VIDEO, AUDIO, OTHER", seed.Type)
	}
	if seed.Visibility != "" && !slices.Contains([]string{"timeline", "archive", "hidden", "locked"}, seed.Visibility) {
		fail("visibility %q is none of timeline, archive, hidden, locked", seed.Visibility)
	}
	if r := seed.Exif.Rating; r != 0 && (r > 5 || r < 1 && (r != -1 || s.version[0] >= 3)) {
		fail("rating %d is outside 1 to 5 (or -1 before Immich 3)", r)
	}
	id := uuid.New()
	content := seed.Content
	if content == nil {
		content = []byte("immichtest seed " + id.String())
	}
	b, sum, err := s.storeBody(bytes.NewReader(content))
	if err != nil {
		fail("%v", err)
	}
	t := now()
	at := func(v, def time.Time) time.Time {
		if v.IsZero() {
			return def
		}
		return v.UTC().Truncate(time.Millisecond)
	}
	taken := at(seed.TakenAt, t)
	created := at(seed.CreatedAt, t)

	s.mu.Lock()
	defer s.mu.Unlock()
	owner := seed.Owner
	if owner == uuid.Nil {
		owner = s.defaultUser
	}
	if s.users[owner] == nil {
		b.remove()
		fail("no user %s", owner)
	}
	for _, al := range seed.AlbumIDs {
		if s.albums[al] == nil {
			b.remove()
			fail("no album %s", al)
		}
	}
	if _, dup := s.findByChecksumLocked(owner, sum); dup {
		b.remove()
		fail("same content as an existing asset of the owner")
	}
	rec := s.addAssetLocked(Asset{
		OwnerID: owner, OriginalFileName: seed.Name,
		FileCreatedAt: taken, FileModifiedAt: at(seed.ModifiedAt, taken),
		Visibility: seed.Visibility, IsFavorite: seed.Favorite,
		DeviceAssetID: seed.DeviceAssetID, DeviceID: seed.DeviceID,
		Exif: seed.Exif,
	}, b, sum)
	if seed.Type != "" {
		rec.Type = seed.Type
	}
	rec.Exif.Description = ""
	rec.description = seed.Exif.Description
	rec.createdAt = created
	rec.updatedAt = at(seed.UpdatedAt, created)
	if !seed.TrashedAt.IsZero() {
		rec.IsTrashed, rec.deletedAt = true, at(seed.TrashedAt, t)
	}
	for _, al := range seed.AlbumIDs {
		if a := s.albums[al]; !slices.Contains(a.assetIDs, rec.ID) {
			a.assetIDs = append(a.assetIDs, rec.ID)
		}
	}
	return rec.snapshot()
}

// SeedAlbum creates an album of owner (zero: the default user) holding
// assetIDs, without a request, and returns it. It panics when the owner or
// an asset does not exist.
func (s *Server) SeedAlbum(name string, owner uuid.UUID, assetIDs ...uuid.UUID) Album {
	s.mu.Lock()
	defer s.mu.Unlock()
	if owner == uuid.Nil {
		owner = s.defaultUser
	}
	if s.users[owner] == nil {
		panic(fmt.Sprintf("immichtest: SeedAlbum(%q): no user %s", name, owner))
	}
	for _, id := range assetIDs {
		if s.assets[id] == nil {
			panic(fmt.Sprintf("immichtest: SeedAlbum(%q): no asset %s", name, id))
		}
	}
	t := now()
	al := &albumRec{id: uuid.New(), ownerID: owner, name: name, createdAt: t, updatedAt: t}
	for _, id := range assetIDs {
		if !slices.Contains(al.assetIDs, id) {
			al.assetIDs = append(al.assetIDs, id)
		}
	}
	s.albums[al.id] = al
	s.albumOrder = append(s.albumOrder, al.id)
	return Album{ID: al.id, Name: al.name, AssetIDs: slices.Clone(al.assetIDs)}
}

// SetUpdatedAt records a change of the asset with id at t (its updatedAt,
// which updatedAfter and updatedBefore filter on), as an edit through the
// API would at that time. It panics when there is no such asset.
func (s *Server) SetUpdatedAt(id uuid.UUID, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.assets[id]
	if a == nil {
		panic(fmt.Sprintf("immichtest: SetUpdatedAt: no asset %s", id))
	}
	a.updatedAt = t.UTC().Truncate(time.Millisecond)
}
