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
	k.Dev = uint64(st.Dev)
	k.Ino = uint64(st.Ino)
	k.ChangeTime = st.Ctimespec.Nano()
}
