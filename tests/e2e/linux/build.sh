#!/bin/sh
# Builds merak's tiny test kernel (an ELF vmlinux with the PVH note) and its
# initramfs from Debian's linux-source-6.1, cached outside the repository so
# that it is built once per machine. Prints the cache directory.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${MERAK_LINUX_CACHE:-/var/cache/merak/linux-6.1}
TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${JOBS:-$(nproc)}

stamp=$(cat "$HERE/config-fragment" "$HERE/build.sh" "$HERE/../init/init.c" | sha256sum | cut -c1-16)
if [ -f "$CACHE/vmlinux" ] && [ -f "$CACHE/initramfs.cpio" ] &&
	[ "$(cat "$CACHE/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$CACHE"
	exit 0
fi
if [ ! -f "$TARBALL" ]; then
	echo "tiny Linux: $TARBALL missing (Debian package linux-source-6.1)" >&2
	exit 1
fi
mkdir -p "$CACHE"
if [ ! -f "$CACHE/src/Makefile" ]; then
	echo "tiny Linux: unpacking $TARBALL into $CACHE/src (once)" >&2
	rm -rf "$CACHE/src"
	mkdir -p "$CACHE/src"
	tar -xJf "$TARBALL" -C "$CACHE/src" --strip-components=1
fi
# Three instructions the kernel executes at CPL 0 that KVM's instruction
# emulator on our build machines cannot run (docs/testing.md): the INT3
# self-test at boot, the FWAIT in fpu__drop() on every exec (it only
# collects a stale x87 exception of the old program), and the x87/MMX
# FXSAVE-leak scrub AMD CPUs get on every FPU restore (an information-leak
# fix between processes, moot for a one-program test guest). Edited in the
# cached copy only; a pattern that is not found stops the build.
edit_src() { # file old new
	python3 - "$CACHE/src/$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1:4]
text = open(path).read()
if new in text:
    sys.exit(0)
if text.count(old) != 1:
    sys.exit("tiny Linux: cannot edit %s: '%s' found %d times" % (path, old, text.count(old)))
open(path, "w").write(text.replace(old, new))
PY
}
edit_src arch/x86/kernel/alternative.c '	int3_selftest();
' '	/* merak e2e: no int3_selftest(), INT3 is not emulated */
'
edit_src arch/x86/kernel/fpu/core.c '"1: fwait\n"' '"1: nop\t\t/* merak e2e: was fwait */\n"'
edit_src arch/x86/kernel/fpu/core.c 'if (unlikely(static_cpu_has_bug(X86_BUG_FXSAVE_LEAK))) {' \
	'if (0 /* merak e2e: no x87 scrub */ && static_cpu_has_bug(X86_BUG_FXSAVE_LEAK)) {'

obj="$CACHE/obj"
mkdir -p "$obj"
echo "tiny Linux: configuring (tinyconfig + $HERE/config-fragment)" >&2
make -s -C "$CACHE/src" O="$obj" tinyconfig >&2
"$CACHE/src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$HERE/config-fragment" >&2
make -s -C "$CACHE/src" O="$obj" olddefconfig >&2
# Every fragment line must have survived Kconfig's dependency resolution.
missing=""
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) grep -qx "${line%=n}=y" "$obj/.config" && missing="$missing $line" ;;
	CONFIG_*) grep -qx "$line" "$obj/.config" || missing="$missing $line" ;;
	esac
done <"$HERE/config-fragment"
[ -z "$missing" ] || echo "tiny Linux: note: not in the final config:$missing" >&2
echo "tiny Linux: building vmlinux with $JOBS jobs (about 10 minutes on 2 cores, once)" >&2
make -s -C "$CACHE/src" O="$obj" -j"$JOBS" vmlinux >&2
gcc -O2 -o "$obj/gen_init_cpio" "$CACHE/src/usr/gen_init_cpio.c"
cp "$obj/vmlinux" "$CACHE/vmlinux"

musl-gcc -static -Os -s -Wall -o "$CACHE/init" "$HERE/../init/init.c"
cat >"$CACHE/initramfs.list" <<LIST
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
file /init $CACHE/init 0755 0 0
LIST
"$obj/gen_init_cpio" "$CACHE/initramfs.list" >"$CACHE/initramfs.cpio"
# make run's demo: a busybox shell on the console (bigger: slower to unpack).
if [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; then
	cat >"$CACHE/demo-init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "merak demo: busybox shell; 'poweroff -f' ends the VM"
exec setsid cttyhack sh
INIT
	cat >"$CACHE/initramfs-demo.list" <<LIST
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /bin 0755 0 0
file /bin/busybox /bin/busybox 0755 0 0
file /init $CACHE/demo-init 0755 0 0
LIST
	"$obj/gen_init_cpio" "$CACHE/initramfs-demo.list" >"$CACHE/initramfs-demo.cpio"
fi
echo "$stamp" >"$CACHE/stamp"
echo "$CACHE"
