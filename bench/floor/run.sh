#!/bin/sh
# Goals 1 and 2 of the performance issue: merak's start-up against the floor
# (floor.c: the least a KVM program does to run the same PVH test guest), the
# VMM's own memory, and the tiny Linux booted with each interrupt model (what
# the default was decided on). Each part runs where tests/tools/kvm_probe
# says it can: the hello guest on any working /dev/kvm, Linux on a KVM that
# does not emulate guest kernel code, else inside the nested L1 of
# tests/nested (absolute times there are an emulator's; the ratios still
# compare two programs on one KVM).
#
#   bench/floor/run.sh BUILD_DIR   (BENCH_RUNS rounds, default 21; LINUX_RUNS 3)
#
# Prints table rows; the last line is the summary bench/run.sh reads.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD" in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
RUNS=${BENCH_RUNS:-21}
GUEST=$B/tests/guest/hello.elf
LINUX=${MERAK_LINUX_CACHE:-/var/cache/merak/linux-6.1}
tmp=$(mktemp -d /tmp/merak-floor.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cc -O2 -o "$tmp/floor" "$ROOT/bench/floor/floor.c" &&
	cc -O2 -o "$tmp/startup" "$ROOT/bench/floor/startup.c" || {
	echo "start-up vs floor: not run: the harness did not compile"
	exit 0
}

# One line per program: NAME wall cpu peak ok/runs anon_at_exit.
cat >"$tmp/hello.sh" <<EOF
#!/bin/sh
"$tmp/startup" $RUNS \\
	"floor=$tmp/floor $GUEST" \\
	"floor-irqchip-pit=$tmp/floor --irqchip kernel --pit $GUEST" \\
	"floor-split=$tmp/floor --irqchip split $GUEST" \\
	"merak=$B/merak --kernel $GUEST --memory size=64M --serial off" \\
	"merak-kernel=$B/merak --kernel $GUEST --memory size=64M --serial off --platform irqchip=kernel"
"$B/merak" -v --kernel "$GUEST" --memory size=64M --serial off 2>&1 | grep 'resident at exit'
EOF

# The tiny Linux to its power-off with each model: 1 vCPU, so that it keeps
# its PV clock even in the nested L1 (only 2-vCPU guests need nopv there,
# docs/testing.md), which is what lets it calibrate without a PIT.
for m in split kernel; do
	cat >"$tmp/linux-$m.sh" <<EOF
#!/bin/sh
exec "$B/merak" -v --kernel "$LINUX/vmlinux" --initramfs "$LINUX/initramfs.cpio" \\
	--cmdline "$(cat "$ROOT/tests/e2e/linux/cmdline") merak_e2e.cpus=1 merak_e2e.mem=128" \\
	--memory size=128M --serial "file=$tmp/linux-$m.serial" --platform irqchip=$m 2>>"$tmp/linux-$m.log"
EOF
done
cat >"$tmp/linux.sh" <<EOF
#!/bin/sh
"$tmp/startup" --no-peak ${LINUX_RUNS:-3} "linux-split=/bin/sh $tmp/linux-split.sh" "linux-kernel=/bin/sh $tmp/linux-kernel.sh"
for m in split kernel; do
	echo "exits-\$m \$(grep -c 'reboot: Power down' "$tmp/linux-\$m.serial") \$(grep 'exits to merak' "$tmp/linux-\$m.log" | tail -n 1)"
done
EOF

# in_l1 SCRIPT [FILES...]: runs SCRIPT inside the nested L1.
in_l1() {
	script=$1
	shift
	files=""
	for f in "$@"; do files="$files --file $f"; done
	# shellcheck disable=SC2086
	NESTED_TIMEOUT=$((RUNS * 10 + 1200)) sh "$ROOT/tests/nested/run.sh" --file "$tmp" \
		--file "$B/merak" --file "$GUEST" $files -- sh "$script" 2>/dev/null |
		grep -v '^\[' | tr -d '\r'
}

. "$ROOT/tests/lib/probe.sh"
probe_host "$B" || probe_verdict=nokvm
: >"$tmp/out"
case $probe_verdict in
sound | pvm) where="this host's KVM ($probe_verdict)"; sh "$tmp/hello.sh" >>"$tmp/out" 2>&1 ;;
*) where="the nested L1's KVM (here: ${probe_reason:-no usable /dev/kvm})"; in_l1 "$tmp/hello.sh" >>"$tmp/out" ;;
esac
lwhere=""
if [ -f "$LINUX/vmlinux" ] && [ -f "$LINUX/initramfs.cpio" ]; then
	if [ "$probe_verdict" = sound ]; then
		lwhere="this host's KVM"
		sh "$tmp/linux.sh" >>"$tmp/out" 2>&1
	else
		lwhere="the nested L1's KVM"
		in_l1 "$tmp/linux.sh" "$LINUX/vmlinux" "$LINUX/initramfs.cpio" >>"$tmp/out"
	fi
fi

val() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$tmp/out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a+0) printf "%.2f", a / b; else print "n/a" }'; }
row() { printf '%-46s %12s %12s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

if [ -z "$(val merak 2)" ] || [ -z "$(val floor 2)" ]; then
	echo "start-up vs floor: not run on $where: $(head -c 300 "$tmp/out" | tr '\n' ' ')"
	exit 0
fi
echo "hello test guest on $where; medians of $RUNS interleaved rounds"
printf '%-46s %12s %12s %8s\n' "" merak floor ratio
row "exec-to-exit wall (ms), merak vs floor" "$(val merak 2)" "$(val floor 2)"
row "exec-to-exit CPU (ms), merak vs floor" "$(val merak 3)" "$(val floor 3)"
row "  merak --platform irqchip=kernel, wall" "$(val merak-kernel 2)" "$(val floor 2)"
row "  floor + KVM irqchip + PIT, wall" "$(val floor-irqchip-pit 2)" "$(val floor 2)"
row "  floor + split irqchip, wall" "$(val floor-split 2)" "$(val floor 2)"
guest=$(awk '/resident at exit/ { print $(NF-1) }' "$tmp/out")
peak=$(val merak 4)
vmm=$(awk -v p="$peak" -v g="${guest:-x}" 'BEGIN { if (g == g+0) print p - g; else print "n/a" }')
row "peak RSS (KiB, VmHWM)" "$peak" "$(val floor 4)"
echo "  of which guest RAM touched: ${guest:-n/a} KiB; merak's anonymous memory at exit: $(val merak 6) KiB"
row "VMM memory: peak - guest RAM (KiB) vs 2 MiB" "$vmm" 2048
if [ -n "$(val linux-split 2)" ]; then
	echo "tiny Linux, 1 vCPU, exec to power-off on $lwhere; medians of ${LINUX_RUNS:-3}"
	printf '%-46s %12s %12s %8s\n' "" split kernel ratio
	row "  wall (ms)" "$(val linux-split 2)" "$(val linux-kernel 2)"
	row "  CPU (ms)" "$(val linux-split 3)" "$(val linux-kernel 3)"
	for m in split kernel; do
		echo "  irqchip=$m: powered off $(val "exits-$m" 2) times; last run's exits to merak:$(awk -v n="exits-$m" '$1 == n { sub(/.*exits to merak:/, ""); print }' "$tmp/out")"
	done
elif [ -n "$lwhere" ]; then
	echo "tiny Linux with each interrupt model: no result from $lwhere"
fi
echo "start-up wall $(ratio "$(val merak 2)" "$(val floor 2)") (goal <= 1.30), CPU $(ratio "$(val merak 3)" "$(val floor 3)") (goal <= 1.50), VMM memory ${vmm} KiB (goal <= 2048)"
