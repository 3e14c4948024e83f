#!/bin/sh
# Runs a guest-booting test suite on real KVM where the host has none: inside
# an L1 Linux that QEMU emulates (TCG) with AMD SVM and nested paging, so
# that L1's kvm_amd gives merak a genuine /dev/kvm. merak, the test guests
# and the suite's script are copied into L1's initramfs at their host paths;
# the suite's output comes back over L1's serial port.
#
#   tests/nested/run.sh [--file PATH]... -- COMMAND...
#
# COMMAND runs in L1 from the repository root (same path as on the host).
# --file PATH adds a host file or directory (same path in L1). Prints
# COMMAND's output; exits with its status, or 125 when L1 itself failed.
# NESTED_KVM_AMD_PARAMS: module parameters for L1's kvm_amd (vgif=0, say).
# NESTED_TSC_KHZ: this host's TSC rate (tests/e2e/tools/tsc_khz.c), which is
# L1's too: L1 is told it rather than calibrating under emulation.
# Needs qemu-system-x86_64 and the L1 kernel (tests/nested/l1-kernel.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TIMEOUT=${NESTED_TIMEOUT:-1500}
L1_MEM=${NESTED_MEM:-4608M}

extra=""
while [ $# -gt 0 ]; do
	case "$1" in
	--file) extra="$extra $2"; shift 2 ;;
	--) shift; break ;;
	*) echo "nested: unknown option $1" >&2; exit 125 ;;
	esac
done
[ $# -gt 0 ] || { echo "nested: no command" >&2; exit 125; }

die() { echo "nested: $*" >&2; exit 125; }
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (Debian package qemu-system-x86)"
BUSYBOX=/bin/busybox # statically linked, from Debian's busybox-static
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (Debian package busybox-static)"
l1=$(sh "$ROOT/tests/nested/l1-kernel.sh") || die "no L1 kernel"

work=$(mktemp -d /tmp/merak-nested.XXXXXX)
trap '[ -n "${NESTED_KEEP:-}" ] || rm -rf "$work"' EXIT INT TERM
r=$work/root
mkdir -p "$r/bin" "$r/dev" "$r/proc" "$r/sys" "$r/tmp" "$r/run" "$r/lib/modules"
cp "$BUSYBOX" "$r/bin/busybox"
cp "$l1"/modules/*.ko "$r/lib/modules/"

# A host path, and for an ELF executable the shared libraries it loads.
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)
add() {
	[ -e "$1" ] || die "$1 does not exist"
	case "$1" in
	/*) ;;
	*) set -- "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" ;;
	esac
	mkdir -p "$r$(dirname "$1")"
	cp -a "$1" "$r$(dirname "$1")/"
	if [ -f "$1" ] && [ -x "$1" ] && head -c 4 "$1" | grep -q ELF; then
		# What it links, and what it may dlopen() by soname (merak: libcrypto).
		dl=$(grep -aoE 'lib[a-z0-9_+-]+\.so\.[0-9.]*[0-9]' "$1" | sort -u | while read -r so; do
			"$LDCONFIG" -p | awk -v so="$so" '$1 == so && /x86-64/ { print $NF; exit }'
		done)
		for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+') $dl \
			$(for d in $dl; do ldd "$d" 2>/dev/null | grep -oE '/[^ ]+'; done); do
			[ -e "$r$lib" ] && continue
			mkdir -p "$r$(dirname "$lib")"
			cp -L "$lib" "$r$lib"
		done
	fi
}
for f in $extra; do add "$f"; done
add "$ROOT/tests/kvm-check.sh"
add "$ROOT/tests/host-side.sh"

# The command, quoted for L1's shell.
cmd=""
for a in "$@"; do
	cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
done
cat >"$r/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts	# pseudo-terminals (serial mode pty)
for m in irqbypass kvm ccp kvm-amd tun; do
	p=""; [ \$m = kvm-amd ] && p="${NESTED_KVM_AMD_PARAMS:-}"
	insmod /lib/modules/\$m.ko \$p 2>/tmp/insmod.err || { echo "merak-l1: insmod \$m: \$(cat /tmp/insmod.err)"; }
done
ip link set lo up 2>/dev/null
export MERAK_NESTED_L1=1	# suites may change this throwaway machine's devices
echo "merak-l1: begin (\$(uname -r), \$(grep -c ^processor /proc/cpuinfo) CPUs)"
cd "$ROOT" && $cmd
echo "merak-l1: exit \$?"
poweroff -f
EOF
chmod +x "$r/init"
(cd "$r" && find . | cpio -o -H newc 2>/dev/null) >"$work/initramfs.cpio" ||
	die "cannot pack the L1 initramfs"

# -cpu max under TCG offers SVM with NPT; kvm_amd wants an AMD vendor.
# TCG's TSC is the host's: as stable as the host's, which L1 cannot know
# (its AMD CPU model lacks constant_tsc, so with 2 CPUs it would call its
# TSC unsynchronized, and its KVM would then move each vCPU's TSC offset
# at every vcpu_load under guests that trust their TSC).
l1_tsc=""
grep -qw constant_tsc /proc/cpuinfo && grep -qw nonstop_tsc /proc/cpuinfo && l1_tsc=" tsc=reliable"
[ -n "${NESTED_TSC_KHZ:-}" ] && l1_tsc="$l1_tsc tsc_early_khz=$NESTED_TSC_KHZ"
timeout "$TIMEOUT" qemu-system-x86_64 -M q35 -accel "tcg,thread=${NESTED_TCG_THREAD:-single}" \
	-cpu max,vendor=AuthenticAMD -smp 2 -m "$L1_MEM" -nodefaults -display none \
	-serial "file:$work/serial.out" -no-reboot \
	-kernel "$l1/vmlinuz" -initrd "$work/initramfs.cpio" \
	-append "console=ttyS0 ${NESTED_APPEND:-quiet} panic=-1 mitigations=off$l1_tsc" </dev/null >"$work/qemu.out" 2>&1
qrc=$?
tr -d '\r' <"$work/serial.out" >"$work/serial.txt"
status=$(sed -n 's/^merak-l1: exit \([0-9]*\)$/\1/p' "$work/serial.txt" | tail -n 1)
if ! grep -q '^merak-l1: begin' "$work/serial.txt"; then
	tail -n 20 "$work/serial.txt" "$work/qemu.out" >&2
	die "L1 did not start (qemu exit $qrc)"
fi
grep '^merak-l1: insmod' "$work/serial.txt" >&2
sed -n '/^merak-l1: begin/,/^merak-l1: exit/{/^merak-l1: /!p}' "$work/serial.txt"
if [ -z "$status" ]; then
	[ "$qrc" = 124 ] && die "L1 timed out after ${TIMEOUT}s"
	# The emulator's own last words say more than its exit status.
	why=$(grep -m1 -E 'ERROR|assert' "$work/qemu.out" || tail -n 1 "$work/qemu.out")
	die "L1 stopped before the command finished (qemu exit $qrc${why:+: $why})"
fi
exit "$status"
