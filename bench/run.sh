#!/bin/sh
# `make bench`: merak side by side with Debian's QEMU (-M microvm, KVM) on the
# same guests, plus the device-model and measurement benchmarks. Prints a
# table of ratios (medians over interleaved runs) and writes it, with the
# machine and the commit, to bench/results/.
set -u
BUILD=${1:-build}
RUNS=${BENCH_RUNS:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MERAK=$ROOT/$BUILD/merak
GUEST=$ROOT/$BUILD/tests/guest/hello.elf
stamp=$(date -u +%Y%m%dT%H%M%SZ)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
out="$ROOT/bench/results/$stamp-$commit.txt"
tmp=$(mktemp -d /tmp/merak-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a+0) printf "%.2f", a / b; else print "n/a" }'; }

# run_timed FILE CMD...: appends "wall_ms cpu_ms maxrss_kb" of one run.
run_timed() {
	file=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$@" >/dev/null 2>&1 </dev/null
	awk '{printf "%d %d %d\n", $1*1000, ($2+$3)*1000, $4}' "$tmp/t" >>"$file"
}

{
	echo "merak benchmarks, $stamp, commit $commit"
	echo "machine: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
	grep -m1 'model name' /proc/cpuinfo | sed 's/^/cpu: /'
	echo
	printf '%-44s %14s %14s %8s\n' "benchmark" "merak" "reference" "ratio"
} >"$out"

kvm_ok=0
python3 -c 'import os; os.close(os.open("/dev/kvm", os.O_RDWR))' 2>/dev/null && kvm_ok=1
qemu=$(command -v qemu-system-x86_64 || true)

if [ "$kvm_ok" = 1 ] && [ -n "$qemu" ]; then
	: >"$tmp/m"
	: >"$tmp/q"
	for _ in $(seq "$RUNS"); do
		run_timed "$tmp/m" "$MERAK" --kernel "$GUEST" --memory size=64M --serial null
		run_timed "$tmp/q" "$qemu" -M microvm,acpi=off -enable-kvm -cpu host -m 64M \
			-nodefaults -no-user-config -nographic -serial null \
			-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$GUEST"
	done
	for col in 1:"exec-to-exit wall (ms)" 2:"exec-to-exit CPU (ms)" 3:"peak RSS, 64 MiB guest (KiB)"; do
		i=${col%%:*}
		m=$(cut -d' ' -f"$i" "$tmp/m" | median)
		q=$(cut -d' ' -f"$i" "$tmp/q" | median)
		printf '%-44s %14s %14s %8s\n' "${col#*:} vs QEMU microvm" "$m" "$q" "$(ratio "$m" "$q")" >>"$out"
	done
else
	why="no usable /dev/kvm"
	[ "$kvm_ok" = 1 ] && why="qemu-system-x86_64 not installed"
	printf '%-44s %s\n' "guest exec-to-exit, RSS vs QEMU" "not run: $why" >>"$out"
fi
if [ "$kvm_ok" = 1 ] && [ -f /var/cache/merak/linux-6.1/vmlinux ]; then
	printf '%-44s %s\n' "tiny Linux boot to init" "see make test-linux (minutes here)" >>"$out"
else
	printf '%-44s %s\n' "tiny Linux boot to init" "not run: needs KVM and make test-linux" >>"$out"
fi

if [ -x "$ROOT/bench/measure/run.sh" ]; then
	line=$(sh "$ROOT/bench/measure/run.sh" "$BUILD" 2>/dev/null | tail -n 1)
	printf '%-44s %s\n' "merak measure vs one SHA-384 pass (4 MiB)" "$line" >>"$out"
fi
if [ -x "$ROOT/bench/virtio-blk/run.sh" ]; then
	line=$(sh "$ROOT/bench/virtio-blk/run.sh" "$BUILD" 2>/dev/null | tail -n 1)
	printf '%-44s %s\n' "virtio-blk requests vs raw pread/pwrite" "$line" >>"$out"
fi
cat "$out"
echo "written to $out"
