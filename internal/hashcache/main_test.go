package hashcache

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// childEnv, when set, turns the test binary into a child process used by the
// two-process tests (see runChild in process_test.go).
const childEnv = "HASHCACHE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m)
}
