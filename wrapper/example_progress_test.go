package wrapper_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goimmich/goimmich/immichtest"
	"github.com/goimmich/goimmich/wrapper"
)

func ExampleNewTextProgress() {
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
	os.WriteFile(filepath.Join(dir, "a.jpg"), []byte("a photo"), 0o644)
	os.WriteFile(filepath.Join(dir, "copy.jpg"), []byte("a photo the server has"), 0o644)

	// Plain lines for a log or a pipe: here one per file (an interval of 0);
	// with an interval, a status line with speed and ETA at most that often.
	var out strings.Builder
	p := wrapper.NewTextProgress(&out, 0)
	_, err = c.Upload(context.Background(), []string{dir}, wrapper.UploadOptions{Progress: p})
	p.Wait()
	if err != nil {
		log.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(out.String(), dir, "photos")), "\n")
	sort.Strings(lines) // files finish in any order
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// duplicate  photos/copy.jpg (22 B)
	// uploaded   photos/a.jpg (7 B)
}
