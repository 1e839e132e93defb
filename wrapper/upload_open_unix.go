//go:build unix

package wrapper

import (
	"io/fs"
	"os"
	"syscall"
)

// openRead opens path for reading as os.Open does, without offering the
// file to the runtime's poller: a regular file is never pollable, and
// os.Open's attempt costs four system calls per file (non-blocking on, a
// failing epoll registration, non-blocking off), as many as the hashing
// of a small file itself.
func openRead(path string) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}
