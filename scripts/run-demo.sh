#!/bin/sh
# `make run`: boots the bundled demo guest on the terminal: the tiny Linux
# with a busybox shell once `make test-linux` has booted it on this machine,
# otherwise the test-guest kit's demo guest.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MERAK="$ROOT/$BUILD/merak"
LINUX_CACHE=${MERAK_LINUX_CACHE:-/var/cache/merak/linux-6.1}

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
