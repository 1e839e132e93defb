#!/usr/bin/env bash
# goreleaser.sh: runs goreleaser, pinned, with the given arguments (the
# release workflow: "release --clean"; scripts/release-snapshot.sh).
#
# It is run with "go run pkg@version" rather than as a go.mod tool: its
# module graph (cloud SDKs, container registries, signing) would otherwise
# become ours. v2.17.0 is the newest release that builds with Go 1.26 (it
# needs 1.26.4 or later; later releases need Go 1.27).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go run github.com/goreleaser/goreleaser/v2@v2.17.0 "$@"
