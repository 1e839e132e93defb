package wrapper_test

// The programs a new user writes first, each whole and runnable against the
// fake server of package immichtest: check the login, upload into an album
// (twice), list albums and download one, thumbnails and a video, and
// telling errors apart. Searching across every page is
// ExampleClient_SearchAssets; a test of one's own code with immichtest is
// immichtest's Example_testYourCode.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/wrapper"
)

// Upload a folder into an album, then run again: the second run finds every
// file on the server (by checksum; the hash cache spares it reading the
// files) and sends no file, and the album is not touched twice.
func ExampleClient_Upload_again() {
	srv, c, _, _, done := exampleServer()
	defer done()

	dir, _ := os.MkdirTemp("", "photos")
	defer os.RemoveAll(dir)
	taken := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC) // files written in the last seconds are not cached
	for _, name := range []string{"IMG_0001.jpg", "IMG_0002.jpg"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("the photo "+name), 0o644)
		os.Chtimes(p, taken, taken)
	}
	opts := wrapper.UploadOptions{
		AlbumName: "Holiday",
		HashCache: wrapper.HashCacheOptions{Path: filepath.Join(dir, "hashes.db")}, // not media: not uploaded
	}
	for run := 1; run <= 2; run++ {
		res, err := c.Upload(context.Background(), []string{dir}, opts)
		if err != nil {
			log.Fatal(err)
		}
		al := res.Albums[0]
		fmt.Printf("run %d: uploaded %d, already on the server %d, files read %d; album %s created %v, %d added, %d already in\n",
			run, res.Stats.Uploaded, res.Stats.Rejected, res.Stats.Total-res.Stats.HashCacheHits, al.Name, al.Created, al.Added, al.AlreadyIn)
	}
	fmt.Println(srv.RequestCount("uploadAsset"), "files sent in all")
	// Output:
	// run 1: uploaded 2, already on the server 0, files read 2; album Holiday created true, 2 added, 0 already in
	// run 2: uploaded 0, already on the server 2, files read 0; album Holiday created false, 0 added, 2 already in
	// 2 files sent in all
}

// List the albums, then download every asset of one into a folder of its
// name. The iterators fetch what the loop needs: no paging by hand.
func ExampleClient_Albums_download() {
	c, _, done := albumServer()
	defer done()
	ctx := context.Background()
	out, _ := os.MkdirTemp("", "albums")
	defer os.RemoveAll(out)

	var trip *api.AlbumResponseDto
	for a, err := range c.Albums(ctx, nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("album", a.AlbumName, a.AssetCount)
		if a.AlbumName == "Trip" {
			trip = &a
		}
	}
	dir := filepath.Join(out, trip.AlbumName)
	for a, err := range c.AlbumAssets(ctx, trip.Id) {
		if err != nil {
			log.Fatal(err)
		}
		res, err := c.DownloadAssetToFile(ctx, a.Id, dir, wrapper.DownloadOptions{})
		if err != nil {
			log.Fatal(err)
		}
		rel, _ := filepath.Rel(out, res.Path)
		fmt.Println(filepath.ToSlash(rel), res.Outcome)
	}
	// Output:
	// album Trip 2
	// Trip/IMG_0001.jpg downloaded
	// Trip/IMG_0002.jpg downloaded
}

// Save a thumbnail of every photo and the playable form of every video.
func ExampleClient_ViewAssetToFile_thumbnailsAndVideos() {
	_, c, _, _, done := exampleServer()
	defer done()
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "previews")
	defer os.RemoveAll(dir)

	photos := api.MetadataSearchDto{Type: wrapper.Ptr(api.AssetTypeEnumIMAGE)}
	for a, err := range c.SearchAssets(ctx, photos) {
		if err != nil {
			log.Fatal(err)
		}
		res, err := c.ViewAssetToFile(ctx, a.Id, dir, api.AssetMediaSizeThumbnail, wrapper.DownloadOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(filepath.Base(res.Path))
	}
	videos := api.MetadataSearchDto{Type: wrapper.Ptr(api.AssetTypeEnumVIDEO)}
	for a, err := range c.SearchAssets(ctx, videos) {
		if err != nil {
			log.Fatal(err)
		}
		res, err := c.PlayAssetVideoToFile(ctx, a.Id, dir, wrapper.DownloadOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(filepath.Base(res.Path))
	}
	// Output:
	// IMG_0001_thumbnail.jpg
	// clip.mp4
}

// Tell errors apart: every call, generated or not, returns the same typed
// errors.
func Example_errors() {
	srv, c, _, _, done := exampleServer()
	defer done()
	ctx := context.Background()

	// An id the server does not have (Immich answers 400 "Not found or no
	// asset.read access"): ErrNotFound.
	_, err := c.GetAssetInfoWithResponse(ctx, uuid.New(), nil)
	fmt.Println("unknown id:", errors.Is(err, wrapper.ErrNotFound))

	// A request the server's validation refuses: an *APIError whose
	// Fields name each field and what is wrong with it.
	for _, err = range c.SearchAssets(ctx, api.MetadataSearchDto{Size: wrapper.Ptr(0)}) {
		break // the first (and only) value is the error
	}
	var ae *wrapper.APIError
	if errors.As(err, &ae) {
		for _, f := range ae.Fields {
			fmt.Println("refused:", ae.StatusCode, f.Path)
		}
	}

	// A wrong or revoked key: ErrUnauthorized.
	wrongKey, _ := wrapper.New(srv.URL(), wrapper.WithAPIKey("not-the-key"))
	defer wrongKey.CloseIdleConnections()
	_, err = wrongKey.Me(ctx)
	fmt.Println("wrong key:", errors.Is(err, wrapper.ErrUnauthorized))

	// A URL where nothing listens: a *ConnectionError naming the cause.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	down, _ := wrapper.New(gone.URL, wrapper.WithAPIKey("key"))
	defer down.CloseIdleConnections()
	_, err = down.Me(ctx)
	var ce *wrapper.ConnectionError
	fmt.Println("server down:", errors.As(err, &ce))

	// A web page where Immich's API was expected (another app, a login
	// portal): ErrNotImmich.
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>My router</title>")
	}))
	defer web.Close()
	other, _ := wrapper.New(web.URL, wrapper.WithAPIKey("key"))
	defer other.CloseIdleConnections()
	_, err = other.Me(ctx)
	fmt.Println("not Immich:", errors.Is(err, wrapper.ErrNotImmich))
	// Output:
	// unknown id: true
	// refused: 400 size
	// wrong key: true
	// server down: true
	// not Immich: true
}

// Check the login: whose key is this? The answer is kept, so Upload with
// the same Client does not ask again.
func ExampleClient_Me() {
	srv, c, _, _, done := exampleServer()
	defer done()

	for range 2 {
		me, err := c.Me(context.Background())
		if errors.Is(err, wrapper.ErrUnauthorized) {
			log.Fatal("wrong API key: ", err)
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(me.Name, me.Email)
	}
	fmt.Println(srv.RequestCount("getMyUser"), "request")
	// Output:
	// Immich Test admin@immich.test
	// Immich Test admin@immich.test
	// 1 request
}
