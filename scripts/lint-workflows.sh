#!/usr/bin/env bash
# lint-workflows.sh: runs actionlint, pinned, over .github/workflows.
#
# actionlint is run with "go run pkg@version" rather than as a go.mod tool:
# it needs a pre-release of go.yaml.in/yaml/v4 that conflicts with the
# release oasdiff needs, and go run gives it its own module graph.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 "$@"
