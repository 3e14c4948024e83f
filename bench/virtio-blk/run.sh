#!/bin/sh
# virtio-blk device path vs raw pread/pwrite (see bench_blk.c). Builds the
# benchmark against BUILD's libmerak.a; the last line is
# "<merak req/s> <raw req/s> <ratio>".
# usage: bench/virtio-blk/run.sh [BUILD_DIR]
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIB="$ROOT/$BUILD/libmerak.a"
[ -f "$LIB" ] || { echo "no $LIB; build first (ninja -C $BUILD)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$ROOT/src" -I"$ROOT/tests/unit/virtio" \
	"$ROOT/bench/virtio-blk/bench_blk.c" "$LIB" -o "$TMP/bench_blk" \
	$(pkg-config --libs libcrypto json-c) $(pkg-config --libs libseccomp 2>/dev/null || true) -lpthread
"$TMP/bench_blk" "$TMP/disk.img"
