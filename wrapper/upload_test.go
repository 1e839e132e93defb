package wrapper

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/immichtest"
)

// uploadRetry retries fast, so that fault tests stay quick.
func uploadRetry() RetryPolicy {
	return RetryPolicy{MaxAttempts: 8, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, StallTimeout: 10 * time.Second}
}

// newUploadEnv starts a fake Immich and a Client for it. At the end the
// test fails if a request or answer violated the spec.
func newUploadEnv(t testing.TB, opts ...immichtest.Option) (*immichtest.Server, *Client) {
	t.Helper()
	s := immichtest.NewServer(opts...)
	t.Cleanup(s.Close)
	c, err := New(s.URL(), WithAPIKey(s.APIKey()), WithRetry(uploadRetry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	t.Cleanup(func() {
		if f := s.ValidationFailures(); len(f) > 0 {
			t.Errorf("spec violations seen by the fake server: %+v", f)
		}
	})
	return s, c
}

func sha(content string) []byte { s := sha1.Sum([]byte(content)); return s[:] }

// checkPartition asserts that every file is in exactly one list and that
// the stats add up.
func checkPartition(t *testing.T, res *UploadResult, wantTotal int) {
	t.Helper()
	seen := map[string]string{}
	add := func(list, p string) {
		if prev, dup := seen[p]; dup {
			t.Fatalf("%s is in %s and in %s", p, prev, list)
		}
		seen[p] = list
	}
	for _, u := range res.Uploaded {
		add("uploaded", u.Filepath)
	}
	for _, r := range res.Rejected {
		add("rejected", r.Filepath)
	}
	for _, f := range res.Failed {
		add("failed", f.Filepath)
	}
	st := res.Stats
	if st.Uploaded != len(res.Uploaded) || st.Rejected != len(res.Rejected) || st.Failed != len(res.Failed) ||
		st.Total != st.Uploaded+st.Rejected+st.Failed || st.Total != wantTotal {
		t.Fatalf("stats %+v for %d/%d/%d files, want total %d", st, len(res.Uploaded), len(res.Rejected), len(res.Failed), wantTotal)
	}
}

func assetsByChecksum(s *immichtest.Server) map[string][]immichtest.Asset {
	m := map[string][]immichtest.Asset{}
	for _, a := range s.Assets() {
		m[string(a.Checksum)] = append(m[string(a.Checksum)], a)
	}
	return m
}

func TestUploadNewFiles(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "aaa", "b.mov": "bbbb", "sub/c.png": "ccccc", "notes.txt": "not media"})
	mod := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "a.jpg"), mod, mod); err != nil {
		t.Fatal(err)
	}
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{Visibility: api.AssetVisibilityArchive})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 3)
	if len(res.Uploaded) != 3 || len(res.Failed) != 0 {
		t.Fatalf("result %+v", res)
	}
	byName := map[string]UploadedFile{}
	for _, u := range res.Uploaded {
		byName[filepath.Base(u.Filepath)] = u
		if u.Asset.Status != api.AssetMediaStatusCreated || u.Asset.Id == uuid.Nil {
			t.Fatalf("%s: asset %+v", u.Filepath, u.Asset)
		}
	}
	assets := s.Assets()
	if len(assets) != 3 {
		t.Fatalf("server holds %d assets, want 3", len(assets))
	}
	for _, a := range assets {
		u, ok := byName[a.OriginalFileName]
		if !ok || u.Asset.Id != a.ID {
			t.Fatalf("server asset %s (%s) not reported as uploaded", a.OriginalFileName, a.ID)
		}
		content, _ := os.ReadFile(u.Filepath)
		if string(a.Checksum) != string(sha(string(content))) || a.Size != int64(len(content)) || a.Visibility != "archive" {
			t.Fatalf("asset %+v does not match %s", a, u.Filepath)
		}
		if a.OriginalFileName == "a.jpg" && (!a.FileModifiedAt.Equal(mod) || !a.FileCreatedAt.Equal(mod)) {
			t.Fatalf("dates %v %v, want the file's mtime %v", a.FileCreatedAt, a.FileModifiedAt, mod)
		}
		if a.DeviceAssetID != "" {
			t.Fatalf("3.x server got deviceAssetId %q", a.DeviceAssetID)
		}
	}
	if n := s.RequestCount("uploadAsset"); n != 3 {
		t.Fatalf("%d uploads, want 3", n)
	}
	if n := s.RequestCount("checkBulkUpload"); n < 1 {
		t.Fatal("no bulk-upload-check")
	}
	// A second run finds everything on the server and sends nothing.
	res2, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res2, 3)
	if len(res2.Rejected) != 3 || s.RequestCount("uploadAsset") != 3 {
		t.Fatalf("second run: %+v, %d uploads", res2.Stats, s.RequestCount("uploadAsset"))
	}
}

func TestUploadInFolderDuplicates(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "same", "b/copy.jpg": "same", "c/again.jpg": "same", "d.jpg": "other"})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 4)
	if len(res.Uploaded) != 2 || len(res.Rejected) != 2 {
		t.Fatalf("want 2 uploaded and 2 duplicates, got %+v", res)
	}
	var sameID string
	for _, u := range res.Uploaded {
		if b, _ := os.ReadFile(u.Filepath); string(b) == "same" {
			sameID = u.Asset.Id.String()
		}
	}
	for _, r := range res.Rejected {
		if r.Reason != RejectDuplicate || r.AssetID == nil || *r.AssetID != sameID {
			t.Fatalf("rejected %+v, want duplicate of %s", r, sameID)
		}
	}
	if n := len(s.Assets()); n != 2 {
		t.Fatalf("server holds %d assets, want 2", n)
	}
	if n := s.RequestCount("uploadAsset"); n != 2 {
		t.Fatalf("%d uploads, want 2: in-run duplicates are not sent", n)
	}
}

func TestUploadServerDuplicates(t *testing.T) {
	s, c := newUploadEnv(t)
	old := s.AddAsset("old.jpg", []byte("known"))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"x.jpg": "known", "y.jpg": "new"})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 2)
	if len(res.Rejected) != 1 || *res.Rejected[0].AssetID != old.ID.String() || res.Rejected[0].Reason != RejectDuplicate ||
		res.Rejected[0].Trashed || filepath.Base(res.Rejected[0].Filepath) != "x.jpg" {
		t.Fatalf("rejected %+v", res.Rejected)
	}
	if s.RequestCount("uploadAsset") != 1 || len(s.Assets()) != 2 {
		t.Fatalf("%d uploads, %d assets", s.RequestCount("uploadAsset"), len(s.Assets()))
	}
	// Without the check, the server still answers duplicate (x-immich-checksum
	// is not sent either: nothing was hashed).
	res, err = c.Upload(context.Background(), []string{filepath.Join(dir, "x.jpg")}, UploadOptions{SkipDuplicateCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if len(res.Rejected) != 1 || *res.Rejected[0].AssetID != old.ID.String() {
		t.Fatalf("skip check: %+v", res)
	}
}

func trash(t *testing.T, c *Client, ids ...uuid.UUID) {
	t.Helper()
	deleteAssets(t, c, false, ids)
}

// purge deletes assets for good (not to the trash).
func purge(t *testing.T, c *Client, ids ...uuid.UUID) {
	t.Helper()
	deleteAssets(t, c, true, ids)
}

func deleteAssets(t *testing.T, c *Client, force bool, ids []uuid.UUID) {
	t.Helper()
	r, err := c.DeleteAssetsWithResponse(context.Background(), api.AssetBulkDeleteDto{Ids: ids, Force: &force})
	if err == nil {
		err = CheckResponse("deleteAssets", r.HTTPResponse, r.Body)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestUploadTrashedDuplicates(t *testing.T) {
	s, c := newUploadEnv(t)
	old := s.AddAsset("old.jpg", []byte("binned"))
	trash(t, c, old.ID)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"x.jpg": "binned"})
	x := filepath.Join(dir, "x.jpg")

	// Default: reported distinctly, left in the trash, never deleted locally.
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{DeleteDuplicates: true, AlbumName: "A"})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	r := res.Rejected
	if len(r) != 1 || !r[0].Trashed || r[0].Restored || r[0].Deleted || *r[0].AssetID != old.ID.String() {
		t.Fatalf("rejected %+v", r)
	}
	if _, err := os.Stat(x); err != nil {
		t.Fatalf("local file of a trashed duplicate was deleted: %v", err)
	}
	if len(res.DeleteErrors) != 1 || !strings.Contains(res.DeleteErrors[0].Error, "trash") {
		t.Fatalf("delete errors %+v", res.DeleteErrors)
	}
	if a, _ := s.Asset(old.ID); !a.IsTrashed {
		t.Fatal("asset left the trash without RestoreTrashed")
	}
	if len(res.Albums) != 0 || len(s.Albums()) != 0 {
		t.Fatalf("a trashed asset was put in an album: %+v", res.Albums)
	}

	// RestoreTrashed: restored, confirmed, then deletable.
	res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{DeleteDuplicates: true, RestoreTrashed: true})
	if err != nil {
		t.Fatal(err)
	}
	r = res.Rejected
	if len(r) != 1 || r[0].Trashed || !r[0].Restored || !r[0].Deleted {
		t.Fatalf("rejected %+v", r)
	}
	if a, _ := s.Asset(old.ID); a.IsTrashed {
		t.Fatal("asset still in the trash")
	}
	if _, err := os.Stat(x); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("restored duplicate not deleted: %v", err)
	}
}

func TestUploadSidecars(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a", "a.jpg.xmp": "<x:a/>", "b.jpg": "b", "b.xmp": "<x:b/>", "c.jpg": "c", "lone.xmp": "<x/>"})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 3)
	want := map[string]string{"a.jpg": "<x:a/>", "b.jpg": "<x:b/>", "c.jpg": ""}
	for _, a := range s.Assets() {
		if w, ok := want[a.OriginalFileName]; !ok || string(a.Sidecar) != w {
			t.Fatalf("asset %s has sidecar %q, want %q", a.OriginalFileName, a.Sidecar, w)
		}
	}
	dir2 := t.TempDir()
	writeFiles(t, dir2, map[string]string{"d.jpg": "d", "d.xmp": "<x:d/>"})
	if _, err := c.Upload(context.Background(), []string{dir2}, UploadOptions{Sidecars: SidecarsOff}); err != nil {
		t.Fatal(err)
	}
	for _, a := range s.Assets() {
		if a.OriginalFileName == "d.jpg" && a.Sidecar != nil {
			t.Fatalf("SidecarsOff sent %q", a.Sidecar)
		}
	}
}

func TestUploadUnsupportedIgnoredHidden(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.jpg": "a", "notes.txt": "walked: skipped", ".hidden.jpg": "h", ".cache/b.jpg": "b",
		"raw/c.dng": "c", "x.tmp.jpg": "t", "keep/d.jpg": "d",
	})
	explicit := filepath.Join(dir, "notes.txt")
	res, err := c.Upload(context.Background(), []string{dir, explicit},
		UploadOptions{Ignore: []string{"raw/**", "*.tmp.jpg"}})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 3)
	var names []string
	for _, u := range res.Uploaded {
		names = append(names, filepath.Base(u.Filepath))
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"a.jpg", "d.jpg"}) {
		t.Fatalf("uploaded %q", names)
	}
	if len(res.Rejected) != 1 || res.Rejected[0].Filepath != explicit || res.Rejected[0].Reason != RejectUnsupportedFormat || res.Rejected[0].AssetID != nil {
		t.Fatalf("rejected %+v", res.Rejected)
	}
	res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{IncludeHidden: true, Ignore: []string{"raw/**", "*.tmp.jpg"}})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 4)
	if len(res.Uploaded) != 2 || len(s.Assets()) != 4 {
		t.Fatalf("hidden run: %+v, %d assets", res.Stats, len(s.Assets()))
	}
	if _, err := c.Upload(context.Background(), []string{dir}, UploadOptions{Ignore: []string{"[bad"}}); err == nil {
		t.Fatal("bad ignore pattern accepted")
	}
}

func albumIDs(s *immichtest.Server) map[string][]uuid.UUID {
	m := map[string][]uuid.UUID{}
	for _, a := range s.Albums() {
		if _, dup := m[a.Name]; dup {
			m[a.Name+" (again)"] = a.AssetIDs
			continue
		}
		m[a.Name] = a.AssetIDs
	}
	return m
}

func TestUploadAlbums(t *testing.T) {
	t.Run("named", func(t *testing.T) {
		s, c := newUploadEnv(t)
		old := s.AddAsset("old.jpg", []byte("known"))
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"a.jpg": "a", "b/b.jpg": "b", "k.jpg": "known"})
		res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{AlbumName: "Trip"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Albums) != 1 || !res.Albums[0].Created || res.Albums[0].Added != 3 || res.Albums[0].Error != "" {
			t.Fatalf("albums %+v", res.Albums)
		}
		al := albumIDs(s)
		if len(al) != 1 || len(al["Trip"]) != 3 || !slices.Contains(al["Trip"], old.ID) {
			t.Fatalf("server albums %v", al)
		}
		// Again: the album is found, not created twice; the server says the
		// assets are in it already.
		res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{AlbumName: "Trip"})
		if err != nil {
			t.Fatal(err)
		}
		if r := res.Albums[0]; r.Created || r.Added != 0 || r.AlreadyIn != 3 || r.ID != s.Albums()[0].ID.String() {
			t.Fatalf("second run album %+v", r)
		}
		if len(s.Albums()) != 1 {
			t.Fatalf("%d albums on the server", len(s.Albums()))
		}
	})
	t.Run("per folder", func(t *testing.T) {
		s, c := newUploadEnv(t)
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"x/1.jpg": "1", "x/2.jpg": "2", "y/3.jpg": "3"})
		res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{AlbumPerFolder: true})
		if err != nil {
			t.Fatal(err)
		}
		al := albumIDs(s)
		if len(al) != 2 || len(al["x"]) != 2 || len(al["y"]) != 1 || len(res.Albums) != 2 {
			t.Fatalf("server albums %v, result %+v", al, res.Albums)
		}
		ids := map[string]uuid.UUID{}
		for _, u := range res.Uploaded {
			ids[filepath.Base(u.Filepath)] = u.Asset.Id
		}
		if !slices.Contains(al["y"], ids["3.jpg"]) || !slices.Contains(al["x"], ids["1.jpg"]) {
			t.Fatalf("wrong album membership %v", al)
		}
	})
	t.Run("create fails", func(t *testing.T) {
		s, c := newUploadEnv(t, immichtest.WithFaults(immichtest.Faults{Operations: []string{"createAlbum"}, ErrorRate: 1}))
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"a.jpg": "a", "b.jpg": "b"})
		res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{AlbumName: "Broken"})
		if err != nil {
			t.Fatalf("an album failure must not fail the run: %v", err)
		}
		checkPartition(t, res, 2)
		if len(res.Uploaded) != 2 {
			t.Fatalf("uploads lost to an album failure: %+v", res)
		}
		r := res.Albums
		if len(r) != 1 || r[0].Error == "" || r[0].Added != 0 || r[0].Created || len(r[0].Failed) != 2 || r[0].ID != "" {
			t.Fatalf("album result %+v: must say it failed and added nothing", r)
		}
		if len(s.Albums()) != 0 {
			t.Fatal("the server has an album")
		}
		// Each failed create is followed by a look at the album list before
		// the next try, so a create whose answer was lost is never repeated.
		if n, l := s.RequestCount("createAlbum"), s.RequestCount("getAllAlbums"); n != uploadRetry().MaxAttempts || l != n {
			t.Fatalf("createAlbum sent %d times, albums listed %d times", n, l)
		}
	})
	t.Run("add fails", func(t *testing.T) {
		s, c := newUploadEnv(t, immichtest.WithFaults(immichtest.Faults{Operations: []string{"addAssetsToAlbum"}, ErrorRate: 1}))
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"a.jpg": "a"})
		res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{AlbumName: "Half"})
		if err != nil {
			t.Fatal(err)
		}
		r := res.Albums
		if len(r) != 1 || !r[0].Created || r[0].Added != 0 || len(r[0].Failed) != 1 || r[0].Failed[0].Filepath != filepath.Join(dir, "a.jpg") {
			t.Fatalf("album result %+v", r)
		}
		if al := albumIDs(s); len(al["Half"]) != 0 {
			t.Fatalf("server album %v", al)
		}
	})
}

func TestUploadDeleteOptions(t *testing.T) {
	s, c := newUploadEnv(t)
	s.AddAsset("old.jpg", []byte("known"))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"new.jpg": "new", "dup.jpg": "known", "side.jpg": "s", "side.jpg.xmp": "<x/>"})
	exists := func(n string) bool { _, err := os.Stat(filepath.Join(dir, n)); return err == nil }

	// DryRun never deletes.
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{DeleteUploaded: true, DeleteDuplicates: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !exists("new.jpg") || !exists("dup.jpg") || len(s.Assets()) != 1 || !res.DryRun {
		t.Fatal("dry run changed something")
	}

	// Failed uploads are never deleted.
	s.SetFaults(immichtest.Faults{Operations: []string{"uploadAsset"}, ErrorRate: 1})
	res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{DeleteUploaded: true})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 3)
	if len(res.Failed) != 2 || !exists("new.jpg") || !exists("side.jpg") {
		t.Fatalf("after failures: %+v", res)
	}
	s.SetFaults(immichtest.Faults{})

	// DeleteUploaded deletes only uploaded files; sidecars stay.
	res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{DeleteUploaded: true})
	if err != nil {
		t.Fatal(err)
	}
	if exists("new.jpg") || exists("side.jpg") || !exists("dup.jpg") || !exists("side.jpg.xmp") {
		t.Fatalf("DeleteUploaded: %+v", res)
	}
	for _, u := range res.Uploaded {
		if !u.Deleted {
			t.Fatalf("%s not marked deleted", u.Filepath)
		}
	}
	// DeleteDuplicates deletes the confirmed duplicate.
	res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{DeleteDuplicates: true})
	if err != nil {
		t.Fatal(err)
	}
	if exists("dup.jpg") || len(res.Rejected) != 1 || !res.Rejected[0].Deleted {
		t.Fatalf("DeleteDuplicates: %+v", res)
	}
}

func TestUploadDryRun(t *testing.T) {
	s, c := newUploadEnv(t)
	s.AddAsset("old.jpg", []byte("known"))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a", "k.jpg": "known", "twin.jpg": "a"})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{DryRun: true, AlbumName: "New"})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 3)
	if !res.DryRun || len(res.Uploaded) != 1 || res.Uploaded[0].Asset.Id != uuid.Nil || len(res.Rejected) != 2 {
		t.Fatalf("dry run result %+v", res)
	}
	if s.RequestCount("uploadAsset")+s.RequestCount("createAlbum")+s.RequestCount("addAssetsToAlbum") != 0 || len(s.Assets()) != 1 {
		t.Fatal("dry run changed the server")
	}
	if s.RequestCount("checkBulkUpload") == 0 || s.RequestCount("getSupportedMediaTypes") == 0 {
		t.Fatal("dry run did not ask the server")
	}
	if len(res.Albums) != 1 || !res.Albums[0].WouldCreate || res.Albums[0].WouldAdd != 3 {
		t.Fatalf("albums %+v", res.Albums)
	}
}

// cancelAfter is a Progress that cancels after n files are uploaded.
type cancelAfter struct {
	nopProgress
	n      atomic.Int32
	at     int32
	cancel context.CancelFunc
}

func (c *cancelAfter) Done(_ string, status Status, _ error) {
	if status == "uploaded" && c.n.Add(1) == c.at {
		c.cancel()
	}
}

func TestUploadCancelMidRun(t *testing.T) {
	s, c := newUploadEnv(t, immichtest.WithFaults(immichtest.Faults{Operations: []string{"uploadAsset"}, Latency: 20 * time.Millisecond}))
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 300 {
		files[fmt.Sprintf("f%03d.jpg", i)] = fmt.Sprint("content ", i)
	}
	writeFiles(t, dir, files)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &cancelAfter{at: 10, cancel: cancel}
	start := time.Now()
	res, err := c.Upload(ctx, []string{dir}, UploadOptions{Progress: p})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Upload took %v after cancel", d)
	}
	checkPartition(t, res, 300)
	if len(res.Uploaded) < 10 || len(res.Failed) == 0 || len(res.Uploaded) > 100 {
		t.Fatalf("partial result %+v", res.Stats)
	}
	for _, f := range res.Failed {
		if !errors.Is(f.Err, context.Canceled) {
			t.Fatalf("%s failed with %v, want context.Canceled", f.Filepath, f.Err)
		}
	}
	onServer := map[uuid.UUID]bool{}
	for _, a := range s.Assets() {
		onServer[a.ID] = true
	}
	for _, u := range res.Uploaded {
		if !onServer[u.Asset.Id] {
			t.Fatalf("%s reported uploaded but not on the server", u.Filepath)
		}
	}
}

// Immich 2.x requires deviceAssetId and deviceId; Upload learns the major
// release from GET /server/version and sends them. (The 2.3.1 and 2.4.1
// specs also mark "metadata" required, but the real servers of those
// releases accept uploads without it (@Optional in their DTO), and the fake
// server currently rejects them: see the report. 2.5.5 and 2.7.3 have the
// same device-field rules without that spec quirk.)
func TestUpload2xServer(t *testing.T) {
	specDir := os.Getenv("IMMICH_SPEC_DIR")
	if specDir == "" {
		t.Skip("IMMICH_SPEC_DIR not set (CI sets it)")
	}
	for _, version := range []string{"2.3.1", "2.4.1", "2.5.5", "2.7.3"} {
		t.Run(version, func(t *testing.T) {
			spec := filepath.Join(specDir, "immich-openapi-specs-"+version+".json")
			if _, err := os.Stat(spec); err != nil {
				t.Fatalf("IMMICH_SPEC_DIR is set but: %v", err)
			}
			s, c := newUploadEnv(t, immichtest.WithSpecFile(spec))
			s.AddAsset("old.jpg", []byte("known"))
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"My Photo.jpg": "a", "b.mp4": "bb", "k.jpg": "known", "My Photo.jpg.xmp": "<x/>"})
			res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{AlbumName: "Old server", DeleteDuplicates: true})
			if err != nil {
				t.Fatal(err)
			}
			checkPartition(t, res, 3)
			if len(res.Uploaded) != 2 || len(res.Rejected) != 1 || len(res.Failed) != 0 || !res.Rejected[0].Deleted {
				t.Fatalf("2.x result %+v", res)
			}
			for _, a := range s.Assets() {
				if a.OriginalFileName == "old.jpg" {
					continue
				}
				if a.DeviceID != "goimmich" || a.DeviceAssetID != strings.ReplaceAll(a.OriginalFileName, " ", "")+fmt.Sprintf("-%d", a.Size) {
					t.Fatalf("asset %s: deviceId %q deviceAssetId %q", a.OriginalFileName, a.DeviceID, a.DeviceAssetID)
				}
				if a.OriginalFileName == "My Photo.jpg" && string(a.Sidecar) != "<x/>" {
					t.Fatalf("sidecar %q", a.Sidecar)
				}
			}
			if al := albumIDs(s); len(al["Old server"]) != 3 {
				t.Fatalf("albums %v", al)
			}
		})
	}
}

// 1,000 small files through 5% 5xx answers and 2% cut connections, on
// every operation: every file ends on the server exactly once, nothing
// fails, every deleted local file is content the server holds, and the
// album holds them all, once.
func TestUploadUnderFaults(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			s, c := newUploadEnv(t, immichtest.WithFaults(immichtest.Faults{Seed: seed, ErrorRate: 0.05, CutRate: 0.02}))
			dir := t.TempDir()
			files := map[string]string{}
			for i := range 1000 {
				files[fmt.Sprintf("d%d/f%04d.jpg", i%10, i)] = fmt.Sprintf("seed %d file %d", seed, i)
			}
			writeFiles(t, dir, files)
			res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{Concurrency: 8, DeleteUploaded: true, AlbumName: "Faulty"})
			if err != nil {
				t.Fatal(err)
			}
			checkPartition(t, res, 1000)
			if len(res.Failed) != 0 {
				t.Fatalf("%d failed, first: %+v", len(res.Failed), res.Failed[0])
			}
			if al := s.Albums(); len(al) != 1 || len(al[0].AssetIDs) != 1000 || len(res.Albums) != 1 ||
				res.Albums[0].Added+res.Albums[0].AlreadyIn != 1000 || len(res.Albums[0].Failed) != 0 {
				t.Fatalf("album: server %d albums, result %+v", len(al), res.Albums)
			}
			byBlob := assetsByChecksum(s)
			if len(s.Assets()) != 1000 {
				t.Fatalf("server holds %d assets, want 1000", len(s.Assets()))
			}
			for rel, content := range files {
				if n := len(byBlob[string(sha(content))]); n != 1 {
					t.Fatalf("%s is on the server %d times", rel, n)
				}
			}
			for _, u := range res.Uploaded {
				content := files[filepath.ToSlash(strings.TrimPrefix(u.Filepath, dir+string(filepath.Separator)))]
				a := byBlob[string(sha(content))]
				if !u.Deleted || len(a) != 1 || a[0].ID != u.Asset.Id {
					t.Fatalf("%s: deleted=%v, server has %v for it", u.Filepath, u.Deleted, a)
				}
			}
			left, _ := filepath.Glob(filepath.Join(dir, "*", "*.jpg"))
			if len(left) != len(res.Rejected) {
				t.Fatalf("%d files left on disk, %d not uploaded by this run", len(left), len(res.Rejected))
			}
			if s.RequestCount("uploadAsset") <= 1000 {
				t.Logf("note: faults hit no upload (%d requests)", s.RequestCount("uploadAsset"))
			}
		})
	}
}

func TestUploadErrorsBeforeAnything(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a"})
	quick := WithRetry(RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})

	bad, _ := New(s.URL(), WithAPIKey("wrong-key-XYZ"), quick)
	defer bad.CloseIdleConnections()
	_, err := bad.Upload(context.Background(), []string{dir}, UploadOptions{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "API key") || strings.Contains(err.Error(), "wrong-key-XYZ") {
		t.Fatalf("wrong key: %v", err)
	}

	nokey, _ := New(s.URL(), quick)
	if _, err := nokey.Upload(context.Background(), []string{dir}, UploadOptions{}); err == nil || !strings.Contains(err.Error(), "WithAPIKey") {
		t.Fatalf("no key: %v", err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	dc, _ := New(downURL, WithAPIKey("k"), quick)
	defer dc.CloseIdleConnections()
	if _, err := dc.Upload(context.Background(), []string{dir}, UploadOptions{}); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("server down: %v", err)
	}

	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/api/server/ping" {
			fmt.Fprint(w, "<html>hello</html>")
			return
		}
		http.NotFound(w, r)
	}))
	defer other.Close()
	for _, u := range []string{other.URL, other.URL + "/elsewhere"} {
		oc, _ := New(u, WithAPIKey("k"), quick)
		_, err := oc.Upload(context.Background(), []string{dir}, UploadOptions{})
		oc.CloseIdleConnections()
		if err == nil || !strings.Contains(err.Error(), "does not answer like an Immich server") {
			t.Fatalf("not Immich (%s): %v", u, err)
		}
	}
	if s.RequestCount("uploadAsset") != 0 {
		t.Fatal("something was uploaded")
	}
	if _, err := c.Upload(context.Background(), nil, UploadOptions{}); err == nil {
		t.Fatal("no paths accepted")
	}
}

// The seed's schema (immichpy's UploadResult), keys and JSON types. Extra
// keys are allowed; these must be there with these types.
var uploadResultSchema = map[string]any{
	"uploaded": []any{map[string]any{
		"asset":    map[string]any{"id": "uuid", "status": "string"},
		"filepath": "string",
	}},
	"rejected": []any{map[string]any{
		"filepath": "string",
		"asset_id": "uuid|null",
		"reason":   "duplicate|unsupported_format",
	}},
	"failed": []any{map[string]any{"filepath": "string", "error": "string"}},
	"stats":  map[string]any{"total": "int", "uploaded": "int", "rejected": "int", "failed": "int"},
}

func validateJSON(t *testing.T, path string, schema, v any) {
	t.Helper()
	switch sc := schema.(type) {
	case map[string]any:
		obj, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: %T, want object", path, v)
		}
		for k, sub := range sc {
			got, ok := obj[k]
			if !ok {
				t.Fatalf("%s: key %q missing", path, k)
			}
			validateJSON(t, path+"."+k, sub, got)
		}
	case []any:
		arr, ok := v.([]any)
		if !ok {
			t.Fatalf("%s: %T, want array", path, v)
		}
		if len(arr) == 0 {
			t.Fatalf("%s: empty, the fixture run should fill it", path)
		}
		for i, it := range arr {
			validateJSON(t, fmt.Sprintf("%s[%d]", path, i), sc[0], it)
		}
	case string:
		ok := false
		for _, alt := range strings.Split(sc, "|") {
			switch alt {
			case "string":
				_, ok2 := v.(string)
				ok = ok || ok2
			case "uuid":
				s, ok2 := v.(string)
				ok = ok || (ok2 && uuid.Validate(s) == nil)
			case "null":
				ok = ok || v == nil
			case "int":
				f, ok2 := v.(float64)
				ok = ok || (ok2 && f == float64(int64(f)))
			default:
				ok = ok || v == alt
			}
		}
		if !ok {
			t.Fatalf("%s = %#v, want %s", path, v, sc)
		}
	}
}

func TestUploadResultJSONMatchesSeedSchema(t *testing.T) {
	s, c := newUploadEnv(t)
	s.AddAsset("old.jpg", []byte("known"))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a", "k.jpg": "known", "n.txt": "x"})
	res, err := c.Upload(context.Background(), []string{dir, filepath.Join(dir, "n.txt"), filepath.Join(dir, "gone.jpg")}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	validateJSON(t, "$", uploadResultSchema, v)
	var reasons []string
	for _, r := range v.(map[string]any)["rejected"].([]any) {
		reasons = append(reasons, r.(map[string]any)["reason"].(string))
	}
	slices.Sort(reasons)
	if !slices.Equal(reasons, []string{"duplicate", "unsupported_format"}) {
		t.Fatalf("reasons %q", reasons)
	}
	// Empty lists are [] (not null), as in the seed.
	empty, _ := json.Marshal(&UploadResult{Uploaded: []UploadedFile{}, Rejected: []RejectedFile{}, Failed: []FailedFile{}})
	if !strings.Contains(string(empty), `"uploaded":[]`) || !strings.Contains(string(empty), `"failed":[]`) {
		t.Fatalf("empty result %s", empty)
	}
	res2, _ := c.Upload(context.Background(), []string{t.TempDir()}, UploadOptions{})
	b2, _ := json.Marshal(res2)
	if !strings.Contains(string(b2), `"uploaded":[]`) || !strings.Contains(string(b2), `"rejected":[]`) {
		t.Fatalf("empty run %s", b2)
	}
}

// Progress sees every file finish exactly once.
type recordingProgress struct {
	mu    sync.Mutex
	done  map[string]int
	total int
	added int64
}

func (r *recordingProgress) Total(files int, _ int64) { r.mu.Lock(); r.total = files; r.mu.Unlock() }
func (r *recordingProgress) Start(string, int64)      {}
func (r *recordingProgress) Add(_ string, n int64)    { r.mu.Lock(); r.added += n; r.mu.Unlock() }
func (r *recordingProgress) Done(p string, _ Status, _ error) {
	r.mu.Lock()
	r.done[p]++
	r.mu.Unlock()
}

func TestUploadProgressObserver(t *testing.T) {
	s, c := newUploadEnv(t)
	s.AddAsset("old.jpg", []byte("known"))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "aaaa", "k.jpg": "known", "t.jpg": "aaaa"})
	rp := &recordingProgress{done: map[string]int{}}
	res, err := c.Upload(context.Background(), []string{dir, filepath.Join(dir, "x.txt"), filepath.Join(dir, "missing.jpg")}, UploadOptions{Progress: rp})
	if err != nil {
		t.Fatal(err)
	}
	if rp.total != res.Stats.Total || len(rp.done) != res.Stats.Total || rp.added != 4 {
		t.Fatalf("progress total %d, done %v, added %d; result %+v", rp.total, rp.done, rp.added, res.Stats)
	}
	for p, n := range rp.done {
		if n != 1 {
			t.Fatalf("%s done %d times", p, n)
		}
	}
}

// heapSampler records the peak HeapInuse while it runs, sampling every 5ms
// with runtime.ReadMemStats (the GC runs as usual: this is the live heap a
// user would see, not a forced minimum).
type heapSampler struct {
	base, peak uint64
	stop       chan struct{}
	done       chan struct{}
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapSampler{base: ms.HeapInuse, peak: ms.HeapInuse, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			h.peak = max(h.peak, ms.HeapInuse)
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// finish stops sampling and returns the peak HeapInuse and its growth over
// the start, in MB.
func (h *heapSampler) finish() (peakMB, growthMB float64) {
	close(h.stop)
	<-h.done
	return float64(h.peak) / 1e6, float64(h.peak-h.base) / 1e6
}

// heapLimitMB is the bound on heap in use while uploading.
const heapLimitMB = 32

// BenchmarkUpload1GiB uploads one 1 GiB file (a sparse file: reads cost no
// disk) to a fake server that streams it to its data dir. It reports the
// peak heap in use of the whole process (client and fake server) and its
// growth during the upload, and fails if the growth passes 32 MB; and, in
// the same run, the ratio of naiveUpload's time (hash, then one POST) to
// Upload's for the same file (speed-vs-naive-x, 1 means no overhead).
func BenchmarkUpload1GiB(b *testing.B) {
	const size = 1 << 30
	dir := b.TempDir()
	p := filepath.Join(dir, "big.mp4")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.SetBytes(size)
	var worstPeak, worstGrowth float64
	var ours, naive time.Duration
	// The first read of a fresh sparse file fills the page cache and is
	// several times slower than the next ones: read it once before timing.
	if _, _, err := hashFile(context.Background(), p, nil); err != nil {
		b.Fatal(err)
	}
	// Baseline in the same run: hash, then one streamed POST. The two run
	// in turn, first one then the other, so that neither always benefits
	// from the other's warm caches.
	runNaive := func(i int) {
		f, _ := os.OpenFile(p, os.O_WRONLY, 0)
		f.WriteAt([]byte{byte(i + 101)}, 0)
		f.Close()
		s2, c2 := newUploadEnv(b, immichtest.WithDataDir(b.TempDir()))
		t0 := time.Now()
		if err := naiveUpload(context.Background(), c2, []string{p}); err != nil {
			b.Fatal(err)
		}
		naive += time.Since(t0)
		c2.CloseIdleConnections()
		s2.Close()
	}
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if i%2 == 1 {
			runNaive(i)
		}
		// A different first byte per round: each round uploads new content.
		f, _ := os.OpenFile(p, os.O_WRONLY, 0)
		f.WriteAt([]byte{byte(i + 1)}, 0)
		f.Close()
		s, c := newUploadEnv(b, immichtest.WithDataDir(b.TempDir()))
		h := startHeapSampler()
		before := b.Elapsed()
		b.StartTimer()
		res, err := c.Upload(context.Background(), []string{p}, UploadOptions{})
		b.StopTimer()
		peak, growth := h.finish()
		if err != nil || len(res.Uploaded) != 1 || len(s.Assets()) != 1 || s.Assets()[0].Size != size {
			b.Fatalf("upload: %v %+v", err, res)
		}
		worstPeak, worstGrowth = max(worstPeak, peak), max(worstGrowth, growth)
		ours += b.Elapsed() - before
		c.CloseIdleConnections()
		s.Close()
		if i%2 == 0 {
			runNaive(i)
		}
		b.StartTimer()
	}
	b.ReportMetric(worstPeak, "peak-heap-MB")
	b.ReportMetric(worstGrowth, "heap-growth-MB")
	b.ReportMetric(naive.Seconds()/ours.Seconds(), "speed-vs-naive-x")
	if worstGrowth > heapLimitMB {
		b.Fatalf("heap grew by %.1f MB uploading 1 GiB, limit %d MB", worstGrowth, heapLimitMB)
	}
}

// fakeServerProcess runs immichtest's fakeserver command in a child
// process, so that a benchmark's heap figures are the client's alone.
type fakeServerProcess struct {
	cmd      *exec.Cmd
	url, key string
	out      *bufio.Reader
}

func startFakeServerProcess(b *testing.B, bin, dataDir string) *fakeServerProcess {
	b.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data-dir", dataDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	f := &fakeServerProcess{cmd: cmd, out: bufio.NewReader(stdout)}
	for f.url == "" || f.key == "" {
		line, err := f.out.ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			b.Fatalf("fakeserver: %v", err)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "URL="); ok {
			f.url = v
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "KEY="); ok {
			f.key = v
		}
	}
	return f
}

// stop ends the child and returns how many assets it held and its spec
// violations.
func (f *fakeServerProcess) stop(b *testing.B) (assets int, violations int) {
	b.Helper()
	f.cmd.Process.Signal(os.Interrupt)
	var sum struct {
		Assets             int   `json:"assets"`
		ValidationFailures []any `json:"validationFailures"`
	}
	err := json.NewDecoder(f.out).Decode(&sum)
	f.cmd.Wait()
	if err != nil {
		b.Fatalf("fakeserver summary: %v", err)
	}
	return sum.Assets, len(sum.ValidationFailures)
}

func buildFakeServer(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "fakeserver")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/goimmich/goimmich/immichtest/internal/cmd/fakeserver").CombinedOutput()
	if err != nil {
		b.Fatalf("building fakeserver: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkUpload10kFiles uploads 10,000 small files (1-4 KiB) and reports
// the peak heap in use and its growth. With server=process the fake server
// runs in a child process, so the figures are the client's alone, and the
// benchmark fails if the growth passes 32 MB. With server=in-process they
// include the fake server's heap (its 10,000 asset records, its spec
// validation garbage and the GC headroom its parsed spec adds), for
// comparison.
func BenchmarkUpload10kFiles(b *testing.B) {
	const n = 10000
	for _, mode := range []string{"process", "in-process"} {
		b.Run("server="+mode, func(b *testing.B) {
			var bin string
			if mode == "process" {
				bin = buildFakeServer(b)
			}
			var worstPeak, worstGrowth float64
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				dir := b.TempDir()
				var total int64
				for k := range n {
					sub := filepath.Join(dir, fmt.Sprintf("d%02d", k%50))
					if k < 50 {
						os.MkdirAll(sub, 0o755)
					}
					content := []byte(fmt.Sprintf("round %d file %d %s", i, k, strings.Repeat("x", 1024+k%3072)))
					total += int64(len(content))
					if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.jpg", k)), content, 0o644); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(total)
				var c *Client
				var fsp *fakeServerProcess
				var s *immichtest.Server
				if mode == "process" {
					fsp = startFakeServerProcess(b, bin, b.TempDir())
					var err error
					if c, err = New(fsp.url, WithAPIKey(fsp.key), WithRetry(uploadRetry())); err != nil {
						b.Fatal(err)
					}
				} else {
					s, c = newUploadEnv(b, immichtest.WithDataDir(b.TempDir()))
				}
				h := startHeapSampler()
				b.StartTimer()
				res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{Concurrency: 8})
				b.StopTimer()
				peak, growth := h.finish()
				c.CloseIdleConnections()
				if err != nil || len(res.Uploaded) != n {
					b.Fatalf("upload: %v %+v", err, res.Stats)
				}
				if fsp != nil {
					if assets, bad := fsp.stop(b); assets != n || bad != 0 {
						b.Fatalf("server holds %d assets, %d spec violations", assets, bad)
					}
				} else {
					if len(s.Assets()) != n {
						b.Fatalf("server holds %d assets", len(s.Assets()))
					}
					s.Close()
				}
				worstPeak, worstGrowth = max(worstPeak, peak), max(worstGrowth, growth)
				b.StartTimer()
			}
			b.ReportMetric(worstPeak, "peak-heap-MB")
			b.ReportMetric(worstGrowth, "heap-growth-MB")
			if mode == "process" && worstGrowth > heapLimitMB {
				b.Fatalf("client heap grew by %.1f MB uploading %d files, limit %d MB", worstGrowth, n, heapLimitMB)
			}
		})
	}
}

// A proxy that caps bodies answers 413: the file fails with an error that
// names the likely cause, is not retried, and the run goes on.
func TestUploadProxyLimit(t *testing.T) {
	s, c := newUploadEnv(t, immichtest.WithFaults(immichtest.Faults{MaxBodySize: 64 << 10}))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"small.jpg": "s", "big.mp4": strings.Repeat("v", 256<<10)})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{DeleteUploaded: true})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 2)
	if len(res.Failed) != 1 || filepath.Base(res.Failed[0].Filepath) != "big.mp4" {
		t.Fatalf("result %+v", res)
	}
	var ae *APIError
	if !errors.As(res.Failed[0].Err, &ae) || ae.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(res.Failed[0].Error, "proxy") {
		t.Fatalf("error %q should be a 413 naming a proxy limit", res.Failed[0].Error)
	}
	if _, err := os.Stat(filepath.Join(dir, "big.mp4")); err != nil {
		t.Fatal("the failed file was deleted")
	}
	if n := s.RequestCount("uploadAsset"); n != 2 {
		t.Fatalf("%d upload requests: a 413 must not be retried", n)
	}
}

// Uploads that stall on the server side are aborted by the stall (or
// answer) timer and retried; every file arrives once.
func TestUploadRecoversFromStalls(t *testing.T) {
	s := immichtest.NewServer(immichtest.WithFaults(immichtest.Faults{Seed: 7, Operations: []string{"uploadAsset"}, StallRate: 0.25, Stall: 3 * time.Second}))
	t.Cleanup(s.Close)
	p := uploadRetry()
	// Generous enough for a loaded CI machine under -race, far below Stall.
	p.StallTimeout, p.AnswerTimeout = 500*time.Millisecond, 500*time.Millisecond
	c, err := New(s.URL(), WithAPIKey(s.APIKey()), WithRetry(p))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 8 {
		files[fmt.Sprintf("f%02d.jpg", i)] = fmt.Sprintf("%d %s", i, strings.Repeat("z", 1<<20))
	}
	writeFiles(t, dir, files)
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 8)
	if len(res.Failed) != 0 || len(s.Assets()) != 8 {
		t.Fatalf("failed %+v, %d assets", res.Failed, len(s.Assets()))
	}
	if n := s.RequestCount("uploadAsset"); n <= 8 {
		t.Fatalf("%d upload requests: no stall was injected, the test proves nothing", n)
	}
}

// ShowProgress draws mpb bars (nothing on a non-terminal) and stops them
// before Upload returns (goleak checks).
func TestUploadShowProgress(t *testing.T) {
	_, c := newUploadEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a"})
	var out lockedBuffer
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{ShowProgress: true, ProgressOutput: &out})
	if err != nil || len(res.Uploaded) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
}

// On the wire, an upload has an exact Content-Length (no chunked encoding,
// which proxies often refuse) and the file's SHA-1 in x-immich-checksum.
func TestUploadWireFormat(t *testing.T) {
	type seen struct {
		length, read int64
		chunked      bool
		checksum     string
	}
	var mu sync.Mutex
	var uploads []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/server/ping":
			fmt.Fprint(w, `{"res":"pong"}`)
		case "/api/users/me":
			fmt.Fprint(w, `{"id":"5d1e4a4c-8a39-4a4b-9a8e-3b1a1c1d1e1f"}`)
		case "/api/server/media-types":
			w.WriteHeader(500) // the built-in list is used
		case "/api/server/version":
			fmt.Fprint(w, `{"major":3,"minor":0,"patch":3}`)
		case "/api/assets/bulk-upload-check":
			var in api.AssetBulkUploadCheckDto
			json.NewDecoder(r.Body).Decode(&in)
			out := api.AssetBulkUploadCheckResponseDto{Results: []api.AssetBulkUploadCheckResult{}}
			for _, a := range in.Assets {
				out.Results = append(out.Results, api.AssetBulkUploadCheckResult{Id: a.Id, Action: api.AssetUploadActionAccept})
			}
			json.NewEncoder(w).Encode(out)
		case "/api/assets":
			n, _ := io.Copy(io.Discard, r.Body)
			mu.Lock()
			uploads = append(uploads, seen{length: r.ContentLength, read: n, chunked: len(r.TransferEncoding) > 0, checksum: r.Header.Get("x-immich-checksum")})
			mu.Unlock()
			w.WriteHeader(201)
			fmt.Fprintf(w, `{"id":"%s","status":"created"}`, uuid.New())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, uploadRetry())
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": strings.Repeat("a", 100000), "a.jpg.xmp": "<x/>"})
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil || len(res.Uploaded) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if len(uploads) != 1 {
		t.Fatalf("%d uploads", len(uploads))
	}
	u := uploads[0]
	if u.chunked || u.length <= 100000 || u.length != u.read {
		t.Fatalf("Content-Length %d, body %d bytes, chunked %v", u.length, u.read, u.chunked)
	}
	if want := fmt.Sprintf("%x", sha(strings.Repeat("a", 100000))); u.checksum != want {
		t.Fatalf("x-immich-checksum %q, want %q", u.checksum, want)
	}
}

// naiveUpload is the baseline of BenchmarkUploadSpeedup: what a simple
// uploader does, one file after the other (hash, then one streamed
// multipart POST), with none of Upload's pipelining or concurrency.
func naiveUpload(ctx context.Context, c *Client, files []string) error {
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		sum, _, err := hashFile(ctx, p, nil)
		if err != nil {
			return err
		}
		sc := &scanner{}
		d := sc.folder("", "")
		sc.addFile(&d, p, fi, nil)
		d.done()
		fr := sc.res.files.at(0)
		fr.sum, fr.hashed, fr.accepted = sum, true, true
		r := &uploadRun{c: c, form: formFor(Version{Major: 3}, ""), prog: nopProgress{}, scan: sc.res}
		if _, err := r.send(ctx, 0, nil); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkUploadSpeedup uploads the same 500 small files with Upload
// (default options: 5 uploads at once) and with naiveUpload, each to a fresh
// fake server, in the same run, and reports the ratio of their times
// (speedup-x > 1 means Upload is faster). With latency=0 the in-process
// fake server is the bottleneck: it shares the client's CPU and serialises
// requests on one lock, so concurrency cannot pay off. latency=10ms adds
// 10 ms before each request is handled, as a real server behind a network
// does.
func BenchmarkUploadSpeedup(b *testing.B) {
	const n = 500
	dir := b.TempDir()
	var paths []string
	for k := range n {
		p := filepath.Join(dir, fmt.Sprintf("f%05d.jpg", k))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("file %d %s", k, strings.Repeat("y", 2048+k%2048))), 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	for _, latency := range []time.Duration{0, 10 * time.Millisecond} {
		b.Run(fmt.Sprint("latency=", latency), func(b *testing.B) {
			faults := immichtest.WithFaults(immichtest.Faults{Latency: latency})
			var naive, ours time.Duration
			for b.Loop() {
				b.StopTimer()
				s1, c1 := newUploadEnv(b, faults)
				t0 := time.Now()
				if err := naiveUpload(context.Background(), c1, paths); err != nil {
					b.Fatal(err)
				}
				naive += time.Since(t0)
				if len(s1.Assets()) != n {
					b.Fatalf("naive: %d assets", len(s1.Assets()))
				}
				s2, c2 := newUploadEnv(b, faults)
				b.StartTimer()
				t1 := time.Now()
				// A fresh hash cache: every round hashes, as naiveUpload does.
				res, err := c2.Upload(context.Background(), []string{dir}, UploadOptions{HashCache: HashCacheOptions{Path: filepath.Join(b.TempDir(), "hashes.db")}})
				ours += time.Since(t1)
				b.StopTimer()
				if err != nil || len(res.Uploaded) != n || len(s2.Assets()) != n {
					b.Fatalf("Upload: %v %+v", err, res.Stats)
				}
				c1.CloseIdleConnections()
				c2.CloseIdleConnections()
				s1.Close()
				s2.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)/ours.Seconds()*float64(b.N), "files/s")
			b.ReportMetric(float64(n)/naive.Seconds()*float64(b.N), "naive-files/s")
			b.ReportMetric(naive.Seconds()/ours.Seconds(), "speedup-x")
		})
	}
}

// A key limited to uploads (no user.read) still uploads; odd but legal
// file names arrive intact.
func TestUploadLimitedKeyAndOddNames(t *testing.T) {
	s, _ := newUploadEnv(t)
	key := s.NewAPIKey("uploads only", "asset.upload")
	c, err := New(s.URL(), WithAPIKey(key), WithRetry(uploadRetry()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	dir := t.TempDir()
	names := []string{"Été 2024 (1).jpg", "日本 旅行.png", "it's #1 & 100%.jpg"}
	files := map[string]string{}
	for i, n := range names {
		files[n] = fmt.Sprint("photo ", i)
	}
	writeFiles(t, dir, files)
	res, err := c.Upload(context.Background(), []string{dir}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 3)
	if len(res.Uploaded) != 3 {
		t.Fatalf("%+v", res)
	}
	var got []string
	for _, a := range s.Assets() {
		got = append(got, a.OriginalFileName)
	}
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Fatalf("server names %q, want %q", got, names)
	}
}

// A create whose answer is lost (the server made the album, then the
// connection broke) is not repeated: the album list shows it, and it is
// used.
func TestCreateAlbumLostAnswer(t *testing.T) {
	const id = "0b3f5c2e-1d4a-4f6b-8c9d-0e1f2a3b4c5d"
	var mu sync.Mutex
	var posts int
	made := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/albums":
			posts++
			made = true
			cut(w) // created, but the answer never arrives
		case r.Method == http.MethodGet && r.URL.Path == "/api/albums":
			if made {
				fmt.Fprintf(w, `[{"id":%q,"albumName":"Trip","ownerId":"me"}]`, id)
				return
			}
			fmt.Fprint(w, `[]`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, uploadRetry())
	got, err := c.createAlbum(context.Background(), "Trip", "me")
	if err != nil || got != id {
		t.Fatalf("createAlbum = %q, %v; want %s", got, err, id)
	}
	if posts != 1 {
		t.Fatalf("%d POST /albums, want 1", posts)
	}
}

// With a hash cache, a re-run takes the checksums of unchanged files from
// the cache, hashes changed ones, and still gets every answer right; a
// cache that cannot be opened only costs the speed-up.
func TestUploadHashCache(t *testing.T) {
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.jpg": "a", "b.jpg": "b", "c.jpg": "c"})
	old := time.Now().Add(-time.Hour) // outside the cache's racy window
	for _, n := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		os.Chtimes(filepath.Join(dir, n), old, old)
	}
	cachePath := filepath.Join(t.TempDir(), "cache", "hashes.db")
	opts := UploadOptions{HashCache: HashCacheOptions{Path: cachePath}}

	res, err := c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || len(res.Uploaded) != 3 || res.Stats.HashCacheHits != 0 {
		t.Fatalf("first run: %v %+v", err, res.Stats)
	}
	if fi, err := os.Stat(cachePath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", fi, err)
	}
	res, err = c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || len(res.Rejected) != 3 || res.Stats.HashCacheHits != 3 {
		t.Fatalf("second run: %v %+v", err, res.Stats)
	}
	// A changed file is hashed again and uploaded.
	os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("b, edited"), 0o644)
	os.Chtimes(filepath.Join(dir, "b.jpg"), old, old)
	res, err = c.Upload(context.Background(), []string{dir}, opts)
	if err != nil || len(res.Uploaded) != 1 || filepath.Base(res.Uploaded[0].Filepath) != "b.jpg" || res.Stats.HashCacheHits != 2 {
		t.Fatalf("after an edit: %v %+v", err, res)
	}
	if len(s.Assets()) != 4 {
		t.Fatalf("%d assets", len(s.Assets()))
	}
	// A cache path that cannot be a file: the run goes on without it.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{HashCache: HashCacheOptions{Path: filepath.Join(blocker, "hashes.db")}})
	if err != nil || len(res.Rejected) != 3 || res.Stats.HashCacheHits != 0 {
		t.Fatalf("unusable cache: %v %+v", err, res.Stats)
	}
}
