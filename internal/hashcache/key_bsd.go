//go:build darwin || freebsd || netbsd

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
	k.ID = StatID(st.Ctimespec.Nano(), uint64(st.Dev), uint64(st.Ino)) // Dev is uint32 on some arches
}
