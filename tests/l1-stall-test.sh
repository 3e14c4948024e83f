#!/bin/sh
# tests/lib/l1-stall.sh on made-up hang reports: the L1's spin-lock stall is
# recognized only when every vCPU the guest started is in the slow path with
# interrupts off, inside the L1; anything else stays a failure. Prints TAP.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lib/tap.sh"
. "$ROOT/tests/lib/l1-stall.sh"
err=$(mktemp /tmp/merak-l1-stall.XXXXXX)
trap 'rm -f "$err"' EXIT
export MERAK_NESTED_L1=1 MERAK_LINUX_SPIN_RIP=ffffffff812c0e59-ffffffff812c0fec
vcpu() { # N RIP RFLAGS
	echo "merak: warn: vCPU $1: RIP 0x$2 RSP 0xffffc90000003e30 RFLAGS 0x$3 RAX 0x1 RBX 0x46"
}
check() { # NAME WANT(yes|no)
	if l1_spin_stall "$err"; then got=yes; else got=no; fi
	if [ "$got" = "$2" ]; then tap_pass "$1"; else tap_fail "$1" "recognized: $got, want $2: $(cat "$err")"; fi
}
{ vcpu 0 ffffffff812c0e82 2; vcpu 1 ffffffff812c0e82 86; } >"$err"
check "every vCPU in the slow path, interrupts off" yes
{ vcpu 0 ffffffff812c0e59 2; } >"$err"
check "the first byte of the range" yes
{ vcpu 0 ffffffff812c0e82 2; echo "merak: warn: vCPU 1: RIP 0xfff0 RSP 0x0 RFLAGS 0x2 RAX 0x0 RDX 0x600"; } >"$err"
check "one vCPU spinning, the other not started yet" yes
echo "merak: warn: vCPU 0: RIP 0xfff0 RSP 0x0 RFLAGS 0x2 RAX 0x0 RDX 0x600" >"$err"
check "no vCPU started" no
export MERAK_LINUX_HALT_RIP=ffffffff812c0bd8-ffffffff812c0bec
{ vcpu 0 ffffffff812c0e82 2; vcpu 1 ffffffff812c0beb 246; } >"$err"
check "one vCPU spinning, the other halted (idle)" yes
{ vcpu 0 ffffffff812c0beb 246; vcpu 1 ffffffff812c0beb 246; } >"$err"
check "every vCPU halted, none spinning" no
{ vcpu 0 ffffffff812c0e82 2; vcpu 1 ffffffff812c0beb 2; } >"$err"
check "halted with interrupts off (never wakes)" no
{ vcpu 0 ffffffff812c0e82 2; vcpu 1 ffffffff812c0bec 246; } >"$err"
check "just past the halt range" no
{ vcpu 0 ffffffff812c0e82 2; echo "merak: warn: vCPU 1: RIP 0xfff0 RSP 0x7000 RFLAGS 0x2 RAX 0x0"; } >"$err"
check "a vCPU at 0xfff0 with a stack (it ran)" no
{ vcpu 0 ffffffff812c0e82 2; vcpu 1 ffffffff812c0e82 246; } >"$err"
check "one vCPU with interrupts on" no
{ vcpu 0 ffffffff812c0e82 2; vcpu 1 ffffffff812c0fec 2; } >"$err"
check "one vCPU just past the range" no
{ vcpu 0 7ffff812c0e82 2; } >"$err"
check "a user-space RIP" no
{ vcpu 0 ffffffff812c0e82 2; echo "merak: warn: vCPU 1: state not readable (KVM_GET_REGS: EIO)"; } >"$err"
check "one vCPU's registers not readable" no
echo "merak: error: something else" >"$err"
check "no register report" no
{ vcpu 0 ffffffff812c0e82 2; } >"$err"
MERAK_NESTED_L1=0
check "outside the L1" no
MERAK_NESTED_L1=1 MERAK_LINUX_SPIN_RIP=""
check "no symbol range" no
# l1_tries: another attempt only after one that returned 2, at most
# L1_STALL_TRIES in all, the last told it may not ask for more.
for want_rc in 0 1 2; do
	runs=""
	fake_case() { runs="$runs ${1:-last}"; [ "${1:-}" = retry ] && return "$want_rc"; return 0; }
	l1_tries fake_case
	case $want_rc in 2) want=" retry retry last" want_note=" (boot 3: the earlier met the L1's spin-lock stall)" ;; *) want=" retry" want_note="" ;; esac
	if [ "$runs" = "$want" ] && [ "$again" = "$want_note" ]; then
		tap_pass "an attempt that returns $want_rc: runs$runs"
	else
		tap_fail "an attempt that returns $want_rc" "runs:$runs (want$want), again='$again'"
	fi
done
runs=""
fake_case() { runs="$runs ${1:-last}"; [ "$runs" = " retry" ] && return 2; return 0; }
l1_tries fake_case
[ "$runs" = " retry retry" ] && [ "$again" = " (boot 2: the earlier met the L1's spin-lock stall)" ] &&
	tap_pass "a second attempt that passes ends the tries" ||
	tap_fail "a second attempt that passes ends the tries" "runs:$runs again='$again'"
runs=""
L1_STALL_TRIES=1 l1_tries fake_case
[ "$runs" = " last" ] && tap_pass "L1_STALL_TRIES=1: one attempt, no retry offered" ||
	tap_fail "L1_STALL_TRIES=1: one attempt, no retry offered" "runs:$runs"
# l1_stall_retry: only while a retry is allowed, and it names the case.
MERAK_LINUX_SPIN_RIP=ffffffff812c0e59-ffffffff812c0fec
{ vcpu 0 ffffffff812c0e82 2; } >"$err"
said=$(l1_stall_retry linux-x "$err" retry) && echo "$said" | grep -q '^# linux-x: host defect' &&
	! l1_stall_retry linux-x "$err" "" >/dev/null &&
	tap_pass "l1_stall_retry: only while a retry remains, case named" ||
	tap_fail "l1_stall_retry: only while a retry remains, case named" "said: $said"
tap_done
