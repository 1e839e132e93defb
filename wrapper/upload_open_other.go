//go:build !unix

package wrapper

import (
	"io"
	"os"
)

// openRead is os.Open.
func openRead(path string) (io.ReadCloser, error) { return os.Open(path) }
