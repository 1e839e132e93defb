//go:build windows

package wrapper

import (
	"errors"
	"syscall"
)

// wsaeconnrefused is Windows' "connection refused" (WSAECONNREFUSED), which
// syscall.ECONNREFUSED does not match there.
const wsaeconnrefused = syscall.Errno(10061)

// connRefused reports a connection refused by the host.
func connRefused(err error) bool {
	return errors.Is(err, wsaeconnrefused) || errors.Is(err, syscall.ECONNREFUSED)
}
