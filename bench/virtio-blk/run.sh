#!/bin/sh
# virtio-blk device path vs raw pread/pwrite (see bench_blk.c), built against
# BUILD's libmerak.a; the last line is "<merak req/s> <raw req/s> <ratio>".
# usage: bench/virtio-blk/run.sh [BUILD_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
exec sh "$HERE/../device-bench.sh" "${1:-build}" "$HERE/bench_blk.c" @TMP
