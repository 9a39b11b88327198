#!/usr/bin/env bash
# Go stubs and the quickstart client, from protos/ and the Go module proxy only.
#
#   clients/go/generate.sh [BIN_DIR]   build the plugins (cached), buf generate into
#                                      clients/go/gen/, go build ./... and the quickstart
#                                      binary into BIN_DIR (default clients/go/bin)
#
# Go modules, the plugins and the Go build cache live under $CINEMA_BACKENDS_CACHE
# (default ~/.cache/cinema-backends, as scripts/backends.sh has it): the first run downloads
# and compiles grpc-go (a minute or two on two cores), later runs take seconds.
# buf is the project's own (the buf-bin wheel in .venv; `buf` on PATH otherwise).
set -Eeuo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12      # google.golang.org/protobuf/cmd/protoc-gen-go; = the runtime in go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2   # google.golang.org/grpc/cmd/protoc-gen-go-grpc

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN_DIR=$(mkdir -p "${1:-$HERE/bin}" && cd "${1:-$HERE/bin}" && pwd)
CACHE=${CINEMA_BACKENDS_CACHE:-${HOME:-/root}/.cache/cinema-backends}
[[ -d /usr/local/go/bin ]] && PATH=$PATH:/usr/local/go/bin

log() { printf '[clients/go] %s\n' "$*" >&2; }
die() {
    printf '[clients/go] ERROR: %s\n' "$*" >&2
    exit 1
}

command -v go >/dev/null || die "go not found (install Go 1.24 or newer; /usr/local/go/bin is searched too)"
PYTHON=$REPO/.venv/bin/python
[[ -x $PYTHON ]] || PYTHON=$(command -v python3) || die "no Python for scripts/protos.py deps"
BUF=$REPO/.venv/bin/buf
[[ -x $BUF ]] || BUF=$(command -v buf) || die "buf not found: install the buf-bin dev dependency (make venv)"

# Module cache and GOPATH shared with the FerretDB build in scripts/backends.sh; a build cache
# of our own, since that script deletes $CACHE/go/build after its build.
export GOPATH=$CACHE/go/path GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build-clients
export GOFLAGS=-modcacherw GOTOOLCHAIN=local
unset GOBIN

# install_plugin PACKAGE VERSION: the plugin's directory, built once per version.
install_plugin() {
    local package=$1 version=$2 name dir
    name=$(basename "$package")
    dir=$CACHE/go/plugins/$name@$version
    if [[ ! -x $dir/$name ]]; then
        log "building $name $version from the Go module proxy"
        mkdir -p "$dir"
        GOBIN=$dir go install "$package@$version"
    fi
    echo "$dir"
}

plugins=$(install_plugin google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION")
plugins=$plugins:$(install_plugin google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION")

cd "$REPO"
"$PYTHON" scripts/protos.py deps # third_party/googleapis, which buf.yaml's workspace names
log "buf generate ($("$BUF" --version)) into clients/go/gen"
PATH=$plugins:$PATH "$BUF" generate --template clients/go/buf.gen.yaml

cd "$HERE"
log "go build ($(go env GOVERSION))"
go build ./...
go build -o "$BIN_DIR/quickstart" ./cmd/quickstart
log "built $BIN_DIR/quickstart"
