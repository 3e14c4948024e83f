#!/bin/sh
# virtio-blk driven by the same test guest (tests/guest/blkbench.c) under
# merak and under Debian's QEMU (-M q35, SeaBIOS, virtio-blk-pci) on the same
# KVM: N 4 KiB reads then N 4 KiB writes at queue depth 1, each waited for by
# its MSI-X interrupt, with and without VIRTIO_RING_F_EVENT_IDX.
#
#   run.sh MERAK BLKBENCH_ELF
#
# The guest reports latency (rdtsc, notify to used entry after the
# interrupt), requests/s, interrupts and notifies per request. Exits are
# counted on the host with KVM's tracepoints (perf stat on the VMM process):
# kvm:kvm_exit is not emitted by every KVM (this PVM host's is silent), its
# debugfs statistics may refuse reads, and KVM_GET_STATS_FD works only inside
# the VMM, so the columns are the exit kinds that are traced everywhere: port
# I/O (kvm_pio), MMIO (kvm_mmio: notifies, local-APIC EOIs), halts that
# blocked (kvm_vcpu_wakeup), and returns to the VMM (kvm_userspace_exit);
# "exits" is pio + mmio + halt. Each is per request: a run of N requests
# minus a run of 1, over 2(N-1), so boot and set-up cancel out.
# Medians of BENCH_RUNS interleaved runs (default 3), BENCH_BLK_N (2000).
# The last line is the summary.
set -u
MERAK=$1
GUEST=$2
RUNS=${BENCH_RUNS:-3}
N=${BENCH_BLK_N:-2000}
QEMU=$(command -v qemu-system-x86_64 || true)
PERF=$(command -v perf || true)
EV=kvm:kvm_pio,kvm:kvm_mmio,kvm:kvm_vcpu_wakeup,kvm:kvm_userspace_exit
tmp=$(mktemp -d /tmp/merak-blkguest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a+0) printf "%.2f", a / b; else print "nan" }'; }

# counted N CMD...: runs the VMM with n=N under perf; prints "pio mmio halt uexit"
# (or "nan..." without perf) and leaves the guest's output in $tmp/serial.
counted() {
	: >"$tmp/serial"
	if [ -n "$PERF" ]; then
		timeout "${BENCH_TIMEOUT:-120}" "$PERF" stat -x, -e "$EV" -o "$tmp/perf" "$@" >/dev/null 2>&1 </dev/null
		awk -F, '/kvm:/ {printf "%s ", $1} END {print ""}' "$tmp/perf"
	else
		timeout "${BENCH_TIMEOUT:-120}" "$@" >/dev/null 2>&1 </dev/null
		echo "nan nan nan nan"
	fi
}

# one VMM EVIDX: appends "vmm evidx op rps ns_med exits pio mmio halt uexit irqs notifies"
# for each op to $tmp/rows.
one() {
	vmm=$1 evidx=$2
	for n in 1 "$N"; do
		cmd="n=$n"
		[ "$evidx" = 1 ] && cmd="$cmd event_idx"
		if [ "$vmm" = merak ]; then
			c=$(counted "$MERAK" --kernel "$GUEST" --cmdline "$cmd" --memory size=64M \
				--disk "path=$tmp/disk.img" --serial "file=$tmp/serial")
		else
			# -arch-capabilities: this KVM refuses QEMU's write of that MSR.
			c=$(counted "$QEMU" -M q35 -enable-kvm -cpu host,-arch-capabilities -m 64M \
				-nodefaults -no-user-config -display none -serial "file:$tmp/serial" \
				-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$GUEST" -append "$cmd" \
				-drive "file=$tmp/disk.img,if=none,id=d0,format=raw" \
				-device virtio-blk-pci,drive=d0,disable-legacy=on)
		fi
		[ "$n" = 1 ] && base=$c
	done
	per=$(echo "$base $c" | awk -v n="$N" '{ if ($1 == "nan" || NF < 8) { print "nan nan nan nan nan"; exit }
		d = 2 * (n - 1); printf "%.2f %.2f %.2f %.2f %.2f\n",
		($5+$6+$7-$1-$2-$3)/d, ($5-$1)/d, ($6-$2)/d, ($7-$3)/d, ($8-$4)/d }')
	for op in read write; do
		line=$(grep "BLKBENCH op=$op " "$tmp/serial") || { echo "$vmm $evidx $op fail" >>"$tmp/rows"; continue; }
		field() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
		echo "$vmm $evidx $op $(field rps) $(field ns_med) $per" \
			"$(awk -v x="$(field irqs_x1000)" 'BEGIN{printf "%.2f", x/1000}')" \
			"$(awk -v x="$(field notifies_x1000)" 'BEGIN{printf "%.2f", x/1000}')" >>"$tmp/rows"
	done
}

[ -n "$QEMU" ] || echo "# no qemu-system-x86_64: merak only"
[ -n "$PERF" ] || echo "# no perf (Debian linux-perf): exits not counted"
truncate -s 64M "$tmp/disk.img"
: >"$tmp/rows"
for _ in $(seq "$RUNS"); do
	for evidx in 0 1; do
		one merak "$evidx"
		[ -z "$QEMU" ] || one qemu "$evidx"
	done
done

fmt='%-6s %-9s %-5s %8s %8s %7s %6s %6s %6s %6s %6s %6s\n'
printf "$fmt" VMM EVENT_IDX op req/s med_ns exits pio mmio halt uexit irqs notif
col() { grep "^$1 $2 $3 " "$tmp/rows" | grep -v fail | cut -d' ' -f"$4" | median; }
for evidx in 0 1; do
	for op in read write; do
		for vmm in merak qemu; do
			grep -q "^$vmm $evidx $op [0-9]" "$tmp/rows" || continue
			printf "$fmt" "$vmm" "$evidx" "$op" "$(col $vmm $evidx $op 4)" "$(col $vmm $evidx $op 5)" \
				"$(col $vmm $evidx $op 6)" "$(col $vmm $evidx $op 7)" "$(col $vmm $evidx $op 8)" \
				"$(col $vmm $evidx $op 9)" "$(col $vmm $evidx $op 10)" "$(col $vmm $evidx $op 11)" \
				"$(col $vmm $evidx $op 12)"
		done
	done
done
fails=$(grep -c fail "$tmp/rows")
[ "$fails" = 0 ] || echo "# $fails runs did not complete: $(grep fail "$tmp/rows" | sort | uniq -c | tr '\n' ';')"
echo "blk-guest summary: read_rps_ratio=$(ratio "$(col merak 0 read 4)" "$(col qemu 0 read 4)")" \
	"write_rps_ratio=$(ratio "$(col merak 0 write 4)" "$(col qemu 0 write 4)")" \
	"evidx_read_rps_ratio=$(ratio "$(col merak 1 read 4)" "$(col qemu 1 read 4)")" \
	"merak_exits_per_req=$(col merak 0 read 6)" "qemu_exits_per_req=$(col qemu 0 read 6)" \
	"merak_evidx_exits_per_req=$(col merak 1 read 6)" "qemu_evidx_exits_per_req=$(col qemu 1 read 6)"
