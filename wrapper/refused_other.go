//go:build !windows

package wrapper

import (
	"errors"
	"syscall"
)

// connRefused reports a connection refused by the host.
func connRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
