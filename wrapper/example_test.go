package wrapper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/wrapper"
)

func ExampleNew() {
	c, err := wrapper.New("https://photos.example.com",
		wrapper.WithAPIKey("the key from Account Settings > API Keys"),
		wrapper.WithUserAgent("my-backup/1.0"),
		wrapper.WithRetry(wrapper.RetryPolicy{
			MaxAttempts:  8,
			StallTimeout: 2 * time.Minute, // slow links: abort only after 2 minutes without a byte
		}),
		wrapper.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.ServerURL()) // "/api" is added, as the official CLI does
	fmt.Println(c)             // never shows the key

	_, err = wrapper.New("photos.example.com")
	fmt.Println(err)
	// Output:
	// https://photos.example.com/api
	// wrapper.Client{https://photos.example.com/api, API key}
	// wrapper: server URL "photos.example.com" must start with http:// or https://
}

func ExampleClient_Upload() {
	// A fake Immich server that already holds one photo; a real program
	// calls wrapper.New with its server's URL and key.
	srv := immichtest.NewServer()
	defer srv.Close()
	srv.AddAsset("old.jpg", []byte("a photo the server has"))
	c, err := wrapper.New(srv.URL(), wrapper.WithAPIKey(srv.APIKey()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()

	dir, _ := os.MkdirTemp("", "photos")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "beach.jpg"), []byte("a new photo"), 0o644)
	os.WriteFile(filepath.Join(dir, "beach.jpg.xmp"), []byte("<x:xmpmeta/>"), 0o644) // goes up as its sidecar
	os.WriteFile(filepath.Join(dir, "copy.jpg"), []byte("a photo the server has"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not media: skipped"), 0o644)

	res, err := c.Upload(context.Background(), []string{dir}, wrapper.UploadOptions{AlbumName: "Holiday"})
	if err != nil {
		log.Fatal(err) // nothing could be attempted: wrong URL or key, server down
	}
	for _, u := range res.Uploaded {
		fmt.Println("uploaded", filepath.Base(u.Filepath), u.Asset.Status)
	}
	for _, r := range res.Rejected {
		fmt.Println("rejected", filepath.Base(r.Filepath), r.Reason)
	}
	fmt.Printf("album %s: created %v, %d added\n", res.Albums[0].Name, res.Albums[0].Created, res.Albums[0].Added)
	stats, _ := json.Marshal(map[string]int{"total": res.Stats.Total, "uploaded": res.Stats.Uploaded, "rejected": res.Stats.Rejected, "failed": res.Stats.Failed})
	fmt.Println(string(stats))
	// Output:
	// uploaded beach.jpg created
	// rejected copy.jpg duplicate
	// album Holiday: created true, 2 added
	// {"failed":0,"rejected":1,"total":2,"uploaded":1}
}

func ExampleNewBarProgress() {
	srv := immichtest.NewServer()
	defer srv.Close()
	c, err := wrapper.New(srv.URL(), wrapper.WithAPIKey(srv.APIKey()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()
	dir, _ := os.MkdirTemp("", "photos")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "a.jpg"), []byte("a photo"), 0o644)

	// Bars on stderr when it is a terminal (nothing is drawn otherwise).
	// UploadOptions{ShowProgress: true} does the same.
	bars := wrapper.NewBarProgress(os.Stderr)
	res, err := c.Upload(context.Background(), []string{dir}, wrapper.UploadOptions{Progress: bars})
	bars.Wait() // draw the final state before printing anything else
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Stats.Uploaded, "uploaded")
	// Output:
	// 1 uploaded
}

func ExampleHashCacheOptions() {
	srv := immichtest.NewServer()
	defer srv.Close()
	c, err := wrapper.New(srv.URL(), wrapper.WithAPIKey(srv.APIKey()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()
	dir, _ := os.MkdirTemp("", "photos")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "a.jpg")
	os.WriteFile(p, []byte("a photo"), 0o644)
	old := time.Now().Add(-time.Hour) // files written in the last seconds are not cached
	os.Chtimes(p, old, old)

	// The cache is off unless given a path (DefaultHashCachePath is the
	// usual one, os.UserCacheDir()/goimmich/hashes.db); here the server's
	// confirmations are also trusted for a day (a re-run within a day asks
	// the server nothing about them).
	opts := wrapper.UploadOptions{HashCache: wrapper.HashCacheOptions{
		Path:         filepath.Join(dir, "hashes.db"),
		RecheckAfter: 24 * time.Hour,
	}}
	for range 2 {
		res, err := c.Upload(context.Background(), []string{dir}, opts)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("uploaded %d, duplicates %d, read from cache %d, not asked %d\n",
			res.Stats.Uploaded, res.Stats.Rejected, res.Stats.HashCacheHits, res.Stats.ChecksSkipped)
	}
	// Output:
	// uploaded 1, duplicates 0, read from cache 0, not asked 0
	// uploaded 0, duplicates 1, read from cache 1, not asked 1
}

func ExampleClient_ServerVersion() {
	srv := immichtest.NewServer() // a release of Immich 3
	defer srv.Close()
	c, err := wrapper.New(srv.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()
	v, err := c.ServerVersion(context.Background()) // public: no key needed; asked once per Client
	if errors.Is(err, wrapper.ErrServerTooOld) {
		log.Fatal(err) // names the server's release and the oldest supported one
	}
	if err != nil {
		log.Fatal(err)
	}
	if v.Major >= 3 {
		fmt.Println("Immich 3 or later: no deviceAssetId on upload")
	}
	fmt.Println("oldest supported:", wrapper.OldestSupportedVersion())
	// Output:
	// Immich 3 or later: no deviceAssetId on upload
	// oldest supported: 2.3.0
}

// OnFile streams each file's outcome instead of listing it in the result,
// which then holds only the counts: for trees of millions of files.
func ExampleUploadOptions_onFile() {
	srv := immichtest.NewServer()
	defer srv.Close()
	c, err := wrapper.New(srv.URL(), wrapper.WithAPIKey(srv.APIKey()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()
	dir, _ := os.MkdirTemp("", "photos")
	defer os.RemoveAll(dir)
	srv.AddAsset("old.jpg", []byte("a photo the server has"))
	os.WriteFile(filepath.Join(dir, "a.jpg"), []byte("a new photo"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("a photo the server has"), 0o644)

	res, err := c.Upload(context.Background(), []string{dir}, wrapper.UploadOptions{
		OnFile: func(fo wrapper.FileOutcome) {
			switch fo.Status {
			case wrapper.FileRejected:
				fmt.Println(filepath.Base(fo.Path), "rejected:", fo.Reason)
			case wrapper.FileFailed:
				fmt.Println(filepath.Base(fo.Path), "failed:", fo.Err)
			default:
				fmt.Println(filepath.Base(fo.Path), fo.Status)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Uploaded), "listed;", res.Stats.Total, "counted")
	// Output:
	// a.jpg uploaded
	// b.jpg rejected: duplicate
	// 0 listed; 2 counted
}
