package hashcache_test

import (
	"crypto/sha1"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/goimmich/goimmich/internal/hashcache"
)

// The upload pipeline: stat, look the file up, hash only on a miss, store.
func Example() {
	dir, err := os.MkdirTemp("", "hashcache-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	photo := filepath.Join(dir, "IMG_0001.jpg")
	_ = os.WriteFile(photo, []byte("jpeg bytes"), 0o600)
	old := time.Now().Add(-time.Hour) // outside the racy window
	_ = os.Chtimes(photo, old, old)

	for run := 1; run <= 2; run++ {
		c, err := hashcache.Open(filepath.Join(dir, "hashes.db"))
		if err != nil {
			panic(err)
		}
		fi, _ := os.Stat(photo) // before reading the file
		key := hashcache.KeyFor(photo, fi)
		sum, ok := c.Lookup(key)
		if !ok {
			f, _ := os.Open(photo)
			h := sha1.New()
			_, _ = io.Copy(h, f)
			f.Close()
			h.Sum(sum[:0])
			c.Store(key, sum)
		}
		fmt.Printf("run %d: cached=%v sha1=%x\n", run, ok, sum)
		_ = c.Close()
	}
	// Output:
	// run 1: cached=false sha1=2ee409c930850cda2ff3a3f17c6e40a3ffa2dd60
	// run 2: cached=true sha1=2ee409c930850cda2ff3a3f17c6e40a3ffa2dd60
}

// Level 2: remember what the server confirmed, per server and user.
func ExampleCache_Confirmed() {
	dir, _ := os.MkdirTemp("", "hashcache-example")
	defer os.RemoveAll(dir)
	c, _ := hashcache.Open(filepath.Join(dir, "hashes.db"))
	defer c.Close()

	sum := sha1.Sum([]byte("jpeg bytes"))
	const server, user = "http://127.0.0.1:2283/api", "user-1"
	c.Confirm(server, user, sum, "asset-42")
	id, ok := c.Confirmed("http://127.0.0.1:2283", user, sum)
	fmt.Println(id, ok)
	_, ok = c.Confirmed(server, "user-2", sum)
	fmt.Println(ok)
	// Output:
	// asset-42 true
	// false
}
