#!/bin/sh
# virtio-blk device path vs raw pread/pwrite (see bench_blk.c) at queue depth 1
# and 32, each backend, the device on its worker (polling or not) and inline,
# built against BUILD's libmerak.a; the last line is the default backend's on
# its polling worker: "QD1 <dev> <raw> <ratio> QD32 <dev> <raw> <ratio>" (req/s).
# usage: bench/virtio-blk/run.sh [BUILD_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
exec sh "$HERE/../device-bench.sh" "${1:-build}" "$HERE/bench_blk.c" @TMP
