//go:build !windows

package wrapper

import (
	"errors"
	"syscall"
)

// ConnectionRefused reports whether err is a connection refused by the
// host (nothing listens at the URL's port), on every system.
func ConnectionRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
