#!/bin/sh
# MSI delivery on this KVM: KVM_SIGNAL_MSI (an ioctl per interrupt) against
# an irqfd (a write to an eventfd KVM bound to an MSI route), which merak's
# device workers use. bench/irq/irqbench.c runs its own tiny 64-bit guest;
# BENCH_IRQ_N interrupts per round (default 2000), BENCH_IRQ_ROUNDS rounds
# per method, alternating (default 5). Rows per method: the sender's CPU
# time per interrupt, the vCPU thread's, the median and p99 round trip.
# The last line is the summary (ns per interrupt each way, and the ratio
# irqfd / SIGNAL_MSI of the sender's CPU and the round trip).
#
#   run.sh [CC]
set -u
here=$(cd "$(dirname "$0")" && pwd)
CC=${1:-${CC:-cc}}
tmp=$(mktemp -d /tmp/merak-irqbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "irq summary: not run (no /dev/kvm)"; exit 0; }
"$CC" -std=gnu11 -O2 -Wall -Wextra -pthread -o "$tmp/irqbench" "$here/irqbench.c" ||
	{ echo "irq summary: not run (irqbench did not build)"; exit 0; }
"$tmp/irqbench" "${BENCH_IRQ_N:-2000}" "${BENCH_IRQ_ROUNDS:-5}" >"$tmp/out" ||
	{ echo "irq summary: not run (irqbench failed)"; exit 0; }
get() { sed -n "s/.*method=$1 .*$2=\([0-9]*\).*/\1/p" "$tmp/out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
printf '%-12s %10s %10s %12s %12s\n' method send_ns vcpu_ns rtt_med_ns rtt_p99_ns
for m in signal_msi irqfd; do
	printf '%-12s %10s %10s %12s %12s\n' "$m" "$(get $m send_ns)" "$(get $m vcpu_ns)" \
		"$(get $m rtt_med_ns)" "$(get $m rtt_p99_ns)"
done
echo "irq summary: signal_msi_send_ns=$(get signal_msi send_ns) irqfd_send_ns=$(get irqfd send_ns)" \
	"signal_msi_rtt_ns=$(get signal_msi rtt_med_ns) irqfd_rtt_ns=$(get irqfd rtt_med_ns)" \
	"send_ratio=$(ratio "$(get irqfd send_ns)" "$(get signal_msi send_ns)")" \
	"rtt_ratio=$(ratio "$(get irqfd rtt_med_ns)" "$(get signal_msi rtt_med_ns)")"
