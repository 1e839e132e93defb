//go:build linux

package hashcache

import (
	"os"
	"syscall"
)

func fillSys(k *FileKey, fi os.FileInfo) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	k.Dev = uint64(st.Dev) // uint32 on some linux arches
	k.Ino = st.Ino
	k.ChangeTime = st.Ctim.Nano()
}
