#!/bin/sh
# `make run`: boots the bundled demo guest on the terminal.
# The demo is the tiny Linux of tests/e2e when its cached build exists,
# otherwise the richest test guest of the kit.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MERAK="$ROOT/$BUILD/merak"
LINUX_CACHE=${MERAK_LINUX_CACHE:-/var/cache/merak/linux-6.1}

if [ -f "$LINUX_CACHE/vmlinux" ] && [ -f "$LINUX_CACHE/initramfs.cpio" ]; then
	echo "merak demo: booting the tiny Linux from $LINUX_CACHE (2 vCPUs, 128 MiB)"
	exec "$MERAK" --kernel "$LINUX_CACHE/vmlinux" --initramfs "$LINUX_CACHE/initramfs.cpio" \
		--cmdline "console=ttyS0 $(cat "$ROOT/tests/e2e/linux/cmdline" 2>/dev/null)" \
		--cpus boot=2 --memory size=128M --serial tty
fi
GUEST="$ROOT/$BUILD/tests/guest/demo.elf"
if [ ! -f "$GUEST" ]; then
	echo "merak demo: no demo guest was built ($GUEST missing)" >&2
	exit 1
fi
echo "merak demo: the tiny Linux is not built on this machine (make test-linux builds it,"
echo "about 10 minutes once); booting the test-guest kit's demo guest instead."
exec "$MERAK" --kernel "$GUEST" --cpus boot=2 --memory size=64M --serial tty
