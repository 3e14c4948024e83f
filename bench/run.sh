#!/bin/sh
# `make bench`: each performance goal measured against its anchor in the same
# run (the floor harness, raw I/O, QEMU, one SHA-384 pass), each bench's own
# table, then one line per goal with its ratio and whether it is met. Written,
# with the machine and the commit, to bench/results/.
#
#   bench/run.sh BUILD_DIR       BENCH_RUNS rounds where a bench takes them
set -u
BUILD=${1:-build}
RUNS=${BENCH_RUNS:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MERAK=$ROOT/$BUILD/merak
GUEST=$ROOT/$BUILD/tests/guest/hello.elf
stamp=$(date -u +%Y%m%dT%H%M%SZ)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit+"
out="$ROOT/bench/results/$stamp-$commit.txt"
tmp=$(mktemp -d /tmp/merak-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# section TITLE FILE CMD...: runs one bench, keeps its output in FILE, shows it indented.
section() {
	title=$1 file=$2
	shift 2
	echo
	echo "== $title"
	"$@" >"$tmp/$file" 2>"$tmp/$file.err" </dev/null || true
	[ -s "$tmp/$file" ] || echo "not run: $(head -c 300 "$tmp/$file.err" | tr '\n' ' ')" >"$tmp/$file"
	sed 's/^/  /' "$tmp/$file"
}
last() { tail -n 1 "$tmp/$1"; }
# kv FILE KEY: KEY=VALUE from a summary line.
kv() { last "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
verdict() { awk -v v="$1" -v g="$2" -v op="$3" 'BEGIN {
	if (v != v + 0) { print "not measured"; exit }
	ok = (op == "<=") ? v <= g : (op == ">=") ? v >= g : v > g
	print ok ? "met" : "NOT met" }'; }

{
	echo "merak benchmarks, $stamp, commit $commit"
	echo "machine: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
	grep -m1 'model name' /proc/cpuinfo | sed 's/^/cpu: /'

	section "goals 1, 2: start-up and VMM memory against the floor (bench/floor)" floor \
		env BENCH_RUNS=$((RUNS * 3)) sh "$ROOT/bench/floor/run.sh" "$BUILD"
	section "goals 2, 5: large guests and TDs (bench/large)" large \
		env RUNS=3 bash "$ROOT/bench/large/run.sh" "$BUILD"
	section "goal 3: virtio-blk device path vs raw pread/pwrite (bench/virtio-blk)" blk \
		sh "$ROOT/bench/virtio-blk/run.sh" "$BUILD"
	section "goals 3, 4: one test guest driving virtio-blk under merak and QEMU (bench/blk-guest)" \
		blkguest env BENCH_RUNS=3 sh "$ROOT/bench/blk-guest/run.sh" "$MERAK" \
		"$ROOT/$BUILD/tests/guest/blkbench.elf"
	section "goal 4: MSI by KVM_SIGNAL_MSI vs irqfd (bench/irq)" irq sh "$ROOT/bench/irq/run.sh"
	section "measurement vs one SHA-384 pass (bench/measure)" measure \
		sh "$ROOT/bench/measure/run.sh" "$BUILD"
	section "vsock round trip vs a unix socket (bench/vsock)" vsock \
		sh "$ROOT/bench/vsock/run.sh" "$BUILD"
	section "whole VMs vs QEMU microvm (bench/vm-compare.sh)" vms \
		env BENCH_RUNS="$RUNS" sh "$ROOT/bench/vms.sh" "$BUILD"

	echo
	echo "== goals (ratio against the anchor; the goal; verdict)"
	f=$(last floor)
	wall=$(echo "$f" | sed -n 's/.*start-up wall \([0-9.]*\).*/\1/p')
	cpu=$(echo "$f" | sed -n 's/.*CPU \([0-9.]*\).*/\1/p')
	vmm=$(echo "$f" | sed -n 's/.*VMM memory \([0-9]*\) KiB.*/\1/p')
	printf '1 start-up wall vs floor        %6s  <= 1.30  %s\n' "${wall:-n/a}" "$(verdict "$wall" 1.30 '<=')"
	printf '1 start-up CPU vs floor         %6s  <= 1.50  %s\n' "${cpu:-n/a}" "$(verdict "$cpu" 1.50 '<=')"
	vr=$(awk -v v="$vmm" 'BEGIN { if (v == v + 0 && v > 0) printf "%.2f", v / 2048 }')
	printf '2 VMM memory vs 2 MiB           %6s  <= 1.00  %s (%s KiB)\n' "${vr:-n/a}" "$(verdict "$vr" 1.00 '<=')" "${vmm:-n/a}"
	# From bench/large's table: the spread over sizes (1 vCPU) and the cost per vCPU (1 GiB).
	spread() { awk -v k="$1" '$1 == k && $(NF-7) == 1 && $(NF-6) == "vCPU" { v = $NF + 0
		if (!n++ || v < lo) lo = v; if (v > hi) hi = v }
		END { if (n > 1 && lo > 0) printf "%.2f %d %d", hi / lo, lo, hi }' "$tmp/large"; }
	pervcpu() { awk -v k="$1" '$1 == k && $2 != "td-shim" && $(NF-8) == "1G" { c = $(NF-7) + 0; v[c] = $NF + 0 }
		END { if (1 in v && 64 in v) printf "%.1f", (v[64] - v[1]) / 63 }' "$tmp/large"; }
	set -- $(spread plain)
	printf '2 plain VMM memory, 64M..1T     %6s  flat     max/min (%s-%s KiB); %s KiB more per vCPU (1..64)\n' "${1:-n/a}" "${2:-?}" "${3:-?}" "$(pervcpu plain)"
	b=$(last blk)
	qd1=$(echo "$b" | awk '$1 == "QD1" { print $4 }')
	qd32=$(echo "$b" | awk '$5 == "QD32" { print $8 }')
	printf '3 virtio-blk QD1 vs raw         %6s  >= 0.95  %s\n' "${qd1:-n/a}" "$(verdict "$qd1" 0.95 '>=')"
	printf '3 virtio-blk QD32 vs raw        %6s  >  1.00  %s\n' "${qd32:-n/a}" "$(verdict "$qd32" 1.00 '>')"
	rr=$(kv blkguest read_rps_ratio) wr=$(kv blkguest write_rps_ratio)
	printf '3 guest blk reads/s vs QEMU     %6s  >= 1.00  %s (writes %s)\n' "${rr:-n/a}" "$(verdict "$rr" 1.00 '>=')" "${wr:-n/a}"
	me=$(kv blkguest merak_exits_per_req) qe=$(kv blkguest qemu_exits_per_req)
	er=$(awk -v a="$me" -v b="$qe" 'BEGIN { if (a == a + 0 && b + 0 > 0) printf "%.2f", a / b }')
	printf '4 exits/request vs QEMU         %6s  <= 1.00  %s (merak %s, QEMU %s; EVENT_IDX merak %s)\n' \
		"${er:-n/a}" "$(verdict "$er" 1.00 '<=')" "${me:-n/a}" "${qe:-n/a}" "$(kv blkguest merak_evidx_exits_per_req)"
	ir=$(kv irq send_ratio) it=$(kv irq rtt_ratio)
	printf '4 irqfd vs KVM_SIGNAL_MSI CPU   %6s  kept irqfd (round trip ratio %s)\n' "${ir:-n/a}" "${it:-n/a}"
	ms=$(last measure | sed -n 's/.*ratio: \([0-9.]*\).*/\1/p')
	printf '   measure vs one SHA-384 pass  %6s  <= 1.20  %s\n' "${ms:-n/a}" "$(verdict "$ms" 1.20 '<=')"
	set -- $(spread td)
	printf '5 TD VMM memory, 1G..1T         %6s  flat     max/min (%s-%s KiB, simulator); %s KiB more per vCPU\n' "${1:-n/a}" "${2:-?}" "${3:-?}" "$(pervcpu td)"
	printf '5 launch times                          %s\n' "$(last large | sed 's/^large guests: //')"
} | tee "$out"
echo "written to $out"
