// Command goimmich is a single-binary client for Immich: upload, download,
// every API operation, and a fake server to try it. See "goimmich --help".
package main

import (
	"os"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/root"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(root.Main(cmdutil.New(version), os.Args[1:]))
}
