//go:build linux

package wrapper

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing bytes [off, off+n) of f
// to disk now (sync_file_range SYNC_FILE_RANGE_WRITE), so that the final
// fsync of a large download waits for the last chunk only, not for the
// whole file. It is advice: errors are ignored (the fsync still decides).
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
