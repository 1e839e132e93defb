//go:build !unix

package wrapper

import "os"

// openRead is os.Open.
func openRead(path string) (*os.File, error) { return os.Open(path) }
