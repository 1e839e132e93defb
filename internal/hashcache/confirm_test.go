package hashcache

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConfirmPerServerAndUser(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hashes.db")
	sum := sha1.Sum([]byte("IMG_0001.jpg bytes"))
	other := sha1.Sum([]byte("other bytes"))
	const (
		server = "https://photos.example.com/api"
		alice  = "8d3f1c2e-0000-4000-8000-00000000a11c"
		bob    = "8d3f1c2e-0000-4000-8000-000000000b0b"
		asset  = "5e0f9a3c-1111-4111-8111-111111111111"
	)

	c := mustOpen(t, db)
	c.Confirm(server, alice, sum, asset)
	c.Confirm("http://other.example.com:2283", bob, other, "x")
	check := func(when string) {
		t.Helper()
		for _, tc := range []struct {
			server, user string
			sum          [20]byte
			want         string
		}{
			{server, alice, sum, asset},
			{"https://PHOTOS.example.com:443/api/", alice, sum, asset}, // same server, other spelling
			{"https://photos.example.com", alice, sum, asset},          // without /api
			{server, bob, sum, ""},                                     // other user
			{"https://photos2.example.com/api", alice, sum, ""},        // other server
			{"http://photos.example.com/api", alice, sum, ""},          // other scheme
			{server, alice, other, ""},                                 // other checksum
			{"", alice, sum, ""},
			{server, "", sum, ""},
			{"http://other.example.com:2283/api", bob, other, "x"},
		} {
			got, ok := c.Confirmed(tc.server, tc.user, tc.sum)
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("%s: Confirmed(%q, %q, %x) = %q, %v; want %q", when, tc.server, tc.user, tc.sum[:4], got, ok, tc.want)
			}
		}
	}
	check("buffered")
	mustClose(t, c)
	c = mustOpen(t, db)
	check("after reopen")

	c.Forget(server, alice, sum)
	if _, ok := c.Confirmed(server, alice, sum); ok {
		t.Fatal("confirmed right after Forget")
	}
	mustClose(t, c)
	c = mustOpen(t, db)
	defer mustClose(t, c)
	if _, ok := c.Confirmed(server, alice, sum); ok {
		t.Fatal("Forget not persisted")
	}
	if got, ok := c.Confirmed("http://other.example.com:2283", bob, other); !ok || got != "x" {
		t.Fatal("Forget removed another server's confirmation")
	}
	// Forgetting what was never confirmed is harmless.
	c.Forget("https://never.example.com", alice, sum)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestConfirmedSince(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hashes.db")
	c := mustOpen(t, db)
	sum := sha1.Sum([]byte("x"))
	before := time.Now().Add(-time.Second)
	c.Confirm("http://127.0.0.1:2283", "u", sum, "a1")
	for _, flushed := range []bool{false, true} {
		if flushed {
			mustClose(t, c)
			c = mustOpen(t, db)
		}
		if id, ok := c.ConfirmedSince("http://127.0.0.1:2283", "u", sum, before); !ok || id != "a1" {
			t.Fatalf("flushed=%v: confirmation made after since not found", flushed)
		}
		if _, ok := c.ConfirmedSince("http://127.0.0.1:2283", "u", sum, time.Now().Add(time.Hour)); ok {
			t.Fatalf("flushed=%v: confirmation older than since was returned", flushed)
		}
	}
	mustClose(t, c)
}

// ConfirmedSinceAll answers for each checksum what ConfirmedSince does:
// from buffered writes, from the file (more checksums than one release of
// the map's pages), and in memory mode.
func TestConfirmedSinceAll(t *testing.T) {
	const server, user = "http://127.0.0.1:2283", "u"
	db := filepath.Join(t.TempDir(), "hashes.db")
	c := mustOpen(t, db)
	var sums [][20]byte
	want := map[int]string{}
	for k := range 3 * releaseEvery {
		sums = append(sums, sha1.Sum(fmt.Appendf(nil, "file %d", k)))
		if k%3 != 0 { // every third checksum was never confirmed
			want[k] = fmt.Sprintf("asset %d", k)
			c.Confirm(server, user, sums[k], want[k])
		}
	}
	check := func(c *Cache, since time.Time, want map[int]string) {
		t.Helper()
		got := map[int]string{}
		last := -1
		c.ConfirmedSinceAll(server, user, sums, since, func(k int, id string) {
			if k <= last {
				t.Fatalf("found(%d) after found(%d): not in order", k, last)
			}
			last = k
			got[k] = id
		})
		if !maps.Equal(got, want) {
			t.Fatalf("found %d confirmations, want %d (first mismatch among %v)", len(got), len(want), firstMismatch(got, want))
		}
	}
	before := time.Now().Add(-time.Second)
	check(c, before, want) // buffered
	mustClose(t, c)
	c = mustOpen(t, db)
	check(c, before, want)                                   // from the file
	check(c, time.Now().Add(time.Hour), nil)                 // all older than since
	m, err := Open(db, WithLockTimeout(10*time.Millisecond)) // memory mode
	if err != nil || m.Stats().Persistent {
		t.Fatalf("second opener: %v, not in memory mode", err)
	}
	m.Confirm(server, user, sums[0], "m0")
	check(m, time.Time{}, map[int]string{0: "m0"})
	_ = m.Close()
	mustClose(t, c)
}

func firstMismatch(got, want map[int]string) []int {
	for k, v := range want {
		if got[k] != v {
			return []int{k}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return []int{k}
		}
	}
	return nil
}

func TestConfirmNeverStoresCredentials(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hashes.db")
	c := mustOpen(t, db)
	sum := sha1.Sum([]byte("x"))
	c.Confirm("https://me:s3cr3t-pass@photos.example.com/api?apiKey=k3y-in-query", "u1", sum, "asset-1")
	mustClose(t, c)
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cr3t-pass", "k3y-in-query"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Fatalf("cache file contains %q", secret)
		}
	}
	c = mustOpen(t, db)
	defer mustClose(t, c)
	if got, ok := c.Confirmed("https://photos.example.com", "u1", sum); !ok || got != "asset-1" {
		t.Fatalf("Confirmed without credentials = %q, %v", got, ok)
	}
}

func TestNormalizeServer(t *testing.T) {
	for in, want := range map[string]string{
		"https://Photos.Example.com/api/":    "https://photos.example.com",
		"https://photos.example.com:443/api": "https://photos.example.com",
		"http://127.0.0.1:2283/api":          "http://127.0.0.1:2283",
		"http://[::1]:2283/api":              "http://[::1]:2283",
		"https://example.com/immich/api":     "https://example.com/immich",
		"http://example.com:80":              "http://example.com",
		"https://u:p@example.com/api#x":      "https://example.com",
		"  https://example.com/api  ":        "https://example.com",
		"not a url/":                         "not a url",
	} {
		if got := normalizeServer(in); got != want {
			t.Errorf("normalizeServer(%q) = %q, want %q", in, got, want)
		}
	}
}

// ConfirmAll writes only what changed: an unchanged confirmation is left
// alone unless it is older than keepSince, a new or different one is
// written, in file mode and in memory mode alike.
func TestConfirmAll(t *testing.T) {
	const server, user = "http://127.0.0.1:2283", "u"
	db := filepath.Join(t.TempDir(), "hashes.db")
	a, b, c3 := sha1.Sum([]byte("a")), sha1.Sum([]byte("b")), sha1.Sum([]byte("c"))
	batch := func() []Confirmation {
		return []Confirmation{{c3, "c2"}, {a, "a1"}, {b, "b1"}, {sha1.Sum([]byte("d")), ""}}
	}
	c := mustOpen(t, db)
	c.Confirm(server, user, a, "a1")
	c.Confirm(server, user, c3, "c1")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	c.ConfirmAll(server, user, batch(), time.Time{})
	if n := len(c.pending); n != 2 {
		t.Fatalf("%d writes buffered, want 2 (b new, c changed; a unchanged, d without id)", n)
	}
	for sum, want := range map[[20]byte]string{a: "a1", b: "b1", c3: "c2"} {
		if got, ok := c.Confirmed(server, user, sum); !ok || got != want {
			t.Errorf("Confirmed(%x) = %q, %v; want %q", sum[:2], got, ok, want)
		}
	}
	if _, ok := c.Confirmed(server, user, sha1.Sum([]byte("d"))); ok {
		t.Error("a confirmation without asset id was recorded")
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	c.ConfirmAll(server, user, batch(), time.Now().Add(time.Hour))
	if n := len(c.pending); n != 3 {
		t.Fatalf("%d writes buffered, want 3: every confirmation is older than keepSince", n)
	}
	// Memory mode: a second opener while the file is held.
	m, err := Open(db, WithLockTimeout(10*time.Millisecond))
	if err != nil || m.Stats().Persistent {
		t.Fatalf("second opener: %v, not in memory mode", err)
	}
	m.ConfirmAll(server, user, batch(), time.Time{})
	if got, ok := m.Confirmed(server, user, b); !ok || got != "b1" {
		t.Fatalf("memory mode: Confirmed = %q, %v", got, ok)
	}
	_ = m.Close() // ErrNotSaved: the file is still held
	mustClose(t, c)
	c = mustOpen(t, db)
	defer mustClose(t, c)
	if got, ok := c.Confirmed(server, user, c3); !ok || got != "c2" {
		t.Fatalf("after reopening: Confirmed = %q, %v", got, ok)
	}
}
