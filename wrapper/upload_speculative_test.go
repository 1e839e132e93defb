package wrapper

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goimmich/goimmich/immichtest"
)

// bigFiles lowers speculateMin for one test, so that files of a few
// hundred kilobytes count as big.
func bigFiles(t *testing.T) {
	old := speculateMin
	speculateMin = 64 << 10
	t.Cleanup(func() { speculateMin = old })
}

// writeBig writes size bytes that differ with seed and returns the path.
func writeBig(t *testing.T, dir, name string, size int, seed byte) (string, []byte) {
	t.Helper()
	b := bytes.Repeat([]byte{seed, seed + 1, seed + 2, 7}, size/4)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// A big file goes up without waiting for its checksum's bulk-upload-check:
// with a check that never answers, the upload still ends, created, with
// the file's bytes; the checksum hashed meanwhile goes to the cache, so a
// re-run reads nothing and uploads nothing.
func TestSpeculativeUploadDoesNotWaitForTheCheck(t *testing.T) {
	bigFiles(t)
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	p, content := writeBig(t, dir, "VID.mp4", 512<<10, 1)
	old := time.Now().Add(-time.Hour) // outside the cache's racy window
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	cachePath := filepath.Join(t.TempDir(), "hashes.db")
	s.SetFaults(immichtest.Faults{Operations: []string{"checkBulkUpload"}, Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Upload(ctx, []string{dir}, UploadOptions{HashCache: HashCacheOptions{Path: cachePath}})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if len(res.Uploaded) != 1 {
		t.Fatalf("with bulk-upload-check stuck: %+v %+v", res.Stats, res.Failed)
	}
	got, err := s.AssetContent(res.Uploaded[0].Asset.Id)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the server holds other bytes (%v)", err)
	}

	id := res.Uploaded[0].Asset.Id.String()
	s.SetFaults(immichtest.Faults{})
	uploads := s.RequestCount("uploadAsset")
	res, err = c.Upload(context.Background(), []string{dir}, UploadOptions{HashCache: HashCacheOptions{Path: cachePath}})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if res.Stats.HashCacheHits != 1 || len(res.Rejected) != 1 || *res.Rejected[0].AssetID != id {
		t.Fatalf("re-run: %+v %+v", res.Stats, res.Rejected)
	}
	if n := s.RequestCount("uploadAsset") - uploads; n != 0 {
		t.Fatalf("the re-run uploaded %d times; the cache should have had the checksum", n)
	}
}

// A big file the server already has is found by the check made while it
// goes up: the upload is stopped (here the server would take an hour to
// read it), nothing new is created, and the file is reported as the
// server's duplicate.
func TestSpeculativeUploadStoppedByDuplicate(t *testing.T) {
	bigFiles(t)
	s, c := newUploadEnv(t)
	dir := t.TempDir()
	_, content := writeBig(t, dir, "VID.mp4", 512<<10, 2)
	known := s.AddAsset("known.mp4", content)
	s.SetFaults(immichtest.Faults{Operations: []string{"uploadAsset"}, StallRate: 1, Stall: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Upload(ctx, []string{dir}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, res, 1)
	if len(res.Rejected) != 1 || res.Rejected[0].Reason != RejectDuplicate || *res.Rejected[0].AssetID != known.ID.String() {
		t.Fatalf("result %+v, failed %+v; want a duplicate of %s", res.Rejected, res.Failed, known.ID)
	}
	if s.RequestCount("uploadAsset") != 1 || len(s.Assets()) != 1 {
		t.Fatalf("%d uploads started, %d assets; want the one upload stopped and no new asset", s.RequestCount("uploadAsset"), len(s.Assets()))
	}
	if n := s.BytesReceived(); n >= int64(len(content)) {
		t.Fatalf("the server read %d bytes, the whole file", n)
	}
}

// Runs that need the check's answer before an upload (dry run, deletes,
// SkipServerDeleted) hash a big file first: the server's copy is found and
// nothing is uploaded.
func TestSpeculativeUploadOffWhenTheCheckMustComeFirst(t *testing.T) {
	bigFiles(t)
	for name, o := range map[string]UploadOptions{
		"dry run":             {DryRun: true},
		"delete uploaded":     {DeleteUploaded: true},
		"delete duplicates":   {DeleteDuplicates: true},
		"skip server deleted": {SkipServerDeleted: true, HashCache: HashCacheOptions{Path: filepath.Join(t.TempDir(), "h.db")}},
	} {
		t.Run(name, func(t *testing.T) {
			s, c := newUploadEnv(t)
			dir := t.TempDir()
			p, content := writeBig(t, dir, "VID.mp4", 512<<10, 3)
			known := s.AddAsset("known.mp4", content)
			res, err := c.Upload(context.Background(), []string{dir}, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rejected) != 1 || *res.Rejected[0].AssetID != known.ID.String() || s.RequestCount("uploadAsset") != 0 {
				t.Fatalf("result %+v, %d uploads; want a duplicate found before any upload", res.Rejected, s.RequestCount("uploadAsset"))
			}
			if _, err := os.Stat(p); (err == nil) == o.DeleteDuplicates {
				t.Fatalf("stat of the file after the run: %v (DeleteDuplicates %v)", err, o.DeleteDuplicates)
			}
		})
	}
}
