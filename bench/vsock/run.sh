#!/bin/sh
# A vsock round trip through the device path vs a unix-socket round trip
# between two threads (see bench_vsock.c). Builds the
# benchmark against BUILD's libmerak.a; the last line is
# "<merak median us> <raw median us> <ratio>".
# usage: bench/vsock/run.sh [BUILD_DIR]
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIB="$ROOT/$BUILD/libmerak.a"
[ -f "$LIB" ] || { echo "no $LIB; build first (ninja -C $BUILD)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$ROOT/src" -I"$ROOT/tests/unit/virtio" \
	"$ROOT/bench/vsock/bench_vsock.c" "$LIB" -o "$TMP/bench_vsock" \
	$(pkg-config --libs libcrypto json-c) $(pkg-config --libs libseccomp 2>/dev/null || true) -lpthread
"$TMP/bench_vsock"
