package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/wrapper"
)

// exampleServer starts a fake Immich server holding two assets, and a
// Client for it. A real program calls wrapper.New with its server's URL.
func exampleServer() (srv *immichtest.Server, c *wrapper.Client, photo, video uuid.UUID, done func()) {
	srv = immichtest.NewServer()
	photo = srv.AddAsset("IMG_0001.jpg", []byte("\xff\xd8\xff\xe0 a photo")).ID
	video = srv.AddAsset("clip.mp4", []byte("\x00\x00\x00\x18ftypmp42 a video")).ID
	c, err := wrapper.New(srv.URL(), wrapper.WithAPIKey(srv.APIKey()))
	if err != nil {
		log.Fatal(err)
	}
	return srv, c, photo, video, func() { c.CloseIdleConnections(); srv.Close() }
}

func ExampleClient_DownloadAssetToFile() {
	_, c, photo, _, done := exampleServer()
	defer done()
	dir, _ := os.MkdirTemp("", "photos")
	defer os.RemoveAll(dir)

	res, err := c.DownloadAssetToFile(context.Background(), photo, dir, wrapper.DownloadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(res.Path), res.Outcome)

	// A rerun finds the verified file and returns it without downloading.
	again, _ := c.DownloadAssetToFile(context.Background(), photo, dir, wrapper.DownloadOptions{})
	fmt.Println(again.Path == res.Path, again.Outcome)

	// A file with other bytes under that name is never touched.
	os.WriteFile(filepath.Join(dir, "IMG_0001.jpg"), []byte("my edit"), 0o644)
	other, _ := c.DownloadAssetToFile(context.Background(), photo, dir, wrapper.DownloadOptions{})
	fmt.Println(filepath.Base(other.Path), other.Outcome)

	_, err = c.DownloadAssetToFile(context.Background(), uuid.New(), dir, wrapper.DownloadOptions{})
	fmt.Println(errors.Is(err, wrapper.ErrNotFound))
	// Output:
	// IMG_0001.jpg downloaded
	// true present
	// IMG_0001 (1).jpg renamed
	// true
}

func ExampleClient_ViewAssetToFile() {
	_, c, photo, _, done := exampleServer()
	defer done()
	dir, _ := os.MkdirTemp("", "thumbs")
	defer os.RemoveAll(dir)

	res, err := c.ViewAssetToFile(context.Background(), photo, dir, api.AssetMediaSizeThumbnail, wrapper.DownloadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(res.Path))
	// Output: IMG_0001_thumbnail.jpg
}

func ExampleClient_PlayAssetVideoToFile() {
	_, c, _, video, done := exampleServer()
	defer done()
	dir, _ := os.MkdirTemp("", "videos")
	defer os.RemoveAll(dir)

	res, err := c.PlayAssetVideoToFile(context.Background(), video, dir, wrapper.DownloadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(res.Path))
	// Output: clip.mp4
}

func ExampleClient_DownloadArchiveToDir() {
	_, c, photo, video, done := exampleServer()
	defer done()
	dir, _ := os.MkdirTemp("", "archives")
	defer os.RemoveAll(dir)

	// The server closes a zip once it holds more than ArchiveSize bytes
	// (default 4 GiB); with 10 bytes, each tiny asset gets its own zip, each
	// streamed to its own file.
	zips, err := c.DownloadArchiveToDir(context.Background(), []uuid.UUID{photo, video}, dir,
		wrapper.DownloadOptions{Filename: "holiday", ArchiveSize: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, z := range zips {
		fmt.Println(filepath.Base(z.Path))
	}
	// Output:
	// holiday-1.zip
	// holiday-2.zip
}

func ExampleDownloadOptions_sharedLink() {
	srv, owner, photo, _, done := exampleServer()
	defer done()
	ctx := context.Background()
	ids := []uuid.UUID{photo}
	slug := "holiday"
	if _, err := owner.CreateSharedLinkWithResponse(ctx, api.SharedLinkCreateDto{Type: api.SharedLinkTypeINDIVIDUAL, AssetIds: &ids, Slug: &slug}); err != nil {
		log.Fatal(err)
	}

	// Whoever has the link needs no API key.
	guest, _ := wrapper.New(srv.URL())
	defer guest.CloseIdleConnections()
	dir, _ := os.MkdirTemp("", "shared")
	defer os.RemoveAll(dir)
	res, err := guest.DownloadAssetToFile(ctx, photo, dir, wrapper.DownloadOptions{Slug: slug})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(res.Path))
	// Output: IMG_0001.jpg
}
