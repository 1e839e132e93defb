package immichtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api/apispec"
)

// spec2x is the Immich 2.x release the search tests also run against.
const spec2x = "immich-openapi-specs-2.7.3.json"

// eachMajor runs f against a server of the pinned 3.x spec and one of a
// 2.x spec (skipped when IMMICH_SPEC_DIR is not set). Neither may record a
// validation failure: every request is valid and every answer must match
// the spec.
func eachMajor(t *testing.T, f func(t *testing.T, s *Server)) {
	t.Helper()
	run := func(name string, opts ...Option) {
		t.Run(name, func(t *testing.T) {
			s := start(t, opts...)
			f(t, s)
			if vf := s.ValidationFailures(); len(vf) != 0 {
				t.Fatalf("validation failures: %+v", vf)
			}
		})
	}
	run("3.x")
	dir := os.Getenv("IMMICH_SPEC_DIR")
	if dir == "" {
		t.Run("2.x", func(t *testing.T) { t.Skip("IMMICH_SPEC_DIR is not set") })
		return
	}
	run("2.x", WithSpecFile(filepath.Join(dir, spec2x)))
}

type searchPage struct {
	Assets struct {
		Total, Count int
		Items        []struct {
			ID               string
			OriginalFileName string
			IsTrashed        bool
			Visibility       string
			ExifInfo         map[string]any
		}
		NextPage *string
	}
}

// search posts body to /search/metadata, expects 200 and returns the page.
func search(t *testing.T, s *Server, body map[string]any) searchPage {
	t.Helper()
	r := do(t, s, "POST", "/search/metadata", body)
	if r.status != 200 {
		t.Fatalf("search %v: %d %s", body, r.status, r.body)
	}
	var p searchPage
	r.json(t, &p)
	if p.Assets.Count != len(p.Assets.Items) || p.Assets.Total != len(p.Assets.Items) {
		t.Fatalf("search %v: count %d, total %d for %d items", body, p.Assets.Count, p.Assets.Total, len(p.Assets.Items))
	}
	return p
}

// names returns the file names search finds, sorted.
func names(t *testing.T, s *Server, body map[string]any) []string {
	t.Helper()
	var out []string
	for _, it := range search(t, s, body).Assets.Items {
		out = append(out, it.OriginalFileName)
	}
	slices.Sort(out)
	return out
}

func wantNames(t *testing.T, s *Server, body map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := names(t, s, body); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("search %v found %v, want %v", body, got, want)
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func iso(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func TestSearchTakenAfterFutureFindsNone(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		s.SeedAsset(AssetSeed{Name: "old.jpg", TakenAt: day(2019, 1, 1)})
		s.SeedAsset(AssetSeed{Name: "new.jpg", TakenAt: day(2024, 6, 1)})
		wantNames(t, s, map[string]any{"takenAfter": "2030-01-01T00:00:00Z"})
		wantNames(t, s, map[string]any{"takenAfter": "2020-01-01T00:00:00Z"}, "new.jpg")
		wantNames(t, s, map[string]any{"takenBefore": "2020-01-01T00:00:00Z"}, "old.jpg")
		// Both ends are inclusive, to the millisecond.
		at := iso(day(2024, 6, 1))
		wantNames(t, s, map[string]any{"takenAfter": at, "takenBefore": at}, "new.jpg")
		wantNames(t, s, map[string]any{"takenAfter": "2024-06-01T12:00:00.001Z"})
	})
}

func TestSearchDateFilters(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		s.SeedAsset(AssetSeed{Name: "a.jpg", TakenAt: day(2020, 1, 1), CreatedAt: day(2021, 1, 1), UpdatedAt: day(2021, 1, 1)})
		s.SeedAsset(AssetSeed{Name: "b.jpg", TakenAt: day(2020, 1, 1), CreatedAt: day(2022, 1, 1), UpdatedAt: day(2023, 1, 1)})
		s.SeedAsset(AssetSeed{Name: "trashed.jpg", CreatedAt: day(2022, 1, 1), UpdatedAt: day(2022, 1, 1), TrashedAt: day(2024, 1, 1)})
		edited := s.SeedAsset(AssetSeed{Name: "edited.jpg", CreatedAt: day(2021, 1, 1), UpdatedAt: day(2021, 1, 1)})
		s.SetUpdatedAt(edited.ID, day(2025, 1, 1))
		cut := func(y int) string { return iso(time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC)) }
		for _, tc := range []struct {
			body map[string]any
			want []string
		}{
			{map[string]any{"createdAfter": cut(2021)}, []string{"b.jpg"}},
			{map[string]any{"createdBefore": cut(2021)}, []string{"a.jpg", "edited.jpg"}},
			{map[string]any{"updatedAfter": cut(2022)}, []string{"b.jpg", "edited.jpg"}},
			{map[string]any{"updatedBefore": cut(2022)}, []string{"a.jpg"}},
			{map[string]any{"updatedAfter": cut(2022), "updatedBefore": cut(2024)}, []string{"b.jpg"}},
			// A trash date filter finds trashed assets without withDeleted.
			{map[string]any{"trashedAfter": cut(2023)}, []string{"trashed.jpg"}},
			{map[string]any{"trashedBefore": cut(2023)}, nil},
			{map[string]any{"trashedBefore": cut(2025)}, []string{"trashed.jpg"}},
			{map[string]any{}, []string{"a.jpg", "b.jpg", "edited.jpg"}},
			{map[string]any{"withDeleted": true}, []string{"a.jpg", "b.jpg", "edited.jpg", "trashed.jpg"}},
			{map[string]any{"withDeleted": true, "createdAfter": cut(2021)}, []string{"b.jpg", "trashed.jpg"}},
		} {
			wantNames(t, s, tc.body, tc.want...)
		}
		// An edit through the API moves updatedAt to now.
		before := time.Now().Add(-time.Minute)
		if r := do(t, s, "PUT", "/assets/"+edited.ID.String(), map[string]any{"isFavorite": true}); r.status != 200 {
			t.Fatalf("update: %d %s", r.status, r.body)
		}
		wantNames(t, s, map[string]any{"updatedAfter": iso(before)}, "edited.jpg")
	})
}

func TestSearchDefaultVisibility(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		for _, v := range []string{"timeline", "archive", "hidden", "locked"} {
			s.SeedAsset(AssetSeed{Name: v + ".jpg", Visibility: v})
		}
		// Immich 2.x finds timeline assets only unless asked; 3.x every
		// asset but locked ones.
		want := []string{"archive.jpg", "hidden.jpg", "timeline.jpg"}
		if strings.HasPrefix(s.SpecVersion(), "2.") {
			want = []string{"timeline.jpg"}
		}
		wantNames(t, s, map[string]any{}, want...)
		wantNames(t, s, map[string]any{"visibility": "archive"}, "archive.jpg")
		wantNames(t, s, map[string]any{"visibility": "hidden"}, "hidden.jpg")
		r := do(t, s, "POST", "/search/metadata", map[string]any{"visibility": "locked"})
		if r.status != 401 || !contains(r.errBody(t).Message, "Elevated permission is required") {
			t.Fatalf("locked without an elevated session: %d %s", r.status, r.body)
		}
	})
}

func TestSearchExifFilters(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		s.SeedAsset(AssetSeed{Name: "paris.jpg", Exif: Exif{City: "Paris", State: "Île-de-France", Country: "France",
			Make: "Canon", Model: "EOS R5", LensModel: "RF 24-70mm", Rating: 5, Description: "Café at the Seine"}})
		s.SeedAsset(AssetSeed{Name: "oslo.jpg", Exif: Exif{City: "Oslo", Country: "Norway", Make: "Nikon", Model: "Z6", Rating: 3,
			Description: "Fjord 100% blue"}})
		s.SeedAsset(AssetSeed{Name: "bare.jpg"})
		for _, tc := range []struct {
			body map[string]any
			want []string
		}{
			{map[string]any{"city": "Paris"}, []string{"paris.jpg"}},
			{map[string]any{"city": "paris"}, nil}, // equality is exact
			{map[string]any{"city": nil}, []string{"bare.jpg"}},
			{map[string]any{"city": ""}, nil},
			{map[string]any{"state": nil}, []string{"bare.jpg", "oslo.jpg"}},
			{map[string]any{"country": "Norway"}, []string{"oslo.jpg"}},
			{map[string]any{"make": "Canon"}, []string{"paris.jpg"}},
			{map[string]any{"make": "Nikon", "model": "Z6"}, []string{"oslo.jpg"}},
			{map[string]any{"make": "Nikon", "model": "EOS R5"}, nil},
			{map[string]any{"model": nil}, []string{"bare.jpg"}},
			{map[string]any{"lensModel": "RF 24-70mm"}, []string{"paris.jpg"}},
			{map[string]any{"rating": 5}, []string{"paris.jpg"}},
			{map[string]any{"rating": 3}, []string{"oslo.jpg"}},
			{map[string]any{"rating": 1}, nil},
			// Description: substring, ignoring case and accents, with
			// LIKE's wildcards; blank is no filter.
			{map[string]any{"description": "cafe"}, []string{"paris.jpg"}},
			{map[string]any{"description": "  SEINE "}, []string{"paris.jpg"}},
			{map[string]any{"description": "fjord_100"}, []string{"oslo.jpg"}},
			{map[string]any{"description": "100%blue"}, []string{"oslo.jpg"}},
			{map[string]any{"description": "f%e"}, []string{"oslo.jpg", "paris.jpg"}},
			{map[string]any{"description": "   "}, []string{"bare.jpg", "oslo.jpg", "paris.jpg"}},
			{map[string]any{"description": "tower"}, nil},
		} {
			wantNames(t, s, tc.body, tc.want...)
		}
		if !strings.HasPrefix(s.SpecVersion(), "2.3") {
			// rating null (unrated) is in every spec but the oldest.
			wantNames(t, s, map[string]any{"rating": nil}, "bare.jpg")
		}
	})
}

func TestSearchAlbums(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		a := s.SeedAsset(AssetSeed{Name: "a.jpg"})
		b := s.SeedAsset(AssetSeed{Name: "b.jpg"})
		s.SeedAsset(AssetSeed{Name: "loose.jpg"})
		al1 := s.SeedAlbum("one", uuid.Nil, a.ID, b.ID)
		al2 := s.SeedAlbum("two", uuid.Nil, a.ID)
		wantNames(t, s, map[string]any{"isNotInAlbum": true}, "loose.jpg")
		wantNames(t, s, map[string]any{"isNotInAlbum": false}, "a.jpg", "b.jpg", "loose.jpg")
		wantNames(t, s, map[string]any{"albumIds": []string{al1.ID.String()}}, "a.jpg", "b.jpg")
		// In every album named; isNotInAlbum does not apply then.
		wantNames(t, s, map[string]any{"albumIds": []string{al1.ID.String(), al2.ID.String()}, "isNotInAlbum": true}, "a.jpg")
		// Immich counts distinct albums: a repeated id never matches.
		wantNames(t, s, map[string]any{"albumIds": []string{al2.ID.String(), al2.ID.String()}})
		// Assets seeded into an album are found by it.
		s.SeedAsset(AssetSeed{Name: "c.jpg", AlbumIDs: []uuid.UUID{al2.ID}})
		wantNames(t, s, map[string]any{"albumIds": []string{al2.ID.String()}}, "a.jpg", "c.jpg")
	})
}

func TestSearchPeopleTagsAndAbsentFeatures(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		s.SeedAsset(AssetSeed{Name: "a.jpg"})
		s.SeedAsset(AssetSeed{Name: "b.mp4"})
		id := uuid.NewString()
		all := []string{"a.jpg", "b.mp4"}
		for _, tc := range []struct {
			body map[string]any
			want []string
		}{
			// The fake has no people or tags: an asset has none.
			{map[string]any{"personIds": []string{id}}, nil},
			{map[string]any{"personIds": []string{}}, all},
			{map[string]any{"tagIds": []string{id}}, nil},
			{map[string]any{"tagIds": nil}, all}, // assets without tags
			{map[string]any{"tagIds": []string{}}, all},
			// No libraries, OCR, encoded videos, motion parts or offline files.
			{map[string]any{"libraryId": id}, nil},
			{map[string]any{"libraryId": nil}, all},
			{map[string]any{"ocr": "hello"}, nil},
			{map[string]any{"encodedVideoPath": "/data/encoded-video/x.mp4"}, nil},
			{map[string]any{"isEncoded": true}, nil},
			{map[string]any{"isEncoded": false}, all},
			{map[string]any{"isMotion": true}, nil},
			{map[string]any{"isMotion": false}, all},
			{map[string]any{"isOffline": true}, nil},
			{map[string]any{"isOffline": false}, all},
			{map[string]any{"withStacked": false, "withPeople": true}, all},
			// Immich's query ignores these two.
			{map[string]any{"previewPath": "/nowhere", "thumbnailPath": "/nowhere"}, all},
			{map[string]any{"type": "VIDEO"}, []string{"b.mp4"}},
			{map[string]any{"originalPath": "/data/upload/"}, all},
			{map[string]any{"originalPath": ".MP4"}, []string{"b.mp4"}},
		} {
			wantNames(t, s, tc.body, tc.want...)
		}
	})
}

func TestSearchFavoritesAndIDs(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		fav := s.SeedAsset(AssetSeed{Name: "fav.jpg", Favorite: true, DeviceID: "phone", DeviceAssetID: "f1"})
		s.SeedAsset(AssetSeed{Name: "plain.jpg", DeviceID: "phone", DeviceAssetID: "p1"})
		wantNames(t, s, map[string]any{"isFavorite": true}, "fav.jpg")
		wantNames(t, s, map[string]any{"isFavorite": false}, "plain.jpg")
		wantNames(t, s, map[string]any{"id": fav.ID.String()}, "fav.jpg")
		wantNames(t, s, map[string]any{"checksum": base64.StdEncoding.EncodeToString(fav.Checksum)}, "fav.jpg")
		wantNames(t, s, map[string]any{"checksum": fmt.Sprintf("%x", fav.Checksum)}, "fav.jpg")
		if strings.HasPrefix(s.SpecVersion(), "2.") {
			wantNames(t, s, map[string]any{"deviceAssetId": "f1"}, "fav.jpg")
			wantNames(t, s, map[string]any{"deviceId": "phone"}, "fav.jpg", "plain.jpg")
			wantNames(t, s, map[string]any{"deviceId": "tablet"})
			// class-validator refuses empty strings there.
			r := do(t, s, "POST", "/search/metadata", map[string]any{"checksum": ""})
			if r.status != 400 || !contains(r.errBody(t).Message, "checksum should not be empty") {
				t.Fatalf("empty checksum on 2.x: %d %s", r.status, r.body)
			}
			// The spec says number; the server wants an integer.
			r = do(t, s, "POST", "/search/metadata", map[string]any{"rating": 2.5})
			if r.status != 400 || !contains(r.errBody(t).Message, "rating must be an integer") {
				t.Fatalf("rating 2.5 on 2.x: %d %s", r.status, r.body)
			}
			// -1 (rejected) is a rating before Immich 3.
			s.SeedAsset(AssetSeed{Name: "rejected.jpg", Exif: Exif{Rating: -1}})
			wantNames(t, s, map[string]any{"rating": -1}, "rejected.jpg")
		} else {
			// 3.x dropped the device ids; the server strips them.
			wantNames(t, s, map[string]any{"deviceId": "tablet"}, "fav.jpg", "plain.jpg")
			wantNames(t, s, map[string]any{"checksum": ""}, "fav.jpg", "plain.jpg")
		}
	})
}

func TestSearchPagingAndOrder(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		var want []string // newest first
		for i := range 5 {
			a := s.SeedAsset(AssetSeed{Name: fmt.Sprintf("IMG_%d.jpg", i), TakenAt: day(2020+i, 1, 1)})
			want = append([]string{a.ID.String()}, want...)
		}
		for _, order := range []string{"desc", "asc", ""} {
			var seen []string
			for pg := 1; ; pg++ {
				body := map[string]any{"page": pg, "size": 2}
				if order != "" {
					body["order"] = order
				}
				p := search(t, s, body)
				for _, it := range p.Assets.Items {
					seen = append(seen, it.ID)
				}
				if p.Assets.NextPage == nil {
					if pg != 3 {
						t.Fatalf("order %q: last page %d, want 3", order, pg)
					}
					break
				}
				if *p.Assets.NextPage != fmt.Sprint(pg+1) {
					t.Fatalf("nextPage %q on page %d", *p.Assets.NextPage, pg)
				}
			}
			exp := slices.Clone(want)
			if order == "asc" {
				slices.Reverse(exp)
			}
			if !slices.Equal(seen, exp) {
				t.Fatalf("order %q paged %v, want %v", order, seen, exp)
			}
		}
		if p := search(t, s, map[string]any{"page": 4, "size": 2}); len(p.Assets.Items) != 0 || p.Assets.NextPage != nil {
			t.Fatalf("past the end: %+v", p)
		}
		if p := search(t, s, map[string]any{"size": 5}); len(p.Assets.Items) != 5 || p.Assets.NextPage != nil {
			t.Fatalf("exactly one full page: %+v", p)
		}
	})
}

// Uploads (same fileCreatedAt) are ordered by id, as Immich breaks ties.
func TestSearchMetadata(t *testing.T) {
	s := start(t)
	var ids []string
	for i := range 5 {
		id, _, _ := uploadFile(t, s, fmt.Sprintf("IMG_%d.jpg", i), []byte{byte(i)})
		ids = append(ids, id)
	}
	var p searchPage
	r := do(t, s, "POST", "/search/metadata", map[string]any{"checksum": base64.StdEncoding.EncodeToString(sha([]byte{3}))})
	r.json(t, &p)
	if r.status != 200 || p.Assets.Count != 1 || p.Assets.Items[0].ID != ids[3] || p.Assets.NextPage != nil {
		t.Fatalf("by checksum: %d %s", r.status, r.body)
	}
	if got := names(t, s, map[string]any{"originalFileName": "img_4"}); !slices.Equal(got, []string{"IMG_4.jpg"}) {
		t.Fatalf("by name: %v", got)
	}
	var seen []string
	for pg := 1; ; pg++ {
		p := search(t, s, map[string]any{"page": pg, "size": 2, "order": "asc"})
		for _, it := range p.Assets.Items {
			seen = append(seen, it.ID)
		}
		if p.Assets.NextPage == nil {
			break
		}
	}
	slices.Sort(ids) // lowercase hex sorts as the uuid bytes do
	if !slices.Equal(seen, ids) {
		t.Fatalf("paged %v, want %v", seen, ids)
	}
	if r := do(t, s, "POST", "/search/metadata", map[string]any{"size": "many"}); r.status != 400 {
		t.Fatalf("invalid size: %d", r.status)
	}
}

func TestSearchWithExif(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		s.SeedAsset(AssetSeed{Name: "a.jpg", Exif: Exif{City: "Paris", Make: "Canon", Rating: 4, Description: "hello"}})
		if it := search(t, s, map[string]any{}).Assets.Items[0]; it.ExifInfo != nil {
			t.Fatalf("exifInfo without withExif: %v", it.ExifInfo)
		}
		e := search(t, s, map[string]any{"withExif": true}).Assets.Items[0].ExifInfo
		if e["city"] != "Paris" || e["make"] != "Canon" || e["rating"] != 4.0 || e["description"] != "hello" ||
			e["model"] != nil || e["country"] != nil {
			t.Fatalf("exifInfo %v", e)
		}
		if _, ok := e["model"]; !ok {
			t.Fatalf("exifInfo has no model (null): %v", e)
		}
	})
}

// A property of the spec's MetadataSearchDto that the fake does not know is
// answered 501 naming it, and recorded; never ignored.
func TestSearchUnknownFieldIs501(t *testing.T) {
	data, err := apispec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	props := schemas["MetadataSearchDto"].(map[string]any)["properties"].(map[string]any)
	props["transcript"] = map[string]any{"type": "string", "description": "Filter by video transcript"}
	path := filepath.Join(t.TempDir(), "spec.json")
	data, _ = json.Marshal(doc)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, WithSpecFile(path))
	s.SeedAsset(AssetSeed{Name: "a.jpg"})
	r := do(t, s, "POST", "/search/metadata", map[string]any{"transcript": "hello"})
	if r.status != 501 || !contains(r.errBody(t).Message, "MetadataSearchDto.transcript") {
		t.Fatalf("unknown field: %d %s", r.status, r.body)
	}
	vf := s.ValidationFailures()
	if len(vf) != 1 || vf[0].OperationID != "searchAssets" || !contains(vf[0].Err, "transcript") || vf[0].Response {
		t.Fatalf("failures %+v", vf)
	}
	// Properties outside the spec are stripped, as Immich does.
	wantNames(t, s, map[string]any{"notAField": 1}, "a.jpg")
}

func TestILike(t *testing.T) {
	for _, tc := range []struct {
		text, sub string
		want      bool
	}{
		{"IMG_0001.JPG", "img_0001", true},
		{"IMG-0001.JPG", "img_0001", true}, // _ is any one character
		{"IMG0001.JPG", "img_0001", false},
		{"Crème brûlée", "CREME BRULEE", true},
		{"Straße", "strasse", true},
		{"50% off", "50\\%", true},
		{"50 off", "50\\%", false},
		{"abc", "a%c", true},
		{"abc", "", true},
		{"", "a", false},
		{"aaab", "a%ab", true},
	} {
		if got := ilikeContains(tc.text, tc.sub); got != tc.want {
			t.Errorf("ilikeContains(%q, %q) = %v, want %v", tc.text, tc.sub, got, tc.want)
		}
	}
}

func TestSearchStatistics(t *testing.T) {
	eachMajor(t, func(t *testing.T, s *Server) {
		other, _ := s.AddUser("other@immich.test", "pw", "Other")
		theirs := s.SeedAsset(AssetSeed{Name: "theirs.jpg", Owner: other})
		mine := s.SeedAsset(AssetSeed{Name: "paris.jpg", TakenAt: day(2020, 1, 1), Exif: Exif{City: "Paris"}})
		s.SeedAsset(AssetSeed{Name: "archived.jpg", Visibility: "archive"})
		s.SeedAsset(AssetSeed{Name: "trashed.jpg", TrashedAt: day(2024, 1, 1)})
		al := s.SeedAlbum("mixed", uuid.Nil, mine.ID, theirs.ID)
		total := func(body map[string]any) int {
			t.Helper()
			r := do(t, s, "POST", "/search/statistics", body)
			var out struct{ Total int }
			r.json(t, &out)
			if r.status != 200 {
				t.Fatalf("statistics %v: %d %s", body, r.status, r.body)
			}
			return out.Total
		}
		def := 2 // paris and archived
		if strings.HasPrefix(s.SpecVersion(), "2.") {
			def = 1 // timeline only
		}
		for _, tc := range []struct {
			body map[string]any
			want int
		}{
			{map[string]any{}, def},
			{map[string]any{"takenAfter": "2030-01-01T00:00:00Z"}, 0},
			{map[string]any{"city": "Paris"}, 1},
			{map[string]any{"visibility": "archive"}, 1},
			{map[string]any{"trashedAfter": iso(day(2023, 1, 1))}, 1},
			// Statistics count the caller's assets only, albums or not.
			{map[string]any{"albumIds": []string{al.ID.String()}}, 1},
			{map[string]any{"isNotInAlbum": true, "visibility": "archive"}, 1},
			{map[string]any{"personIds": []string{uuid.NewString()}}, 0},
		} {
			if got := total(tc.body); got != tc.want {
				t.Errorf("statistics %v = %d, want %d", tc.body, got, tc.want)
			}
		}
		// The metadata search of the same album finds both owners' assets.
		wantNames(t, s, map[string]any{"albumIds": []string{al.ID.String()}}, "paris.jpg", "theirs.jpg")
	})
}
