//go:build linux

package hashcache

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// releaseMapped drops the pages of db's memory map that tx sees from the
// process's resident set (madvise MADV_DONTNEED). The map is a read-only
// shared map of the file: the pages stay in the page cache, and a later
// read maps them again. tx must be open, so the map cannot move.
func releaseMapped(db *bolt.DB, tx *bolt.Tx) {
	if size := tx.Size(); size > 0 {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, db.Info().Data, uintptr(size), syscall.MADV_DONTNEED)
	}
}
