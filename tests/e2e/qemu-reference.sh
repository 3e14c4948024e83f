#!/bin/sh
# Boots the same tiny Linux (kernel, initramfs, command line) under QEMU, as
# a reference: when merak fails on it, this tells whether the guest side
# (config, init, command line) works at all. Uses KVM when usable, else
# QEMU's TCG, which needs no /dev/kvm (slower, but a whole CPU: no emulator
# gaps). Needs Debian's qemu-system-x86. Not part of `make test`.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TIMEOUT=${LINUX_TIMEOUT:-900}

fail() {
	echo "FAIL linux-qemu-reference: $*"
	echo "0 passed, 1 failed"
	exit 1
}

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing (Debian package qemu-system-x86)"
cache=$(sh "$ROOT/tests/e2e/linux/build.sh") || fail "the tiny kernel did not build"
accel=tcg
python3 -c 'import os; os.close(os.open("/dev/kvm", os.O_RDWR))' 2>/dev/null && accel=kvm
out=$(mktemp /tmp/merak-linux-qemu.XXXXXX)
start=$(date +%s)
timeout "$TIMEOUT" qemu-system-x86_64 -M q35 -accel "$accel" -smp 2 -m 128M -nodefaults \
	-display none -no-reboot -serial "file:$out" \
	-kernel "$cache/vmlinux" -initrd "$cache/initramfs.cpio" \
	-append "$(cat "$ROOT/tests/e2e/linux/cmdline") merak_e2e.cpus=2 merak_e2e.mem=128" \
	2>"$out.err"
rc=$?
secs=$(($(date +%s) - start))
tail -n 20 "$out"
grep -q 'merak-e2e: PASS' "$out" || fail "init did not pass under QEMU/$accel (exit $rc after ${secs}s; see $out, $out.err)"
[ "$rc" = 0 ] || fail "QEMU exited $rc instead of 0 after the guest's power-off"
echo "PASS linux-qemu-reference ($accel, ${secs}s to power-off)"
echo "1 passed, 0 failed"
