#!/bin/bash
# SPDX-License-Identifier: MIT
# End-to-end TD launches: the real merak binary under tdxsim (LD_PRELOAD), which
# simulates a TDX-capable KVM and plays a script of guest exits.
# Prints TAP (tests/lib/tap.sh): one line per case, the plan last.
# usage: run.sh [BUILD_DIR]   (default: build)
#   TDXSIM_KERNEL  one simulated kernel version (docs/tdxsim.md); unset: the
#                  suite runs once per version (TDXSIM_KERNELS, default all),
#                  each case named [VERSION] NAME
#   MERAK       merak binary            (default: BUILD_DIR/merak)
#   TDXSIM_LIB  libtdxsim.so            (default: BUILD_DIR/tests/tdxsim/libtdxsim.so)
#   OVMF        TDVF image              (default: /usr/share/ovmf/OVMF.fd)
#   KERNEL      bzImage for td-shim     (default: BUILD_DIR/tests/guest/hello.bzImage)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bdir=${1:-build}
case $bdir in /*) ;; *) bdir=$root/$bdir ;; esac
MERAK=${MERAK:-$bdir/merak}
TDXSIM_LIB=${TDXSIM_LIB:-$bdir/tests/tdxsim/libtdxsim.so}
OVMF=${OVMF:-/usr/share/ovmf/OVMF.fd}
KERNEL=${KERNEL:-$bdir/tests/guest/hello.bzImage}
work=$(mktemp -d /tmp/merak-tdx-e2e.XXXXXX)
qgs_pid=
. "$root/tests/lib/tap.sh"

cleanup() {
	[ -n "$qgs_pid" ] && kill "$qgs_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${TDXSIM_KERNEL:-}" ]; then
	for k in ${TDXSIM_KERNELS:-6.16 kvm-x86-6.17 6.19 next}; do
		planned=0
		while IFS= read -r line; do
			case $line in
			'not ok '*) tap_fail "[$k] ${line#not ok * - }" ;;
			'ok '*) tap_pass "[$k] ${line#ok * - }" ;;
			'1..'*) planned=1 ;;
			*) printf '%s\n' "$line" ;;
			esac
		done < <(TDXSIM_KERNEL=$k bash "$0" "$bdir")
		[ $planned = 1 ] || tap_fail "[$k] suite" "stopped before its plan line"
	done
	tap_done
	exit
fi

for f in "$MERAK" "$TDXSIM_LIB" "$OVMF" "$KERNEL"; do
	if [ ! -e "$f" ]; then
		tap_fail setup "$f is missing"
		tap_done
		exit 1
	fi
done

result() { # name ok why
	if [ "$2" = 1 ]; then
		tap_pass "$1"
	else
		tap_fail "$1" "$3"
		[ -n "${VERBOSE:-}" ] && { sed 's/^/# log: /' "$work/$1.log"; sed 's/^/# err: /' "$work/$1.err"; }
	fi
	return 0
}

# run_td NAME SCRIPT [extra --platform options] ; sets rc
# The simulator lives inside merak's process and makes system calls a real
# kernel would not need from it (process_vm_readv to check pointers,
# rt_sigpending to emulate a signal interrupting KVM_RUN), so merak's seccomp
# filters run in log mode here rather than being widened for the simulator.
run_td() {
	local name=$1 script=$2 plat=tdx=on${3:+,$3}
	printf '%s\n' "$script" >"$work/$name.script"
	rm -f "$work/$name.log"
	TDXSIM_LOG="$work/$name.log" TDXSIM_SCRIPT="$work/$name.script" LD_PRELOAD="$TDXSIM_LIB" \
		timeout -k 5 60 "$MERAK" --platform "$plat" --firmware "$OVMF" --cpus boot=2 \
		--memory size=256M --serial null --seccomp log --log-level debug \
		>"$work/$name.out" 2>"$work/$name.err"
	rc=$?
	touch "$work/$name.log"
}

clean_summary() { grep -q 'SUMMARY violations=0 expect_failures=0' "$work/$1.log"; }

# The launch steps in the kernel's order (docs/tdx.md), each once or more.
check_order() {
	local log=$work/$1.log last=0 n
	for pat in '^CREATE_VM type=5' '^CAPS ' '^ENABLE_CAP cap=121 ' '^ENABLE_CAP cap=201 args0=0x1000' \
		'^GMEM ' '^MEMSLOT ' '^ATTR .* private' '^ENABLE_CAP cap=237 args0=0x28' '^INIT_VM attrs' \
		'^CREATE_VCPU ' '^SET_CPUID2 .*x2apic=1' '^INIT_VCPU vcpu=1' '^INIT_MEM_REGION ' '^FINALIZE '; do
		n=$(grep -n -m1 -E "$pat" "$log" | cut -d: -f1)
		if [ -z "$n" ] || [ "$n" -le "$last" ]; then
			echo "step /$pat/ missing or out of order"
			return 1
		fi
		last=$n
	done
	return 0
}

# 1. Plain launch, GetTdVmCallInfo, then the guest powers off.
run_td launch "tdx get_tdvmcall_info 1
expect-ret 0
expect-reg r11 0x2
shutdown"
why=$(check_order launch)
ok=0
if [ $rc -eq 0 ] && [ -z "$why" ] && clean_summary launch; then ok=1; fi
result launch-shutdown $ok "rc=$rc ${why:-$(tail -1 "$work/launch.err")}"

# 1b. SIGTERM to a TD that ignores the power button: the grace period, then
#     one line saying its registers cannot be read (KVM_GET_REGS on a TD vCPU
#     is refused; the simulator calls any such call a violation), exit 143.
printf '%s\n' "halt" >"$work/sigterm.script"
TDXSIM_LOG="$work/sigterm.log" TDXSIM_SCRIPT="$work/sigterm.script" LD_PRELOAD="$TDXSIM_LIB" \
	"$MERAK" --platform tdx=on --firmware "$OVMF" --cpus boot=2 --memory size=256M \
	--serial null --seccomp log >"$work/sigterm.out" 2>"$work/sigterm.err" &
td_pid=$!
n=0
while ! grep -q '^FINALIZE ' "$work/sigterm.log" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
sleep 0.5
kill -TERM "$td_pid"
wait "$td_pid"
rc=$?
ok=0
if [ $rc -eq 143 ] && [ "$(grep -c 'cannot be shown' "$work/sigterm.err")" = 1 ] &&
	grep -q "the TD's 2 vCPU(s) cannot be shown" "$work/sigterm.err" &&
	! grep -q 'state not readable' "$work/sigterm.err" &&
	grep -q 'did not power off within 10 s' "$work/sigterm.err" && clean_summary sigterm; then
	ok=1
fi
result td-sigterm-grace $ok "rc=$rc $(tail -n 2 "$work/sigterm.err" | tr '\n' ' ') $(grep -m1 VIOLATION "$work/sigterm.log")"

# 2. MRTD: what the simulated TDX module computed equals merak measure's prediction.
sim_mrtd=$(sed -n 's/^MRTD //p' "$work/launch.log")
pred=$("$MERAK" measure --firmware "$OVMF" --memory 256M 2>/dev/null | sed -n 's/^MRTD: \([0-9a-f]*\).*/\1/p')
ok=0
[ -n "$sim_mrtd" ] && [ "$sim_mrtd" = "$pred" ] && ok=1
result mrtd-matches-measure $ok "simulator '$sim_mrtd' vs measure '$pred'"

# GetQuote: a shared buffer at 0x100000 (shared alias 0x800000100000), 64-byte report.
report=$(for i in $(seq 0 63); do printf '%02x' "$i"; done)
rreport=$(for i in $(seq 63 -1 0); do printf '%02x' "$i"; done)
quote_prologue="mapgpa 0x100000 2 shared
expect-status 0
tdx setup_event_notify 0x40
expect-ret 0
write-mem 0x100000 010000000000000000000000000000004000000000000000
write-mem 0x100018 $report
tdx getquote 0x100000 0x2000
expect-ret 0x8000000000000000
tdx getquote 0x800000100000 0x2000
expect-ret 0"

start_qgs() { # mode
	rm -f "$work/qgs.sock"
	python3 "$here/fake_qgs.py" "$work/qgs.sock" "$1" >"$work/qgs.out" 2>&1 &
	qgs_pid=$!
	for _ in $(seq 50); do [ -S "$work/qgs.sock" ] && break; sleep 0.1; done
}
stop_qgs() { kill "$qgs_pid" 2>/dev/null; wait "$qgs_pid" 2>/dev/null; qgs_pid=; }

# 3. GetQuote against the fake QGS: quote written, status 0 last, notify MSI.
start_qgs ok
run_td quote "$quote_prologue
wait-mem 0x100008 0 10000
expect-mem 0x100014 45000000
expect-mem 0x100018 51554f5445$rreport
wait-msi 0x40 5000
shutdown" "quote-socket=unix:$work/qgs.sock"
stop_qgs
ok=0
[ $rc -eq 0 ] && clean_summary quote && grep -q 'tdx\.tdvmcall_get_quote = 1$' "$work/quote.err" &&
	grep -q 'tdx\.tdvmcall_setup_event_notify_interrupt = 1$' "$work/quote.err" && ok=1
result getquote $ok "rc=$rc $(grep -m1 -E 'EXPECT-FAIL|VIOLATION' "$work/quote.log")"

# 4. GetQuote when QGS answers with an error code: GET_QUOTE_ERROR.
start_qgs error
run_td quote-err "$quote_prologue
wait-mem-ne 0x100008 0xffffffffffffffff 10000
expect-mem 0x100008 0000000000000080
shutdown" "quote-socket=unix:$work/qgs.sock"
stop_qgs
ok=0
[ $rc -eq 0 ] && clean_summary quote-err && ok=1
result getquote-qgs-error $ok "rc=$rc $(grep -m1 -E 'EXPECT-FAIL|VIOLATION' "$work/quote-err.log")"

# 5. GetQuote without quote-socket: QGS_UNAVAILABLE at once.
run_td quote-none "$quote_prologue
expect-mem 0x100008 0100000000000080
shutdown"
ok=0
[ $rc -eq 0 ] && clean_summary quote-none && ok=1
result getquote-no-qgs $ok "rc=$rc $(grep -m1 -E 'EXPECT-FAIL|VIOLATION' "$work/quote-none.log")"

# 6. MapGPA both ways, and an MMIO hole made shared (success without memory).
run_td mapgpa "mapgpa 0x200000 512 shared
expect-status 0
expect-attr 0x200000 0x200000 shared
mapgpa 0x200000 512 private
expect-status 0
expect-attr 0x200000 0x200000 private
mapgpa 0xfec00000 1 shared
expect-status 0
shutdown"
ok=0
# merak's counters (printed at exit with --log-level debug) saw each conversion.
counted() { grep -q "tdx\.$2 = $3\$" "$work/$1.err"; }
[ $rc -eq 0 ] && clean_summary mapgpa && grep -q '^GMEM_FALLOCATE' "$work/mapgpa.log" &&
	counted mapgpa to_shared 2 && counted mapgpa to_private 1 &&
	counted mapgpa to_private_bytes 2097152 && counted mapgpa to_shared_bytes 2101248 && ok=1
result mapgpa-both-ways $ok "rc=$rc $(grep -m1 -E 'EXPECT-FAIL|VIOLATION' "$work/mapgpa.log")"

# 7. Implicit conversions through memory faults.
run_td memfault "memfault 0x300000 0x1000 shared
expect-attr 0x300000 0x1000 shared
memfault 0x300000 0x1000 private
expect-attr 0x300000 0x1000 private
shutdown"
ok=0
[ $rc -eq 0 ] && clean_summary memfault && counted memfault to_shared 1 &&
	counted memfault to_private 1 && counted memfault to_shared_bytes 4096 && ok=1
result memory-faults $ok "rc=$rc $(grep -m1 -E 'EXPECT-FAIL|VIOLATION' "$work/memfault.log")"

# 8. ReportFatalError: the guest-crash exit status (3) with the code and message printed.
run_td fatal "fatal 0x12340000 boom"
ok=0
[ $rc -eq 3 ] && grep -q "TD reported a fatal error: code 0x0000000012340000 message 'boom'" \
	"$work/fatal.err" "$work/fatal.out" && ok=1
result fatal-error $ok "rc=$rc $(tail -1 "$work/fatal.err")"

# 9. A host without TDX: clear error, exit 1, no guest memory.
TDXSIM_NO_TDX=1 run_td notdx "shutdown"
ok=0
[ $rc -eq 1 ] && grep -q 'KVM_CAP_VM_TYPES lacks KVM_X86_TDX_VM' "$work/notdx.err" &&
	! grep -qE '^(GMEM|MEMSLOT|CREATE_VM type=5)' "$work/notdx.log" && ok=1
result no-tdx-host $ok "rc=$rc $(tail -1 "$work/notdx.err")"

# 10. merak tdx-caps under the simulator, and on a host without TDX.
TDXSIM_LOG="$work/caps.log" LD_PRELOAD="$TDXSIM_LIB" "$MERAK" tdx-caps >"$work/caps.out" 2>&1
rc=$?
ok=0
[ $rc -eq 0 ] && grep -q 'TD attributes (0x0000000010000000): SEPT_VE_DISABLE' "$work/caps.out" && ok=1
result tdx-caps $ok "rc=$rc $(head -1 "$work/caps.out")"
TDXSIM_NO_TDX=1 TDXSIM_LOG="$work/caps2.log" LD_PRELOAD="$TDXSIM_LIB" "$MERAK" tdx-caps >"$work/caps2.out" 2>&1
rc=$?
ok=0
[ $rc -eq 1 ] && grep -q 'KVM_CAP_VM_TYPES lacks KVM_X86_TDX_VM' "$work/caps2.out" && ok=1
result tdx-caps-no-tdx $ok "rc=$rc $(head -1 "$work/caps2.out")"

# ---- td-shim-shaped image (tests/tdx-e2e/mk_tdshim.py; no td-shim bytes) ----
# run_fw NAME SCRIPT FIRMWARE [merak options...] ; sets rc. The simulator dumps
# every INIT_MEM_REGION source into $work/NAME.dump.
run_fw() {
	local name=$1 script=$2 fw=$3
	shift 3
	printf '%s\n' "$script" >"$work/$name.script"
	rm -rf "$work/$name.log" "$work/$name.dump"
	mkdir -p "$work/$name.dump"
	TDXSIM_LOG="$work/$name.log" TDXSIM_SCRIPT="$work/$name.script" TDXSIM_DUMP_DIR="$work/$name.dump" \
		LD_PRELOAD="$TDXSIM_LIB" timeout 60 "$MERAK" --platform tdx=on --firmware "$fw" \
		--cpus boot=2 --serial null --seccomp log "$@" >"$work/$name.out" 2>"$work/$name.err"
	rc=$?
	touch "$work/$name.log"
}
measure_val() { # REGISTER args... : the value merak measure prints for MRTD/RTMR0/RTMR1
	local reg=$1
	shift
	"$MERAK" measure "$@" 2>/dev/null | sed -n "s/^$reg: \([0-9a-f]\{96\}\).*/\1/p"
}
# The INIT_MEM_REGION GPAs and flags, one "gpa flags" per line, in call order
# (a section retried by KVM shows up once per call; keep the first of a run).
mem_regions() {
	sed -n 's/^INIT_MEM_REGION vcpu=[0-9]* gpa=\(0x[0-9a-f]*\) pages=[0-9]* flags=\(0x[0-9a-f]*\).*/\1 \2/p' \
		"$work/$1.log" | uniq
}

shim=$work/tdshim.fd
shim_ext=$work/tdshim-ext.fd
shim_ptr=$work/tdshim-ptr.fd
cmdline="console=ttyS0 tdshim=1 root=/dev/vda1"
python3 "$here/mk_tdshim.py" "$shim"
python3 "$here/mk_tdshim.py" --payload-attr 1 --payload-size 0x200000 "$shim_ext"
python3 "$here/mk_tdshim.py" --no-table "$shim_ptr"
printf '%s\0' "$cmdline" >"$work/param.bin"

# 11. Launch a td-shim-shaped image with --kernel/--cmdline: kernel order, one
#     INIT_MEM_REGION per section in metadata order, measured only for BFV.
run_fw tdshim "shutdown" "$shim" --kernel "$KERNEL" --cmdline "$cmdline" --memory size=128M
why=$(check_order tdshim)
regions=$(mem_regions tdshim | tr '\n' ' ')
want="0xfff20000 0x1 0xfff00000 0x0 0xfff10000 0x0 0x800000 0x0 0x861000 0x0 0x860000 0x0 "
[ -z "$why" ] && [ "$regions" != "$want" ] && why="INIT_MEM_REGION order '$regions', want '$want'"
ok=0
[ $rc -eq 0 ] && [ -z "$why" ] && clean_summary tdshim && ok=1
result tdshim-launch $ok "rc=$rc ${why:-$(tail -1 "$work/tdshim.err")}"

# 12. The simulator's MRTD (per page, as KVM) equals merak measure for the same inputs.
sim_mrtd=$(sed -n 's/^MRTD //p' "$work/tdshim.log")
pred=$(measure_val MRTD --firmware "$shim" --kernel "$KERNEL" --cmdline "$cmdline" --memory 128M)
ok=0
[ -n "$sim_mrtd" ] && [ "$sim_mrtd" = "$pred" ] && ok=1
result tdshim-mrtd-matches-measure $ok "simulator '$sim_mrtd' vs measure '$pred'"

# 13. The Payload/PayloadParam bytes the simulator received are the kernel and the
#     command line zero-padded, the HOB has td-shim's payload info HOB, and the
#     RTMR0/RTMR1 an independent script derives from those bytes equal merak measure's.
ref=$(python3 "$here/tdshim_ref.py" "$shim" "$work/tdshim.dump" "$KERNEL" "$cmdline" 2>&1)
r0=$(measure_val RTMR0 --firmware "$shim" --kernel "$KERNEL" --cmdline "$cmdline" --memory 128M)
r1=$(measure_val RTMR1 --firmware "$shim" --kernel "$KERNEL" --cmdline "$cmdline" --memory 128M)
ok=0
[ -n "$r0" ] && [ "$ref" = "RTMR0 $r0
RTMR1 $r1" ] && ok=1
result tdshim-payload-bytes-and-rtmrs $ok "reference '$ref' vs measure RTMR0 '$r0' RTMR1 '$r1'"

# 14. Payload with MR.EXTEND: the kernel is in MRTD (simulator = measure = reference),
#     and td-shim then leaves it out of RTMR1.
run_fw tdshim-ext "shutdown" "$shim_ext" --kernel "$KERNEL" --cmdline "$cmdline" --memory size=128M
sim_mrtd=$(sed -n 's/^MRTD //p' "$work/tdshim-ext.log")
pred=$(measure_val MRTD --firmware "$shim_ext" --kernel "$KERNEL" --cmdline "$cmdline" --memory 128M)
refm=$(python3 "$root/tests/tdxsim/mrtd_ref.py" --order per-page --payload "$KERNEL" \
	--param "$work/param.bin" "$shim_ext")
ref=$(python3 "$here/tdshim_ref.py" "$shim_ext" "$work/tdshim-ext.dump" "$KERNEL" "$cmdline" 2>&1)
r1=$(measure_val RTMR1 --firmware "$shim_ext" --kernel "$KERNEL" --cmdline "$cmdline" --memory 128M)
nodigest=$("$MERAK" measure --firmware "$shim_ext" --kernel "$KERNEL" --cmdline "$cmdline" | grep -c td_payload\))
ok=0
[ $rc -eq 0 ] && [ -n "$sim_mrtd" ] && [ "$sim_mrtd" = "$pred" ] && [ "$pred" = "$refm" ] &&
	[ "${ref#*RTMR1 }" = "$r1" ] && [ "$nodigest" = 0 ] && ok=1
result tdshim-payload-mr-extend $ok "rc=$rc sim '$sim_mrtd' measure '$pred' ref '$refm' rtmr1 '$r1' vs '${ref#*RTMR1 }'"

# 15. --order two-pass against the independent two-pass reference, for Debian's
#     OVMF and the td-shim images (the simulator itself stays per page like KVM).
for fw in "$OVMF" "$shim" "$shim_ext"; do
	name=two-pass-$(basename "$fw")
	pred=$(measure_val MRTD --firmware "$fw" --order two-pass --kernel "$KERNEL" --cmdline "$cmdline")
	[ "$fw" = "$OVMF" ] && pred=$(measure_val MRTD --firmware "$fw" --order two-pass)
	refm=$(python3 "$root/tests/tdxsim/mrtd_ref.py" --order two-pass --payload "$KERNEL" \
		--param "$work/param.bin" "$fw")
	pp=$(python3 "$root/tests/tdxsim/mrtd_ref.py" --order per-page --payload "$KERNEL" \
		--param "$work/param.bin" "$fw")
	ok=0
	[ -n "$pred" ] && [ "$pred" = "$refm" ] && [ "$pred" != "$pp" ] && ok=1
	result "$name" $ok "measure '$pred' vs reference '$refm'"
done

# 16. An image located only through td-shim's own pointer at size-0x20.
pred=$(measure_val MRTD --firmware "$shim_ptr" --kernel "$KERNEL")
refm=$(python3 "$root/tests/tdxsim/mrtd_ref.py" "$shim_ptr")
ok=0
[ -n "$pred" ] && [ "$pred" = "$refm" ] && ok=1
result tdshim-legacy-pointer $ok "measure '$pred' vs reference '$refm'"

# 17. TDVF direct boot: --kernel/--cmdline reach the firmware through fw_cfg.
# The script plays TDVF's port reads: signature, features, the command line
# size and first byte, the kernel size (the bzImage minus its setup sectors).
fk=$bdir/tests/guest/hello.bzImage
fcmd="merak-fwcfg console=hvc0"
ksize=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); s=d[0x1f1] or 4; print(len(d)-(s+1)*512)' "$fk")
fwcfg_script="pio out 0x510 2 0x0
pio in 0x511 1
expect-data 0x51
pio in 0x511 1
expect-data 0x45
pio out 0x510 2 0x1
pio in 0x511 1
expect-data 0x3
pio out 0x510 2 0x14
pio in 0x511 1
expect-data $(( ${#fcmd} + 1 ))
pio out 0x510 2 0x15
pio in 0x511 1
expect-data 0x6d
pio out 0x510 2 0x8
pio in 0x511 1
expect-data $((ksize & 255))
pio in 0x511 1
expect-data $(((ksize >> 8) & 255))
pio in 0x511 1
expect-data $(((ksize >> 16) & 255))
shutdown"
printf '%s\n' "$fwcfg_script" >"$work/fwcfg.script"
TDXSIM_LOG="$work/fwcfg.log" TDXSIM_SCRIPT="$work/fwcfg.script" LD_PRELOAD="$TDXSIM_LIB" \
	timeout 60 "$MERAK" --platform tdx=on --firmware "$OVMF" --kernel "$fk" --cmdline "$fcmd" \
	--cpus boot=1 --memory size=256M --serial null --seccomp log >"$work/fwcfg.out" 2>"$work/fwcfg.err"
rc=$?
touch "$work/fwcfg.log"
ok=0
[ $rc -eq 0 ] && clean_summary fwcfg && ok=1
result tdvf-fwcfg-kernel $ok "rc=$rc $(grep -h -m1 EXPECT-FAIL "$work/fwcfg.log") $(tail -1 "$work/fwcfg.err")"

# ---- td-shim's TD_INFO/TD_PARAMS and PermMem sections (mk_tdshim.py options) ----
# hob_ranges NAME: "start:length:type" for each resource descriptor of the TD HOB
# the simulator received at td-shim's TD_HOB GPA 0x800000.
hob_ranges() {
	python3 - "$work/$1.dump/gpa-0000000000800000.bin" <<'EOF'
import struct, sys
hob, off = open(sys.argv[1], "rb").read(), 0
while True:
    typ, length = struct.unpack_from("<HH", hob, off)
    if typ == 0xFFFF:
        break
    if typ == 3:
        rtype, _, start, size = struct.unpack_from("<IIQQ", hob, off + 24)
        print("0x%x:0x%x:%d" % (start, size, rtype))
    off += length
EOF
}

# 18. TD_INFO and TD_PARAMS: metadata only, their bytes in the BFV. The launch
#     adds exactly the sections of the plain image, and MRTD (simulator =
#     measure = reference) has no contribution of their own.
shim_info=$work/tdshim-info.fd
python3 "$here/mk_tdshim.py" --td-info --td-params "$shim_info"
run_fw tdshim-info "shutdown" "$shim_info" --kernel "$KERNEL" --cmdline "$cmdline" --memory size=128M
regions=$(mem_regions tdshim-info | tr '\n' ' ')
sim_mrtd=$(sed -n 's/^MRTD //p' "$work/tdshim-info.log")
pred=$(measure_val MRTD --firmware "$shim_info" --kernel "$KERNEL" --cmdline "$cmdline" --memory 128M)
refm=$(python3 "$root/tests/tdxsim/mrtd_ref.py" --order per-page --payload "$KERNEL" \
	--param "$work/param.bin" "$shim_info")
ok=0
[ $rc -eq 0 ] && clean_summary tdshim-info && [ "$regions" = "$want" ] && [ -n "$sim_mrtd" ] &&
	[ "$sim_mrtd" = "$pred" ] && [ "$pred" = "$refm" ] &&
	grep -q 'carries a TD_PARAMS section' "$work/tdshim-info.err" && ok=1
result tdshim-td-info-td-params $ok "rc=$rc regions '$regions' sim '$sim_mrtd' measure '$pred' ref '$refm' $(tail -1 "$work/tdshim-info.err")"

# 19. PermMem outside RAM (8 GiB, RAM is 128 MiB): backed by a guest_memfd region
#     of its own, never added, described in the HOB as unaccepted memory; the
#     guest's accept there gets pages (the simulator AUGs them, as KVM).
shim_perm=$work/tdshim-perm.fd
python3 "$here/mk_tdshim.py" --perm-mem 0x200000000:0x200000 "$shim_perm"
run_fw tdshim-perm "accept 0x200000000 0x200000
shutdown" "$shim_perm" --kernel "$KERNEL" --cmdline "$cmdline" --memory size=128M
hob=$(hob_ranges tdshim-perm 2>&1 | tr '\n' ' ')
sim_mrtd=$(sed -n 's/^MRTD //p' "$work/tdshim-perm.log")
pred=$(measure_val MRTD --firmware "$shim_perm" --kernel "$KERNEL" --cmdline "$cmdline" --memory 128M)
ok=0
[ $rc -eq 0 ] && clean_summary tdshim-perm && [ "$(grep -c '^GMEM ' "$work/tdshim-perm.log")" = 3 ] &&
	grep -q 'accepted \[0x200000000, +0x200000) (PAGE.AUG)' "$work/tdshim-perm.log" &&
	! grep -q '^INIT_MEM_REGION .*gpa=0x200000000' "$work/tdshim-perm.log" &&
	[ "${hob##* 0x200000000:0x200000:7 }" != "$hob" ] && [ -n "$sim_mrtd" ] && [ "$sim_mrtd" = "$pred" ] && ok=1
result tdshim-permmem-outside-ram $ok "rc=$rc hob '$hob' sim '$sim_mrtd' measure '$pred' $(grep -m1 -E 'EXPECT-FAIL|VIOLATION' "$work/tdshim-perm.log") $(tail -1 "$work/tdshim-perm.err")"

# 20. PermMem inside RAM: RAM already backs it; no region or HOB entry of its own.
shim_perm_ram=$work/tdshim-perm-ram.fd
python3 "$here/mk_tdshim.py" --perm-mem 0x4000000:0x200000 "$shim_perm_ram"
run_fw tdshim-perm-ram "accept 0x4000000 0x200000
shutdown" "$shim_perm_ram" --kernel "$KERNEL" --cmdline "$cmdline" --memory size=128M
hob=$(hob_ranges tdshim-perm-ram 2>&1 | tr '\n' ' ')
ok=0
[ $rc -eq 0 ] && clean_summary tdshim-perm-ram && [ "$(grep -c '^GMEM ' "$work/tdshim-perm-ram.log")" = 2 ] &&
	grep -q 'accepted \[0x4000000, +0x200000) (PAGE.AUG)' "$work/tdshim-perm-ram.log" &&
	[ "${hob#*0x4000000:}" = "$hob" ] && ok=1
result tdshim-permmem-in-ram $ok "rc=$rc hob '$hob' $(tail -1 "$work/tdshim-perm-ram.err")"

# 21. PermMem in the board's MMIO window: refused by the launch before any guest
#     memory, and by merak measure with the same reason.
shim_perm_mmio=$work/tdshim-perm-mmio.fd
python3 "$here/mk_tdshim.py" --perm-mem 0xc0000000:0x200000 "$shim_perm_mmio"
run_fw tdshim-perm-mmio "shutdown" "$shim_perm_mmio" --kernel "$KERNEL" --memory size=128M
"$MERAK" measure --firmware "$shim_perm_mmio" --kernel "$KERNEL" --memory 128M \
	>/dev/null 2>"$work/perm-mmio-measure.err"
mrc=$?
why="overlaps the board's MMIO window"
ok=0
[ $rc -eq 1 ] && [ $mrc -eq 1 ] && grep -q "$why" "$work/tdshim-perm-mmio.err" &&
	grep -q "$why" "$work/perm-mmio-measure.err" && ! grep -q '^GMEM ' "$work/tdshim-perm-mmio.log" && ok=1
result tdshim-permmem-mmio-refused $ok "rc=$rc measure rc=$mrc $(tail -1 "$work/tdshim-perm-mmio.err") / $(tail -1 "$work/perm-mmio-measure.err")"

# ---- kernel versions, memory errors, teardown (docs/tdxsim.md) ----
# A hardware-poisoned page behind a guest access (KVM_RUN: -1/EHWPOISON with the
# memory-fault exit): no conversion helps, so merak stops the TD with a memory
# error naming the GPA (exit 3, guest crash class) and never re-enters the vCPU.
run_td hwpoison "hwpoison 0x300000 0x1000 private
shutdown"
ok=0
[ $rc -eq 3 ] && grep -q 'memory error.*private GPA 0x300000 (+0x1000) is hardware-poisoned' \
	"$work/hwpoison.err" && [ "$(grep -c '(-EHWPOISON)' "$work/hwpoison.log")" = 1 ] &&
	clean_summary hwpoison && ok=1
result hwpoison-stops $ok "rc=$rc $(tail -1 "$work/hwpoison.err") $(grep -m1 -E 'EXPECT-FAIL|WARNING' "$work/hwpoison.log")"

# -EBUSY, three times, from whichever sub-command this kernel can answer it
# with (TDXSIM_INJECT_BUSY): retried, and the launch goes on.
TDXSIM_INJECT_BUSY=3 run_td busy "shutdown"
ok=0
[ $rc -eq 0 ] && [ "$(grep -c -- '-> -EBUSY (TDXSIM_INJECT_BUSY' "$work/busy.log")" = 3 ] &&
	clean_summary busy && ok=1
result busy-retried $ok "rc=$rc $(tail -1 "$work/busy.err")"

# A kernel that never stops answering -EBUSY: an error within seconds, not a hang.
TDXSIM_INJECT_BUSY=1000000000 run_td busy-forever "shutdown"
ok=0
[ $rc -eq 1 ] && grep -q 'Device or resource busy' "$work/busy-forever.err" && ok=1
result busy-bounded $ok "rc=$rc $(tail -1 "$work/busy-forever.err")"

# Teardown: KVM_TDX_TERMINATE_VM where the kernel has it (kvm-x86-6.17), so the
# guest_memfds close with the HKID released; elsewhere one probe answered
# -EINVAL (no violation) and the teardown of before, HKID held. Nothing may
# touch the VM after it is dead.
run_td teardown "shutdown"
if [ "$TDXSIM_KERNEL" = kvm-x86-6.17 ]; then
	want=hkid=released probe='^TERMINATE_VM hkid=released -> 0'
else
	want=hkid=assigned probe='command 6 (KVM_TDX_TERMINATE_VM) is unknown'
fi
reclaims=$(grep -c '^RECLAIM ' "$work/teardown.log")
ok=0
[ $rc -eq 0 ] && clean_summary teardown && grep -q -- "$probe" "$work/teardown.log" &&
	[ "$reclaims" -ge 2 ] && [ "$(grep '^RECLAIM ' "$work/teardown.log" | grep -c "$want")" = "$reclaims" ] &&
	ok=1
result teardown-terminate-vm $ok "rc=$rc $(grep -m1 -E '^RECLAIM|VIOLATION' "$work/teardown.log")"

# ---- KVM's view of a TD's CPUID; level-triggered interrupts ----
# A TD guest is not offered kvmclock (leaf 0x40000001 comes from KVM's table,
# through TDVMCALL<Instruction.CPUID>; no bit outside QEMU's TD set), its write
# to MSR_KVM_SYSTEM_TIME_NEW fails as KVM fails it for a TD, MSR_KVM_POLL_CONTROL
# works. merak reads KVM_TDX_GET_CPUID once after INIT_VCPU and sets both vCPUs'
# CPUID again, so the simulator finds KVM's tables agreeing with the TD's.
run_td pv-cpuid "cpuid 0x40000001
expect-reg r12 0 0xffff457d
cpuid 1
expect-reg r14 0x80200000 0x80200000
wrmsr 0x4b564d01 0x1001
expect-status 0x8000000000000000
wrmsr 0x4b564d05 1
expect-status 0
shutdown"
n_get=$(sed -n '/^INIT_VCPU vcpu=1/,$p' "$work/pv-cpuid.log" | grep -c '^GET_CPUID ')
n_set=$(sed -n '/^GET_CPUID /,$p' "$work/pv-cpuid.log" | grep -c '^SET_CPUID2 .*x2apic=1')
ok=0
[ $rc -eq 0 ] && clean_summary pv-cpuid && [ "$n_get" = 1 ] && [ "$n_set" = 2 ] &&
	! grep -q -E 'offers KVM PV features|disagrees with the TD' "$work/pv-cpuid.log" &&
	! grep -q 'turned off CPUID features' "$work/pv-cpuid.err" && ok=1
result td-no-kvmclock $ok "rc=$rc GET_CPUID=$n_get SET_CPUID2-after=$n_set $(grep -m1 -E 'EXPECT-FAIL|WARNING' "$work/pv-cpuid.log")"

# A configurable feature merak asks for that the TDX module turns off (the CPU
# lacks it: TDXSIM_CAPS native0): one warning line naming it, and KVM's table
# follows the TD.
printf 'native0 1 0 0 0 0x01000000 0\n' >"$work/native0.caps"
TDXSIM_CAPS="$work/native0.caps" run_td cpuid-off "cpuid 1
expect-reg r14 0 0x01000000
shutdown"
ok=0
[ $rc -eq 0 ] && clean_summary cpuid-off && ! grep -q 'disagrees with the TD' "$work/cpuid-off.log" &&
	[ "$(grep -c 'turned off CPUID features merak asked for: 0x1.0 ecx tsc-deadline$' "$work/cpuid-off.err")" = 1 ] &&
	ok=1
result td-cpuid-turned-off-warned $ok "rc=$rc $(grep -m1 'turned off' "$work/cpuid-off.err") $(grep -m1 -E 'EXPECT-FAIL|WARNING' "$work/cpuid-off.log")"

# A level-triggered IOAPIC interrupt's whole cycle in a TD. KVM never sees a
# TD's EOIs (no KVM_EXIT_IOAPIC_EOI), so a Linux guest completes it through the
# IOAPIC's EOI register (version 0x20). The line is COM1's THRE interrupt (high
# from IER.THRI with THR empty until IIR is read); pin 4 is programmed level,
# vector 0x34, through the IOAPIC's shared alias as a TD maps it. The local
# APIC EOI alone re-delivers nothing; the EOI register re-delivers only while
# the line is high.
run_td level-irq "mmio write 0x8000fec00000 4 0x1
mmio read 0x8000fec00010 4
expect-data 0x170020
mmio write 0x8000fec00000 4 0x19
mmio write 0x8000fec00010 4 0x0
mmio write 0x8000fec00000 4 0x18
mmio write 0x8000fec00010 4 0x8034
pio out 0x3f9 1 0x2
wait-msi 0x34 2000
lapic-eoi 0x34
expect-no-msi 0x34 100
mmio write 0x8000fec00040 4 0x34
wait-msi 0x34 2000
pio in 0x3fa 1
expect-data 0x2
lapic-eoi 0x34
mmio write 0x8000fec00040 4 0x34
expect-no-msi 0x34 100
mmio write 0x8000fec00000 4 0x18
mmio read 0x8000fec00010 4
expect-data 0x8034
pio out 0x3f8 1 0x41
wait-msi 0x34 2000
shutdown"
ok=0
[ $rc -eq 0 ] && clean_summary level-irq && [ "$(grep -c '^MSI .*data=0xc034 vector=52' "$work/level-irq.log")" = 3 ] &&
	ok=1
result td-level-irq-eoi-register $ok "rc=$rc $(grep -m1 -E 'EXPECT-FAIL|VIOLATION' "$work/level-irq.log")"

# TDVF (OVMF) finds virtio devices by walking PCI through ECAM at the q35
# base: a TD's MMIO reads of config space (shared alias) reach merak's host
# bridge (8086:29c0), a virtio-rng function and the ICH9 LPC function at
# 00:1f.0 (8086:2918); an empty slot reads all ones.
printf '%s\n' "mmio read 0x8000b0000000 4
expect-data 0x29c08086
mmio read 0x8000b0008000 4
expect-data 0x10441af4
mmio read 0x8000b00f8000 4
expect-data 0x29188086
mmio read 0x8000b00f0000 4
expect-data 0xffffffff
shutdown" >"$work/ecam.script"
TDXSIM_LOG="$work/ecam.log" TDXSIM_SCRIPT="$work/ecam.script" LD_PRELOAD="$TDXSIM_LIB" \
	timeout -k 5 60 "$MERAK" --platform tdx=on --firmware "$OVMF" --cpus boot=1 --memory size=256M \
	--serial null --rng --seccomp log >"$work/ecam.out" 2>"$work/ecam.err"
rc=$?
touch "$work/ecam.log"
ok=0
[ $rc -eq 0 ] && clean_summary ecam && ok=1
result td-pci-walk-ecam $ok "rc=$rc $(grep -m1 -E 'EXPECT-FAIL|VIOLATION' "$work/ecam.log") $(tail -n 1 "$work/ecam.err")"

# Kata Containers' TDX sequence (tests/control/kata), byte for byte as its Go
# client sends it: merak started with only an API socket, a TD created from
# a VmConfig with platform.tdx and the firmware, a tap fd added, booted, a
# disk hot-plugged into the running TD and removed again (the scripted guest
# plays acpiphp's eject: it writes every slot's bit to the eject register
# now and then; merak honours only the slot it asked for), vmm.shutdown.
# --seccomp log as everywhere here: the simulator's own system calls are not
# merak's (docs/tdxsim.md).
kata_dir=$root/tests/control/kata
if [ "$(id -u)" != 0 ]; then
	result td-kata-replay 0 "needs root to open the tap Kata passes"
else
	truncate -s 8M "$work/kata-image.raw" "$work/kata-disk.raw"
	{
		i=0
		while [ $i -lt 1500 ]; do
			echo "pio out 0xae8 4 0xfffffffe"
			echo "sleep 20"
			i=$((i + 1))
		done
		echo halt
	} >"$work/kata.script"
	rm -f "$work/kata.sock"
	TDXSIM_LOG="$work/kata.log" TDXSIM_SCRIPT="$work/kata.script" LD_PRELOAD="$TDXSIM_LIB" \
		timeout -k 5 120 "$MERAK" --api-socket "$work/kata.sock" --seccomp log \
		>"$work/kata.out" 2>"$work/kata.err" &
	kata_pid=$!
	# A tap name of this run's own: meson runs the suites at once, one per
	# simulated kernel, and opening a tap name another run holds is EBUSY.
	out=$(python3 "$kata_dir/replay.py" --socket "$work/kata.sock" --seq tdx --pid "$kata_pid" \
		--tap-name "tdxk$$" \
		--subst KERNEL="$KERNEL" --subst FIRMWARE="$OVMF" --subst IMAGE="$work/kata-image.raw" \
		--subst DISK="$work/kata-disk.raw" --subst VSOCK="$work/kata-vsock.sock" \
		--subst MAX_VCPUS=2 2>&1)
	replay_rc=$?
	# A replay that stopped early will not shut merak down: do not wait out its timeout.
	[ $replay_rc -ne 0 ] && kill "$kata_pid" 2>/dev/null
	wait $kata_pid
	rc=$?
	touch "$work/kata.log"
	ok=0
	[ $replay_rc -eq 0 ] && [ $rc -eq 0 ] && clean_summary kata && ok=1
	result td-kata-replay $ok "replay exit $replay_rc, merak exit $rc: $(echo "$out" | grep -m1 -E '^(not ok|Bail out)') $(grep -m1 -E 'EXPECT-FAIL|VIOLATION' "$work/kata.log") $(tail -n 1 "$work/kata.err")"
fi

tap_done
