package wrapper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
)

// newFake starts immichtest, fails the test on a request or answer that
// breaks the spec, and returns a Client for it.
func newFake(t testing.TB, opts ...immichtest.Option) (*immichtest.Server, *Client) {
	t.Helper()
	s := immichtest.NewServer(opts...)
	t.Cleanup(func() {
		if f := s.ValidationFailures(); len(f) > 0 {
			t.Errorf("requests or answers that break the spec: %+v", f)
		}
		s.Close()
	})
	c, err := New(s.URL(), WithAPIKey(s.APIKey()), WithRetry(fastRetry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return s, c
}

// addAssets adds n assets named name-i.jpg with distinct contents.
func addAssets(s *immichtest.Server, prefix string, n int) []uuid.UUID {
	ids := make([]uuid.UUID, n)
	for i := range n {
		ids[i] = s.AddAsset(fmt.Sprintf("%s-%d.jpg", prefix, i), fmt.Appendf(nil, "\xff\xd8\xff %s %d", prefix, i)).ID
	}
	return ids
}

// createAlbum creates album name holding ids and returns its id.
func createAlbum(t testing.TB, c *Client, name string, ids []uuid.UUID) uuid.UUID {
	t.Helper()
	dto := api.CreateAlbumDto{AlbumName: name}
	if len(ids) > 0 {
		dto.AssetIds = &ids
	}
	r, err := c.CreateAlbumWithResponse(context.Background(), dto)
	if err == nil {
		err = CheckResponse("createAlbum", r.HTTPResponse, r.Body)
	}
	if err != nil {
		t.Fatal(err)
	}
	return r.JSON201.Id
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) ([]T, error) {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

func TestSearchAssetsWalksEveryPage(t *testing.T) {
	s, c := newFake(t)
	want := addAssets(s, "IMG", 5)
	got, err := collect(t, c.SearchAssets(context.Background(), api.MetadataSearchDto{Size: Ptr(2)}))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, a := range got {
		ids = append(ids, a.Id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	slices.SortFunc(want, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if !slices.Equal(ids, want) {
		t.Fatalf("got %v, want %v", ids, want)
	}
	if n := s.RequestCount("searchAssets"); n != 3 {
		t.Fatalf("%d search requests for 5 assets in pages of 2, want 3", n)
	}
}

func TestSearchAssetsStopsWhenTheCallerDoes(t *testing.T) {
	s, c := newFake(t)
	addAssets(s, "IMG", 5)
	n := 0
	for _, err := range c.SearchAssets(context.Background(), api.MetadataSearchDto{Size: Ptr(2)}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 3 {
			break
		}
	}
	if got := s.RequestCount("searchAssets"); got != 2 {
		t.Fatalf("%d search requests after stopping in the second page, want 2", got)
	}
}

func TestSearchAssetsYieldsOneErrorAndStops(t *testing.T) {
	s, _ := newFake(t)
	addAssets(s, "IMG", 2)
	c, err := New(s.URL(), WithAPIKey("wrong"), WithRetry(fastRetry()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	calls, errs := 0, 0
	for _, err := range c.SearchAssets(context.Background(), api.MetadataSearchDto{}) {
		calls++
		if err != nil {
			errs++
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("error %v does not match ErrUnauthorized", err)
			}
		}
	}
	if calls != 1 || errs != 1 {
		t.Fatalf("yielded %d times with %d errors, want one error and nothing else", calls, errs)
	}
}

func TestAlbumAssetsAllVisibilities(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	ids := addAssets(s, "IMG", 4)
	album := createAlbum(t, c, "Trip", ids[:3])
	for i, v := range []api.AssetVisibility{api.AssetVisibilityArchive, api.AssetVisibilityHidden} {
		r, err := c.UpdateAssetWithResponse(ctx, ids[i+1], api.UpdateAssetDto{Visibility: Ptr(v)})
		if err == nil {
			err = CheckResponse("updateAsset", r.HTTPResponse, r.Body)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := collect(t, c.AlbumAssets(ctx, album))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uuid.UUID]api.AssetVisibility{}
	for _, a := range got {
		seen[a.Id] = a.Visibility
	}
	if len(got) != 3 || seen[ids[0]] != api.AssetVisibilityTimeline || seen[ids[1]] != api.AssetVisibilityArchive || seen[ids[2]] != api.AssetVisibilityHidden {
		t.Fatalf("album assets %v, want the three in the album, one per visibility", seen)
	}

	_, err = collect(t, c.AlbumAssets(ctx, uuid.New()))
	if err == nil {
		t.Fatal("an unknown album gave no error")
	}
}

func TestAlbumByName(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	ids := addAssets(s, "IMG", 2)
	trip := createAlbum(t, c, "Trip", ids[:1])
	createAlbum(t, c, "Twice", nil)
	createAlbum(t, c, "Twice", nil)

	a, err := c.AlbumByName(ctx, "Trip")
	if err != nil || a.Id != trip {
		t.Fatalf("AlbumByName(Trip) = %v, %v; want album %s", a, err, trip)
	}
	if _, err := c.AlbumByName(ctx, "trip"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another case: %v, want ErrNotFound", err)
	}
	if _, err := c.AlbumByName(ctx, "Twice"); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("two albums of one name: %v, want ErrAmbiguous", err)
	}
	n := 0
	for _, err := range c.Albums(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("Albums yielded %d, want 3", n)
	}
}
