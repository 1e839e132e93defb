package wrapper_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/wrapper"
)

func ExampleClient_Watch() {
	// A fake Immich server; a real program calls wrapper.New with its
	// server's URL and key.
	srv := immichtest.NewServer()
	defer srv.Close()
	c, err := wrapper.New(srv.URL(), wrapper.WithAPIKey(srv.APIKey()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()

	dir, _ := os.MkdirTemp("", "photos")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "old.jpg"), []byte("a photo from before"), 0o644)
	lastWeek := time.Now().AddDate(0, 0, -7)
	os.Chtimes(filepath.Join(dir, "old.jpg"), lastWeek, lastWeek) // files modified within Settle wait for it

	// A real program runs until SIGTERM (signal.NotifyContext); here the
	// watch ends after the second batch.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := 0
	err = c.Watch(ctx, []string{dir}, wrapper.WatchOptions{
		UploadOptions: wrapper.UploadOptions{AlbumName: "Inbox"},
		BatchInterval: 100 * time.Millisecond, // defaults: 100 files or 10 s
		Settle:        200 * time.Millisecond, // default 5 s without a change
		OnBatch: func(res *wrapper.UploadResult) {
			batches++
			for _, u := range res.Uploaded {
				fmt.Printf("batch %d: uploaded %s\n", batches, filepath.Base(u.Filepath))
			}
			if batches == 1 { // the first pass is done: a new photo arrives
				os.WriteFile(filepath.Join(dir, "new.jpg"), []byte("a photo taken now"), 0o644)
				os.WriteFile(filepath.Join(dir, "new.jpg.part"), []byte("still downloading"), 0o644)
			} else {
				cancel()
			}
		},
		OnError: func(err error, retryIn time.Duration) {
			log.Printf("%v (trying again in %v)", err, retryIn) // server down: the files wait
		},
	})
	if err != nil {
		log.Fatal(err) // could not start: wrong URL or key, server down, path missing
	}
	fmt.Println(len(srv.Assets()), "assets on the server")
	// Output:
	// batch 1: uploaded old.jpg
	// batch 2: uploaded new.jpg
	// 2 assets on the server
}
