#!/bin/sh
# merak against Debian's QEMU (-M microvm, KVM) on the same guests, on
# whatever KVM this runs on (bench/run.sh runs it on the host's, or inside the
# nested L1 of tests/nested). Prints table rows: medians of interleaved runs.
#
#   vm-compare.sh MERAK HELLO_GUEST [VMLINUX INITRAMFS CMDLINE_FILE]
#
# A Linux run counts when the kernel's "reboot: Power down" reaches the serial
# port: under QEMU microvm in the nested L1 the init's own lines do not show.
# BENCH_RUNS runs of each, each given BENCH_TIMEOUT seconds (default 120). BENCH_MERAK_LINUX_EXTRA and BENCH_QEMU_LINUX_EXTRA
# are appended to each VMM's Linux command line, and BENCH_QEMU_CPU replaces
# QEMU's "-cpu host": the nested L1 deadlocks a 2-vCPU guest that uses KVM's
# steal time (docs/testing.md), so there merak's guest runs with "nopv" and
# QEMU's with "-cpu host,kvm-steal-time=off" (QEMU microvm's guest hangs
# after "Mountpoint-cache" with "nopv"); the row is then starred.
set -u
MERAK=$1
GUEST=$2
VMLINUX=${3:-}
INITRD=${4:-}
CMDFILE=${5:-}
RUNS=${BENCH_RUNS:-7}
TIME=${GNU_TIME:-/usr/bin/time}
QEMU=$(command -v qemu-system-x86_64 || true)
tmp=$(mktemp -d /tmp/merak-vmcmp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a+0) printf "%.2f", a / b; else print "n/a" }'; }
row() { printf '%-44s %14s %14s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

# timed FILE OUTPUT_PATTERN CMD...: appends "wall_ms cpu_ms maxrss_kb" of one
# run whose serial output (in $tmp/serial) matched the pattern, else "fail".
timed() {
	file=$1 pattern=$2
	shift 2
	: >"$tmp/serial"
	timeout "${BENCH_TIMEOUT:-120}" "$TIME" -f '%e %U %S %M' -o "$tmp/t" "$@" >/dev/null 2>&1 </dev/null
	if grep -q "$pattern" "$tmp/serial"; then
		# (GNU time puts "Command exited with non-zero status N" first.)
		tail -n 1 "$tmp/t" | awk '{printf "%d %d %d\n", $1*1000, ($2+$3)*1000, $4}' >>"$file"
	else
		echo fail >>"$file"
	fi
}

table() { # merak_file qemu_file label_prefix memory_label
	mok=$(grep -vc fail "$1") qok=$(grep -vc fail "$2")
	if [ "$mok" = 0 ] || [ "$qok" = 0 ]; then
		printf '%-44s %s\n' "$3" "not comparable: no run completed (merak $mok, QEMU $qok of $RUNS)"
		return
	fi
	for col in 1:"$3 wall (ms)" 2:"$3 CPU (ms)" 3:"peak RSS, $4 guest (KiB)"; do
		i=${col%%:*}
		row "${col#*:} vs QEMU" "$(grep -v fail "$1" | cut -d' ' -f"$i" | median)" \
			"$(grep -v fail "$2" | cut -d' ' -f"$i" | median)"
	done
	# Medians of the runs that completed; say how many did not.
	[ "$mok" = "$RUNS" ] && [ "$qok" = "$RUNS" ] ||
		echo "  (runs completed: merak $mok, QEMU $qok of $RUNS; the others did not finish within ${BENCH_TIMEOUT:-120} s)"
}

[ -n "$QEMU" ] || { printf '%-44s %s\n' "VMs vs QEMU microvm" "not run: no qemu-system-x86_64"; exit 0; }
[ -x "$TIME" ] || { printf '%-44s %s\n' "VMs vs QEMU microvm" "not run: no $TIME (Debian package time)"; exit 0; }

: >"$tmp/m"
: >"$tmp/q"
for _ in $(seq "$RUNS"); do
	timed "$tmp/m" "hello from" "$MERAK" --kernel "$GUEST" --memory size=64M --serial "file=$tmp/serial"
	timed "$tmp/q" "hello from" "$QEMU" -M microvm,acpi=off -enable-kvm -cpu host -m 64M \
		-nodefaults -no-user-config -display none -serial "file:$tmp/serial" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$GUEST"
done
table "$tmp/m" "$tmp/q" "test guest exec-to-exit" "64 MiB"

[ -n "$VMLINUX" ] || exit 0
cmd="$(cat "$CMDFILE") merak_e2e.cpus=2 merak_e2e.mem=128"
mcmd="$cmd${BENCH_MERAK_LINUX_EXTRA:+ $BENCH_MERAK_LINUX_EXTRA}"
qcmd="$cmd${BENCH_QEMU_LINUX_EXTRA:+ $BENCH_QEMU_LINUX_EXTRA}"
label="tiny Linux, 2 vCPUs, start to power-off"
# Linux without its PV clock calibrates the TSC against a PIT: KVM's here, as
# QEMU microvm's guest does (the test suite tells its guests the frequency).
mplat=""
case " ${BENCH_MERAK_LINUX_EXTRA:-} " in *" nopv "*) mplat="--platform irqchip=kernel" ;; esac
[ "$mcmd" = "$qcmd" ] && [ -z "${BENCH_QEMU_CPU:-}" ] || label="$label*"
: >"$tmp/m"
: >"$tmp/q"
for _ in $(seq "$RUNS"); do
	timed "$tmp/m" "reboot: Power down" "$MERAK" --kernel "$VMLINUX" --initramfs "$INITRD" $mplat \
		--cmdline "$mcmd" --cpus boot=2 --memory size=128M --serial "file=$tmp/serial"
	timed "$tmp/q" "reboot: Power down" "$QEMU" -M microvm -enable-kvm -cpu "${BENCH_QEMU_CPU:-host}" -smp 2 -m 128M \
		-nodefaults -no-user-config -display none -serial "file:$tmp/serial" -no-reboot \
		-kernel "$VMLINUX" -initrd "$INITRD" -append "$qcmd"
done
table "$tmp/m" "$tmp/q" "$label" "128 MiB"
case $label in *\*) echo "* guest PV features differ: merak's guest '${BENCH_MERAK_LINUX_EXTRA:-}'${mplat:+ ($mplat)}, QEMU -cpu ${BENCH_QEMU_CPU:-host} '${BENCH_QEMU_LINUX_EXTRA:-}'" ;; esac
