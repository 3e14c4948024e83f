#!/bin/sh
# `make test-linux`: boots the tiny Linux under merak with 2 vCPUs and
# 128 MiB and checks that init ran, saw both CPUs and the memory, and powered
# off cleanly. Fails loudly (never skips) when it cannot run.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MERAK=${MERAK:-$ROOT/$BUILD/merak}
TIMEOUT=${LINUX_TIMEOUT:-900}

fail() {
	echo "FAIL linux-boot: $*"
	echo "0 passed, 1 failed"
	exit 1
}

. "$ROOT/tests/kvm-check.sh"
[ -z "$kvm_reason" ] || fail "no usable /dev/kvm ($kvm_reason): the tiny Linux cannot be booted here"
[ -x "$MERAK" ] || fail "no merak binary at $MERAK"
# MERAK_LINUX_PREBUILT: a directory holding vmlinux and initramfs.cpio already
# built (tests/nested hands the host's cache to its L1 this way).
if [ -n "${MERAK_LINUX_PREBUILT:-}" ]; then
	cache=$MERAK_LINUX_PREBUILT
else
	cache=$(sh "$ROOT/tests/e2e/linux/build.sh") || fail "the tiny kernel did not build"
fi
out=$(mktemp /tmp/merak-linux.XXXXXX)
start=$(date +%s)
timeout "$TIMEOUT" "$MERAK" --kernel "$cache/vmlinux" --initramfs "$cache/initramfs.cpio" \
	--cmdline "$(cat "$ROOT/tests/e2e/linux/cmdline") merak_e2e.cpus=2 merak_e2e.mem=128${MERAK_LINUX_EXTRA_CMDLINE:+ $MERAK_LINUX_EXTRA_CMDLINE}" \
	--cpus boot=2 --memory size=128M --serial "file=$out" 2>"$out.err"
rc=$?
secs=$(($(date +%s) - start))
tail -n 20 "$out"
grep -q 'merak-e2e: init ran' "$out" || fail "init never ran (exit $rc after ${secs}s; see $out, $out.err)"
grep -q 'merak-e2e: PASS' "$out" || fail "init's checks failed (see $out)"
[ "$rc" = 0 ] || fail "merak exited $rc instead of 0 after the guest's power-off"
echo "PASS linux-boot (${secs}s to power-off)"
# From now on make run may offer the tiny Linux as its demo.
echo "$secs" >"$cache/booted-ok"
echo "1 passed, 0 failed"
