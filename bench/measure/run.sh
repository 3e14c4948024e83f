#!/bin/sh
# Time of `merak measure` (MRTD of a 4 MiB TDVF image) against one
# `openssl dgst -sha384` pass over the same file; prints the median of RUNS
# runs of each and their ratio. The 4 MiB image is built from Debian's 2 MiB
# OVMF.fd: its last 2 MiB (with the TDX metadata) are kept, pseudo-random
# bytes fill the first 2 MiB, and the BFV is widened to cover everything but
# the CFV, as in a 4 MiB OVMF build. MRTD hashes about 1.5x the BFV bytes
# (a 128-byte header per 256-byte chunk, plus a 128-byte block per page), so
# ~1.45 is the floor for the ratio unless process start-up dominates.
#
# usage: bench/measure/run.sh [BUILD_DIR] [RUNS]
set -eu
BUILD=${1:-build}
RUNS=${2:-11}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MERAK="$ROOT/$BUILD/merak"
OVMF=${OVMF:-/usr/share/ovmf/OVMF.fd}
[ -x "$MERAK" ] || { echo "no $MERAK; build first (ninja -C $BUILD)" >&2; exit 1; }
[ -f "$OVMF" ] || { echo "no $OVMF (Debian package ovmf)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FW="$TMP/fw4m.fd"

python3 - "$OVMF" "$FW" <<'PY'
import random, struct, sys
src = open(sys.argv[1], 'rb').read()
assert len(src) == 2 << 20
img = bytearray(random.Random(1).randbytes(2 << 20)) + bytearray(src)
size = len(img)
# Descriptor: Debian's offset-from-end pointer still holds; patch the sections.
end_off = None
guid = bytes.fromhex('35657ae44a989847865e4685a7bf8ec2')
i = img.rfind(guid, size - 0x1000)
end_off = struct.unpack_from('<I', img, i - 6)[0]
d = size - end_off
n = struct.unpack_from('<I', img, d + 12)[0]
for k in range(n):
    o = d + 16 + 32 * k
    off, raw, gpa, msz, typ, attr = struct.unpack_from('<IIQQII', img, o)
    if typ == 0:    # BFV: everything after the CFV
        struct.pack_into('<IIQQ', img, o, 0x20000, size - 0x20000, (1 << 32) - size + 0x20000, size - 0x20000)
    elif typ == 1:  # CFV: the first 128 KiB
        struct.pack_into('<IIQQ', img, o, 0, 0x20000, (1 << 32) - size, 0x20000)
open(sys.argv[2], 'wb').write(img)
PY

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_cmd() {
	i=0
	while [ $i -lt "$RUNS" ]; do
		t0=$(now)
		"$@" >/dev/null
		t1=$(now)
		echo $(( (t1 - t0) / 1000 ))
		i=$((i + 1))
	done | median
}

"$MERAK" measure --firmware "$FW" >/dev/null	# warm the page cache
openssl dgst -sha384 "$FW" >/dev/null
m=$(time_cmd "$MERAK" measure --firmware "$FW")
o=$(time_cmd openssl dgst -sha384 "$FW")
echo "firmware: 4 MiB TDVF image derived from $OVMF"
echo "merak measure:        ${m} us (median of $RUNS)"
echo "openssl dgst -sha384: ${o} us (median of $RUNS)"
awk -v m="$m" -v o="$o" 'BEGIN { printf "ratio: %.2f (target <= 1.2)\n", m / o }'
