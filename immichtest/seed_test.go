package immichtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/wrapper"
)

// Seed a library with dates, places and an album instead of uploading it,
// then search it as a client would: the fake answers as Immich does.
func ExampleServer_SeedAsset() {
	s := immichtest.NewServer()
	defer s.Close()
	holiday := s.SeedAlbum("Holiday", uuid.Nil)
	s.SeedAsset(immichtest.AssetSeed{
		Name:     "IMG_0001.jpg",
		TakenAt:  time.Date(2019, 7, 14, 10, 0, 0, 0, time.UTC),
		Exif:     immichtest.Exif{City: "Paris", Make: "Canon", Rating: 5},
		AlbumIDs: []uuid.UUID{holiday.ID},
	})
	s.SeedAsset(immichtest.AssetSeed{Name: "IMG_0002.jpg", TakenAt: time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)})
	s.SeedAsset(immichtest.AssetSeed{Name: "IMG_0003.jpg", TakenAt: time.Date(2018, 5, 6, 7, 0, 0, 0, time.UTC), Visibility: "archive"})

	c, err := wrapper.New(s.URL(), wrapper.WithAPIKey(s.APIKey()))
	if err != nil {
		panic(err)
	}
	defer c.CloseIdleConnections()
	find := func(q api.MetadataSearchDto) {
		var found []string
		for a, err := range c.SearchAssets(context.Background(), q) {
			if err != nil {
				panic(err)
			}
			found = append(found, a.OriginalFileName)
		}
		fmt.Println(found)
	}
	after := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	paris := "Paris"
	notInAlbum := true
	find(api.MetadataSearchDto{TakenAfter: &after})
	find(api.MetadataSearchDto{City: &paris})
	find(api.MetadataSearchDto{AlbumIds: &[]uuid.UUID{holiday.ID}})
	// Immich 3 finds archived assets too unless a visibility is given
	// (2.x finds timeline ones only).
	find(api.MetadataSearchDto{IsNotInAlbum: &notInAlbum})
	// Output:
	// [IMG_0002.jpg]
	// [IMG_0001.jpg]
	// [IMG_0001.jpg]
	// [IMG_0002.jpg IMG_0003.jpg]
}

// getAsset reads GET /assets/{id} with key as a generic JSON object.
func getAsset(t *testing.T, s *immichtest.Server, key string, id uuid.UUID) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL()+"/assets/"+id.String(), nil)
	req.Header.Set("x-api-key", key)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, m
}

func TestSeedAsset(t *testing.T) {
	s := immichtest.NewTestServer(t)
	other, otherKey := s.AddUser("other@immich.test", "pw", "Other")
	al := s.SeedAlbum("trip", other)
	taken := time.Date(2021, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	a := s.SeedAsset(immichtest.AssetSeed{
		Name: "clip.mov", Owner: other, TakenAt: taken,
		CreatedAt: taken.Add(time.Hour), UpdatedAt: taken.Add(2 * time.Hour), TrashedAt: taken.Add(3 * time.Hour),
		Visibility: "archive", Favorite: true, DeviceID: "phone", DeviceAssetID: "42",
		Exif:     immichtest.Exif{City: "Oslo", State: "Oslo", Country: "Norway", Make: "Apple", Model: "iPhone 15", LensModel: "main", Rating: 2, Description: "fjord"},
		AlbumIDs: []uuid.UUID{al.ID},
	})
	if a.OwnerID != other || a.Type != "VIDEO" || a.ContentType != "video/quicktime" || !a.IsTrashed || a.Visibility != "archive" ||
		!a.IsFavorite || !a.FileCreatedAt.Equal(taken) || !a.FileModifiedAt.Equal(taken) || a.Exif.Description != "fjord" || a.Exif.City != "Oslo" {
		t.Fatalf("seeded %+v", a)
	}
	content, err := s.AssetContent(a.ID)
	if err != nil || len(content) == 0 {
		t.Fatalf("content %q, %v", content, err)
	}
	if got, _ := s.Asset(a.ID); !slices.Equal(got.Checksum, a.Checksum) {
		t.Fatalf("Asset(%s) = %+v", a.ID, got)
	}
	if albums := s.Albums(); len(albums) != 1 || !slices.Equal(albums[0].AssetIDs, []uuid.UUID{a.ID}) {
		t.Fatalf("albums %+v", albums)
	}
	// Its owner sees it with every seeded field; the default user does not.
	status, m := getAsset(t, s, otherKey, a.ID)
	if status != 200 {
		t.Fatalf("owner's GET: %d %v", status, m)
	}
	exif, _ := m["exifInfo"].(map[string]any)
	for k, want := range map[string]any{
		"fileCreatedAt": "2021-03-04T05:06:07.890Z", "createdAt": "2021-03-04T06:06:07.890Z",
		"updatedAt": "2021-03-04T07:06:07.890Z", "isTrashed": true, "isArchived": true, "isFavorite": true,
		"type": "VIDEO", "deviceId": "phone", "deviceAssetId": "42",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	for k, want := range map[string]any{"city": "Oslo", "state": "Oslo", "country": "Norway", "make": "Apple",
		"model": "iPhone 15", "lensModel": "main", "rating": 2.0, "description": "fjord"} {
		if exif[k] != want {
			t.Errorf("exifInfo.%s = %v, want %v", k, exif[k], want)
		}
	}
	if status, _ := getAsset(t, s, s.APIKey(), a.ID); status != 400 {
		t.Fatalf("another user's asset: %d", status)
	}
	// An asset without seeded exif answers null for it.
	b := s.SeedAsset(immichtest.AssetSeed{Name: "b.jpg"})
	_, m = getAsset(t, s, s.APIKey(), b.ID)
	exif = m["exifInfo"].(map[string]any)
	if v, ok := exif["city"]; !ok || v != nil {
		t.Fatalf("unknown city: %v", exif)
	}
	if b.Type != "IMAGE" || b.Visibility != "timeline" || b.IsTrashed {
		t.Fatalf("defaults %+v", b)
	}
	if vf := s.ValidationFailures(); len(vf) != 0 {
		t.Fatalf("failures %+v", vf)
	}
}

func TestSetUpdatedAt(t *testing.T) {
	s := immichtest.NewTestServer(t)
	a := s.SeedAsset(immichtest.AssetSeed{Name: "a.jpg", CreatedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	_, m := getAsset(t, s, s.APIKey(), a.ID)
	if m["updatedAt"] != "2020-01-01T00:00:00.000Z" {
		t.Fatalf("updatedAt defaults to createdAt: %v", m["updatedAt"])
	}
	s.SetUpdatedAt(a.ID, time.Date(2022, 2, 2, 2, 2, 2, 0, time.FixedZone("x", 3600)))
	if _, m = getAsset(t, s, s.APIKey(), a.ID); m["updatedAt"] != "2022-02-02T01:02:02.000Z" {
		t.Fatalf("updatedAt %v", m["updatedAt"])
	}
}

func TestSeedAssetRefusesWhatImmichCannotHold(t *testing.T) {
	s := immichtest.NewTestServer(t)
	s.SeedAsset(immichtest.AssetSeed{Name: "a.jpg", Content: []byte("x")})
	for _, tc := range []struct {
		seed immichtest.AssetSeed
		want string
	}{
		{immichtest.AssetSeed{}, "Name is required"},
		{immichtest.AssetSeed{Name: "b.jpg", Type: "PHOTO"}, "type"},
		{immichtest.AssetSeed{Name: "b.jpg", Visibility: "secret"}, "visibility"},
		{immichtest.AssetSeed{Name: "b.jpg", Exif: immichtest.Exif{Rating: 6}}, "rating"},
		{immichtest.AssetSeed{Name: "b.jpg", Exif: immichtest.Exif{Rating: -1}}, "rating"}, // 3.x has no -1
		{immichtest.AssetSeed{Name: "b.jpg", Owner: uuid.New()}, "no user"},
		{immichtest.AssetSeed{Name: "b.jpg", AlbumIDs: []uuid.UUID{uuid.New()}}, "no album"},
		{immichtest.AssetSeed{Name: "b.jpg", Content: []byte("x")}, "same content"},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("SeedAsset(%+v) panicked with %v, want %q", tc.seed, r, tc.want)
				}
			}()
			s.SeedAsset(tc.seed)
		}()
	}
	if n := len(s.Assets()); n != 1 {
		t.Fatalf("%d assets after refused seeds", n)
	}
}
