package upload_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/root"
)

// runMainEnv, set in a test's child process, makes the test binary run
// goimmich with its arguments instead of the tests (to send it signals).
const runMainEnv = "GOIMMICH_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(root.Main(cmdutil.New("test"), os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}
