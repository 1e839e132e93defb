//go:build unix

package wrapper

import (
	"io"
	"io/fs"
	"syscall"
)

// openRead opens path for reading. Upload reads every file twice (hashing,
// sending), and for a small photo the cost of os.Open dominated: offering
// the file to the runtime's poller (non-blocking on, a failing epoll
// registration, non-blocking off), the flag probe of os.NewFile and a
// cleanup registered per file. A regular file is never pollable, so this
// reads it with plain system calls: open, read, close.
func openRead(path string) (io.ReadCloser, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return &fdReader{fd: fd, path: path}, nil
	}
}

// fdReader reads a file descriptor it owns.
type fdReader struct {
	fd   int
	path string
}

func (f *fdReader) Read(p []byte) (int, error) {
	if f.fd < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: fs.ErrClosed}
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, &fs.PathError{Op: "read", Path: f.path, Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdReader) Close() error {
	if f.fd < 0 {
		return &fs.PathError{Op: "close", Path: f.path, Err: fs.ErrClosed}
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	if err != nil && err != syscall.EINTR {
		return &fs.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}
