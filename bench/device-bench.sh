#!/bin/sh
# Builds one device-model benchmark (a C file driving merak's devices through
# a synthetic board, tests/unit/virtio/vtest.h) against BUILD's libmerak.a
# and runs it with ARGS; a path argument of "@TMP" names a file in a
# scratch directory removed afterwards.
#   device-bench.sh BUILD_DIR SOURCE.c [ARGS...]
set -eu
BUILD=$1
SRC=$2
shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB="$ROOT/$BUILD/libmerak.a"
[ -f "$LIB" ] || { echo "no $LIB; build first (ninja -C $BUILD)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$ROOT/src" -I"$ROOT/tests/unit/virtio" \
	"$SRC" "$LIB" -o "$TMP/bench" \
	$(pkg-config --libs libcrypto json-c) $(pkg-config --libs liburing 2>/dev/null || true) \
	-ldl -lpthread
args=""
for a in "$@"; do
	[ "$a" = @TMP ] && a=$TMP/scratch
	args="$args $a"
done
# shellcheck disable=SC2086
"$TMP/bench" $args
