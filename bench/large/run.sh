#!/bin/bash
# SPDX-License-Identifier: MIT
# Large guests: launch time and VMM memory against guest size and vCPUs.
#   (a) plain VMs on this host's KVM with tests/guest/hang.elf (prints a line,
#       then spins): 64 MiB .. 1 TiB at 1 vCPU, 1 .. 64 vCPUs at 1 GiB;
#   (b) TDs under the TDX simulator (tests/tdxsim, LD_PRELOAD) with Debian's
#       OVMF.fd (TDVF) and with a td-shim-shaped image (tests/tdx-e2e/
#       mk_tdshim.py) booting hello.bzImage: 1 GiB .. 1 TiB, 1 .. 64 vCPUs.
# launch = exec to the guest's first serial line (a TD's scripted guest
# writes it with its first exits, right after FINALIZE and the first
# KVM_RUN); memory from bench/rss.py once that line is out: VmHWM, guest
# memory (merak's guest mappings) and, for plain VMs, vmm = VmHWM - guest.
# Under the simulator the process also holds the simulator's copy of every
# page INIT_MEM_REGION added (4 KiB each, from its FINALIZE line: "sim"),
# which a real KVM keeps in guest_memfd outside merak's RSS, and the
# simulator's own transient copy of each region, so a TD's VmHWM is mostly
# the simulator's: a TD row's vmm is VmRSS - guest - sim - the simulator's
# libraries (libtdxsim and the libcrypto it loads) once launched (the
# launch's transients are in docs/tdx.md). Medians of RUNS runs.
# The last line is one summary line.
#   run.sh [BUILD_DIR]   (default build)
#   RUNS (3), PLAIN_SIZES, PLAIN_CPUS, TD_SIZES, TD_CPUS, OVMF
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bdir=${1:-build}
case $bdir in /*) ;; *) bdir=$root/$bdir ;; esac
MERAK=$bdir/merak
SIM=$bdir/tests/tdxsim/libtdxsim.so
HANG=$bdir/tests/guest/hang.elf
BZ=$bdir/tests/guest/hello.bzImage
OVMF=${OVMF:-/usr/share/ovmf/OVMF.fd}
RUNS=${RUNS:-3}
PLAIN_SIZES=${PLAIN_SIZES:-64M 1G 4G 16G 64G 256G 1T}
PLAIN_CPUS=${PLAIN_CPUS:-1 2 8 16 32 64}
TD_SIZES=${TD_SIZES:-1G 4G 16G 64G 256G 1T}
TD_CPUS=${TD_CPUS:-1 2 8 16 32 64}
# The simulator's own libraries are not merak's (libcrypto: its MRTD), unless merak links them too.
SIM_LIBS="--exclude-lib libtdxsim.so"
for l in $(ldd "$SIM" 2>/dev/null | awk '/=>/ {print $1}'); do
	case $l in libc.so*) continue ;; esac
	ldd "$MERAK" 2>/dev/null | grep -q "^[[:space:]]*$l " || SIM_LIBS="$SIM_LIBS --exclude-lib $l"
done
RSS="python3 $root/bench/rss.py --interval 0 --settle 50 --timeout 60 --kv"
tmp=$(mktemp -d /tmp/merak-large.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

kv() { # KEY LINE
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

# row KIND LABEL SIM(0|1) -- merak args; prints one table row and appends
# "kind launch vmm" to $tmp/summary.
row() {
	local kind=$1 label=$2 sim=$3 i line l h g v s r ok=0
	shift 4
	: >"$tmp/l"
	: >"$tmp/h"
	: >"$tmp/g"
	: >"$tmp/v"
	: >"$tmp/s"
	: >"$tmp/r"
	for ((i = 0; i < RUNS; i++)); do
		if [ "$sim" = 1 ]; then
			rm -f "$tmp/sim.log"
			line=$(TDXSIM_LOG=$tmp/sim.log TDXSIM_SCRIPT=$tmp/td.script TDXSIM_MAX_VCPUS=64 \
				LD_PRELOAD=$SIM $RSS $SIM_LIBS -- "$MERAK" "$@" --serial tty --seccomp log 2>&1 |
				tail -n 1)
			s=$(sed -n 's/^FINALIZE pages_added=\([0-9]*\).*-> 0$/\1/p' "$tmp/sim.log" 2>/dev/null | head -n 1)
			s=$(( ${s:-0} * 4 ))
		else
			line=$($RSS -- "$MERAK" "$@" --serial tty 2>&1 | tail -n 1)
			s=0
		fi
		l=$(kv first_line_ms "$line")
		if [ -z "$l" ] || [ "$l" = -1 ]; then
			echo "$(printf '%-7s %-26s' "$kind" "$label") failed: ${line:0:160}" >&2
			continue
		fi
		ok=1
		echo "$l" >>"$tmp/l"
		kv hwm_kib "$line" >>"$tmp/h"
		kv guest_kib "$line" >>"$tmp/g"
		if [ "$sim" = 1 ]; then
			echo $(($(kv vmm_now_kib "$line") - s)) >>"$tmp/v"
		else
			kv vmm_peak_kib "$line" >>"$tmp/v"
		fi
		kv rss_kib "$line" >>"$tmp/r"
		echo "$s" >>"$tmp/s"
	done
	if [ $ok = 0 ]; then
		printf '%-7s %-26s %10s\n' "$kind" "$label" "failed"
		return
	fi
	l=$(median <"$tmp/l")
	h=$(median <"$tmp/h")
	g=$(median <"$tmp/g")
	v=$(median <"$tmp/v")
	s=$(median <"$tmp/s")
	r=$(median <"$tmp/r")
	printf '%-7s %-26s %10s %10s %10s %10s %8s %10s\n' "$kind" "$label" "$l" "$h" "$r" "$g" "$s" "$v"
	echo "$kind $l $v" >>"$tmp/summary"
}

header() {
	printf '%-7s %-26s %10s %10s %10s %10s %8s %10s\n' kind "guest" "launch ms" "VmHWM KiB" \
		"VmRSS KiB" "guest KiB" "sim KiB" "vmm KiB"
}

for f in "$MERAK" "$HANG"; do
	[ -e "$f" ] || { echo "missing $f (build first: meson setup BUILD_DIR && ninja -C BUILD_DIR)"; exit 1; }
done
: >"$tmp/summary"
echo "merak large guests, $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
header

# (a) plain VMs on the host's KVM.
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	for m in $PLAIN_SIZES; do
		row plain "hang ${m} 1 vCPU" 0 -- --kernel "$HANG" --memory size=$m --cpus boot=1
	done
	for c in $PLAIN_CPUS; do
		row plain "hang 1G ${c} vCPU" 0 -- --kernel "$HANG" --memory size=1G --cpus boot=$c
	done
else
	echo "plain   not run: /dev/kvm is not usable here"
fi

# (b) TDs under the simulator: the scripted guest prints "A" and halts.
printf 'pio out 0x3f8 1 0x41\npio out 0x3f8 1 0x0a\nhalt\n' >"$tmp/td.script"
if [ -e "$SIM" ] && [ -e "$OVMF" ]; then
	for m in $TD_SIZES; do
		row td "tdvf ${m} 1 vCPU" 1 -- --platform tdx=on --firmware "$OVMF" --memory size=$m \
			--cpus boot=1
	done
	for c in $TD_CPUS; do
		row td "tdvf 1G ${c} vCPU" 1 -- --platform tdx=on --firmware "$OVMF" --memory size=1G \
			--cpus boot=$c
	done
	if [ -e "$BZ" ] && python3 "$root/tests/tdx-e2e/mk_tdshim.py" "$tmp/shim.bin" >/dev/null 2>&1; then
		for m in 1G 1T; do
			row td "td-shim ${m} 1 vCPU" 1 -- --platform tdx=on --firmware "$tmp/shim.bin" \
				--kernel "$BZ" --cmdline console=ttyS0 --memory size=$m --cpus boot=1
		done
	fi
else
	echo "td      not run: $SIM or $OVMF missing"
fi

awk '
function upd(k, l, v) {
	if (!(k in n)) { lmin[k] = lmax[k] = l; vmin[k] = vmax[k] = v; n[k] = 1; return }
	if (l < lmin[k]) lmin[k] = l; if (l > lmax[k]) lmax[k] = l
	if (v < vmin[k]) vmin[k] = v; if (v > vmax[k]) vmax[k] = v
}
{ upd($1, $2 + 0, $3 + 0) }
END {
	p = ("plain" in n) ? sprintf("plain vmm-rss %d-%d KiB, launch %.0f-%.0f ms", vmin["plain"], vmax["plain"], lmin["plain"], lmax["plain"]) : "plain not run"
	t = ("td" in n) ? sprintf("TD vmm-rss after launch %d-%d KiB, launch %.0f-%.0f ms", vmin["td"], vmax["td"], lmin["td"], lmax["td"]) : "TD not run"
	printf "large guests: %s; %s\n", p, t
}' "$tmp/summary"
