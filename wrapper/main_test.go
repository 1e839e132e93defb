package wrapper

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain points the user cache folder (where DefaultHashCachePath puts
// the hash cache) at a temporary folder, so no test or example writes into the
// developer's real cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goimmich-wrapper-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", dir) // Linux and other Unix systems
	os.Setenv("HOME", dir)           // macOS: $HOME/Library/Caches
	os.Setenv("LocalAppData", dir)   // Windows
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}
