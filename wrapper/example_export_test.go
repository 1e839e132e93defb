package wrapper_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/goimmich/goimmich/wrapper"
)

func ExampleClient_Export() {
	c, _, done := albumServer() // three photos, two of them in album "Trip"
	defer done()
	dir, _ := os.MkdirTemp("", "backup")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	opts := wrapper.ExportOptions{Albums: []string{"Trip"}, Layout: "{{.Album}}/{{.Name}}"}
	res, err := c.Export(ctx, dir, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("downloaded", res.Downloaded)
	files, _ := filepath.Glob(filepath.Join(dir, "Trip", "*"))
	for _, f := range files {
		fmt.Println(filepath.ToSlash(f[len(dir)+1:]))
	}

	// A re-run fetches nothing that is already there.
	res, _ = c.Export(ctx, dir, opts)
	fmt.Println("downloaded", res.Downloaded, "unchanged", res.Unchanged)

	// An unknown field is refused before anything is written.
	_, err = c.Export(ctx, dir, wrapper.ExportOptions{Layout: "{{.Camera}}/{{.Name}}"})
	fmt.Println(err)
	// Output:
	// downloaded 2
	// Trip/IMG_0001.jpg
	// Trip/IMG_0002.jpg
	// downloaded 0 unchanged 2
	// bad export layout "{{.Camera}}/{{.Name}}": can't evaluate field Camera in type wrapper.ExportPathFields; the fields are .Year .Month .Day .Album .Name .Stem .Ext .ID .Type
}
