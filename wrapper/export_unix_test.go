//go:build linux || darwin || freebsd

package wrapper

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// withFileSizeLimit runs f with the process unable to grow any file beyond
// limit bytes (RLIMIT_FSIZE): a write past it fails with EFBIG, as a write
// to a full disk fails with ENOSPC, without needing a small file system.
func withFileSizeLimit(t *testing.T, limit uint64, f func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skipf("no RLIMIT_FSIZE: %v", err)
	}
	signal.Ignore(syscall.SIGXFSZ) // else the kernel's signal ends the process
	defer signal.Reset(syscall.SIGXFSZ)
	lim := old
	lim.Cur = limit
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("cannot lower RLIMIT_FSIZE: %v", err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
	}()
	f()
}

func TestExportDiskFullLosesNothing(t *testing.T) {
	s, c := newFake(t)
	dir := t.TempDir()
	addAssets(s, "small", 3)
	big := s.AddAsset("big.jpg", bytes.Repeat([]byte{0xff}, 512<<10))

	var res *ExportResult
	var err error
	withFileSizeLimit(t, 256<<10, func() {
		res, err = c.Export(context.Background(), dir, ExportOptions{Concurrency: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Downloaded != 3 || len(res.Failed) != 1 || res.Failed[0].AssetID != big.ID.String() {
		t.Fatalf("with the disk full for the big file: %+v, want the 3 small ones and one failure", res)
	}
	if msg := res.Failed[0].Error; !strings.Contains(msg, syscall.EFBIG.Error()) || !strings.Contains(msg, "big.jpg") {
		t.Fatalf("failure %q does not name the file and the write error", msg)
	}
	if staging, _ := os.ReadDir(filepath.Join(dir, exportMetaDir, "staging")); len(staging) != 0 {
		t.Fatalf("a partial file is left in staging: %v", staging)
	}
	for p := range exportFiles(t, dir) {
		if filepath.Base(p) == "big.jpg" {
			t.Fatalf("%s exists after a failed write", p)
		}
	}
	root, _ := os.OpenRoot(dir)
	st, lerr := loadExportState(root, dir)
	root.Close()
	if lerr != nil || len(st.Assets) != 3 || st.Assets[big.ID.String()] != nil {
		t.Fatalf("state after the failure: %v, %+v; want the 3 small assets only", lerr, st)
	}

	// With room again, the next run completes, fetching only the big one.
	var again *ExportResult
	reqs := requestsDuring(s, func() { again = mustExport(t, c, dir, ExportOptions{}) })
	if again.Downloaded != 1 || again.Unchanged != 3 || reqs["downloadAsset"] != 1 {
		t.Fatalf("next run: %+v, %v", again, reqs)
	}
	content, _ := s.AssetContent(big.ID)
	if got := exportFiles(t, dir)[datePath(big)+"/big.jpg"]; !bytes.Equal(got, content) {
		t.Fatal("big.jpg does not hold the asset's bytes")
	}
}

func TestExportReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only folders; this test needs an ordinary user")
	}
	s, c := newFake(t)
	addAssets(s, "IMG", 1)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	_, err := c.Export(context.Background(), dir, ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "not writable") || !errors.Is(err, os.ErrPermission) {
		t.Fatalf("read-only folder: %v, want a 'not writable' error matching os.ErrPermission", err)
	}
}
