#!/bin/sh
# `make run`: boots the bundled demo guest on the terminal: the tiny Linux
# with a busybox shell once `make test-linux` has booted it on this machine,
# otherwise the test-guest kit's demo guest.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MERAK="$ROOT/$BUILD/merak"
LINUX_CACHE=${MERAK_LINUX_CACHE:-/var/cache/merak/linux-6.1}

# No KVM here: the demo runs on the nested KVM of tests/nested (QEMU TCG with
# emulated SVM), not interactively: its console output is shown when it ends.
. "$ROOT/tests/kvm-check.sh"
if [ -n "$kvm_reason" ]; then
	echo "merak demo: no usable /dev/kvm ($kvm_reason); booting on a nested KVM inside an"
	echo "emulated L1 (tests/nested, about 20 s): the tiny Linux if it is built, else the demo guest."
	cache=$LINUX_CACHE
	if [ -f "$cache/vmlinux" ] && [ -f "$cache/initramfs.cpio" ]; then
		exec sh "$ROOT/tests/nested/run.sh" --file "$MERAK" --file "$cache/vmlinux" \
			--file "$cache/initramfs.cpio" --file "$ROOT/tests/e2e/linux/cmdline" -- \
			sh -c "'$MERAK' --kernel '$cache/vmlinux' --initramfs '$cache/initramfs.cpio' \
			--cmdline \"\$(cat tests/e2e/linux/cmdline) nopv merak_e2e.cpus=2 merak_e2e.mem=128\" \
			--cpus boot=2 --memory size=128M --serial tty </dev/null"
	fi
	exec sh "$ROOT/tests/nested/run.sh" --file "$MERAK" --file "$ROOT/$BUILD/tests/guest/demo.elf" -- \
		"$MERAK" --kernel "$ROOT/$BUILD/tests/guest/demo.elf" --cpus boot=2 --memory size=64M \
		--serial tty
fi

if [ -f "$LINUX_CACHE/booted-ok" ] && [ -f "$LINUX_CACHE/initramfs-demo.cpio" ]; then
	echo "merak demo: the tiny Linux with a busybox shell (2 vCPUs, 128 MiB); Ctrl-A x quits"
	exec "$MERAK" --kernel "$LINUX_CACHE/vmlinux" --initramfs "$LINUX_CACHE/initramfs-demo.cpio" \
		--cmdline "$(cat "$ROOT/tests/e2e/linux/cmdline")" \
		--cpus boot=2 --memory size=128M --serial tty
fi
GUEST="$ROOT/$BUILD/tests/guest/demo.elf"
if [ ! -f "$GUEST" ]; then
	echo "merak demo: no demo guest was built ($GUEST missing)" >&2
	exit 1
fi
echo "merak demo: the tiny Linux has not booted on this machine yet (make test-linux builds"
echo "and tries it), so this is the test-guest kit's demo guest: it prints what it was"
echo "handed, starts every CPU and powers off."
exec "$MERAK" --kernel "$GUEST" --cpus boot=2 --memory size=64M --serial tty
