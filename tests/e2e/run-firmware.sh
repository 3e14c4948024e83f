#!/bin/sh
# `make test-firmware`: boots Debian's OVMF.fd under merak (firmware boot from
# the reset vector, 256 MiB, no disks) and passes when the firmware reaches
# its boot manager and prints on the serial port ("BdsDxe: ..." lines, then
# the UEFI shell it falls back to). Slow: OVMF runs millions of ring-0
# instructions before its first serial byte. While it runs, merak's counters
# (vm.counters over the API socket) are sampled, so a failure says how far
# the firmware got: PM-timer reads (PEI), PCI config through ECAM (DXE),
# fw_cfg, and accesses that hit no device. Prints TAP (tests/lib/tap.sh);
# fails loudly (never skips). Firmware is guest kernel code: tests/kvm-suite.sh
# runs it on a sound KVM, else in the nested L1.
# kvm-suite: os
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD" in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
MERAK=${MERAK:-$B/merak}
FIRMWARE=${FIRMWARE:-/usr/share/ovmf/OVMF.fd}
TIMEOUT=${FIRMWARE_TIMEOUT:-600}

. "$ROOT/tests/lib/tap.sh"
fail() {
	tap_fail firmware-ovmf "$*"
	tap_done
	exit 1
}

. "$ROOT/tests/kvm-check.sh"
[ -z "$kvm_reason" ] || fail "no usable /dev/kvm ($kvm_reason): firmware cannot be booted here"
[ -x "$MERAK" ] || fail "no merak binary at $MERAK"
[ -r "$FIRMWARE" ] || fail "no firmware at $FIRMWARE (Debian package ovmf)"

dir=$(mktemp -d /tmp/merak-firmware.XXXXXX)
out=$dir/serial
api=$dir/api.sock
: >"$out"
start=$(date +%s)
"$MERAK" --firmware "$FIRMWARE" --memory size=256M --serial "file=$out" \
	--api-socket "path=$api" --log-level debug </dev/null 2>"$dir/merak.err" &
pid=$!
first="" shell=""
# The last counters that could be read: how far the firmware got.
sample_counters() {
	"$MERAK" remote --api-socket "$api" counters >"$dir/counters.new" 2>/dev/null &&
		mv "$dir/counters.new" "$dir/counters"
}
while kill -0 "$pid" 2>/dev/null; do
	now=$(($(date +%s) - start))
	[ -z "$first" ] && [ -s "$out" ] && first=$now
	if grep -q 'UEFI Interactive Shell\|Shell>' "$out" 2>/dev/null; then
		shell=$now
		break
	fi
	[ "$now" -ge "$TIMEOUT" ] && break
	sample_counters
	sleep 2
done
sample_counters
kill -KILL "$pid" 2>/dev/null
wait "$pid"
rc=$?
secs=$(($(date +%s) - start))
tr -d '\033' <"$out" | grep -a 'BdsDxe\|UEFI\|EDK' | head -n 8 | sed 's/^/# /'
progress=$(tr -d ' \n' <"$dir/counters" 2>/dev/null | head -c 1200)
if [ -z "$shell" ]; then
	grep -a 'merak:' "$dir/merak.err" | grep -v 'debug: counters\|^merak: debug:   ' | tail -n 12 | sed 's/^/# /'
	if [ -n "$first" ]; then
		fail "serial output after ${first}s but no UEFI shell within ${secs}s (merak exit $rc); counters: $progress; see $dir"
	fi
	fail "no serial output within ${secs}s (merak exit $rc); counters: $progress; see $dir"
fi
tap_pass firmware-ovmf "first serial byte after ${first}s, UEFI shell after ${shell}s"
rm -rf "$dir"
tap_done
