#!/bin/sh
# A vsock round trip through the device path vs a unix-socket round trip
# between two threads (see bench_vsock.c), built against BUILD's libmerak.a;
# the last line is "<merak median us> <raw median us> <ratio>".
# usage: bench/vsock/run.sh [BUILD_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
exec sh "$HERE/../device-bench.sh" "${1:-build}" "$HERE/bench_vsock.c"
