#!/bin/sh
# Runs one guest-booting suite inside the nested-KVM L1 (tests/nested/run.sh),
# with the files that suite needs:
#   suite.sh guests BUILD   the test-guest kit of BUILD's merak
#   suite.sh linux BUILD    the tiny-Linux boot (kernel from the host's cache)
#   suite.sh firmware BUILD OVMF.fd to its UEFI shell (slow)
#
# The tiny Linux boots here with "nopv": with KVM's steal-time feature, a
# 2-vCPU guest deadlocks in spinlocks at SMP bring-up in this emulated L1, and
# so does QEMU's (-cpu host: 6 of 6 runs hung; kvm-steal-time=off: booted, and
# switching off any other PV feature did not help). docs/testing.md has this.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
suite=${1:?suite}
BUILD=${2:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
NESTED="sh $ROOT/tests/nested/run.sh"

case "$suite" in
guests)
	exec $NESTED --file "$ROOT/tests/guest/run.sh" --file "$B/merak" \
		--file "$B/tests/guest" --file "$B/tests/vsock_peer" --file /usr/bin/setpriv \
		-- env MERAK_KVM_TESTS=run sh tests/guest/run.sh "$BUILD"
	;;
linux)
	cache=$(sh "$ROOT/tests/e2e/linux/build.sh") || {
		echo "FAIL linux-boot: the tiny kernel did not build"
		echo "0 passed, 1 failed"
		exit 1
	}
	exec $NESTED --file "$ROOT/tests/e2e/run-linux.sh" --file "$ROOT/tests/e2e/linux/cmdline" \
		--file "$B/merak" --file "$B/tests/vsock_peer" \
		--file "$cache/vmlinux" --file "$cache/initramfs.cpio" \
		-- env MERAK_LINUX_PREBUILT="$cache" MERAK_LINUX_EXTRA_CMDLINE=nopv \
		sh tests/e2e/run-linux.sh "$BUILD"
	;;
firmware)
	fw=${FIRMWARE:-/usr/share/ovmf/OVMF.fd}
	exec $NESTED --file "$ROOT/tests/e2e/run-firmware.sh" --file "$B/merak" --file "$fw" \
		-- env FIRMWARE="$fw" sh tests/e2e/run-firmware.sh "$BUILD"
	;;
*)
	echo "nested: unknown suite $suite" >&2
	exit 2
	;;
esac
