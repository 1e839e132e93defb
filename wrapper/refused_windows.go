//go:build windows

package wrapper

import (
	"errors"
	"syscall"
)

// wsaeconnrefused is Windows' "connection refused" (WSAECONNREFUSED), which
// syscall.ECONNREFUSED does not match there.
const wsaeconnrefused = syscall.Errno(10061)

// ConnectionRefused reports whether err is a connection refused by the
// host (nothing listens at the URL's port), on every system.
func ConnectionRefused(err error) bool {
	return errors.Is(err, wsaeconnrefused) || errors.Is(err, syscall.ECONNREFUSED)
}
