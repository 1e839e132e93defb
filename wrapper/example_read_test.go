package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/wrapper"
)

// albumServer starts a fake Immich server holding three photos, the first
// two in album "Trip" (the second archived), and a Client for it.
func albumServer() (c *wrapper.Client, album uuid.UUID, done func()) {
	srv := immichtest.NewServer()
	var ids []uuid.UUID
	taken := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	for i, name := range []string{"IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg"} {
		a := srv.SeedAsset(immichtest.AssetSeed{Name: name, Content: fmt.Appendf(nil, "\xff\xd8\xff photo %d", i), TakenAt: taken.Add(time.Duration(i) * time.Hour)})
		ids = append(ids, a.ID)
	}
	c, err := wrapper.New(srv.URL(), wrapper.WithAPIKey(srv.APIKey()))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	r, err := c.CreateAlbumWithResponse(ctx, api.CreateAlbumDto{AlbumName: "Trip", AssetIds: &[]uuid.UUID{ids[0], ids[1]}})
	if err != nil || r.JSON201 == nil {
		log.Fatal("creating the album: ", err)
	}
	if _, err := c.UpdateAssetWithResponse(ctx, ids[1], api.UpdateAssetDto{Visibility: wrapper.Ptr(api.AssetVisibilityArchive)}); err != nil {
		log.Fatal(err)
	}
	return c, r.JSON201.Id, func() { c.CloseIdleConnections(); srv.Close() }
}

func ExampleClient_SearchAssets() {
	c, _, done := albumServer()
	defer done()

	// Every page is fetched as the loop needs it; Size only sets how many
	// assets one request brings (1000 when nil).
	search := api.MetadataSearchDto{OriginalFileName: wrapper.Ptr("IMG_"), Order: wrapper.Ptr(api.AssetOrderAsc), Size: wrapper.Ptr(2)}
	for a, err := range c.SearchAssets(context.Background(), search) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(a.OriginalFileName, a.Visibility)
	}
	// Output:
	// IMG_0001.jpg timeline
	// IMG_0002.jpg archive
	// IMG_0003.jpg timeline
}

func ExampleClient_AlbumAssets() {
	c, _, done := albumServer()
	defer done()
	ctx := context.Background()

	album, err := c.AlbumByName(ctx, "Trip")
	if err != nil {
		log.Fatal(err)
	}
	// Archived and hidden assets of the album too, not only the timeline's.
	for a, err := range c.AlbumAssets(ctx, album.Id) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(a.OriginalFileName, a.Visibility)
	}
	// Output:
	// IMG_0001.jpg timeline
	// IMG_0002.jpg archive
}

func ExampleClient_AlbumByName() {
	c, album, done := albumServer()
	defer done()
	ctx := context.Background()

	a, err := c.AlbumByName(ctx, "Trip")
	fmt.Println(err == nil && a.Id == album)
	_, err = c.AlbumByName(ctx, "Holidays")
	fmt.Println(errors.Is(err, wrapper.ErrNotFound))
	// Output:
	// true
	// true
}

func ExampleClient_Albums() {
	c, _, done := albumServer()
	defer done()

	for a, err := range c.Albums(context.Background(), nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(a.AlbumName, a.AssetCount)
	}
	// Output:
	// Trip 2
}

func ExamplePtr() {
	dto := api.MetadataSearchDto{City: wrapper.Ptr("Paris"), IsFavorite: wrapper.Ptr(true)}
	fmt.Println(*dto.City, *dto.IsFavorite)
	// Output:
	// Paris true
}
