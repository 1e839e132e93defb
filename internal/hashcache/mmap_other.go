//go:build !linux

package hashcache

import bolt "go.etcd.io/bbolt"

// releaseMapped does nothing here: the pages of the memory map that were
// read stay resident until the cache is closed (the system may still
// reclaim them under pressure).
func releaseMapped(*bolt.DB, *bolt.Tx) {}
