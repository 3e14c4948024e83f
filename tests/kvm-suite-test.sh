#!/bin/sh
# Tests of the test machinery itself (TAP), on any host, without booting a
# guest: every branch of tests/kvm-suite.sh with the KVM probe's answer faked
# (MERAK_HOST_PROBE) and the nested L1 replaced by a stand-in that runs its
# command here (MERAK_NESTED_RUN); the guest kit's host-defect SKIP with a
# stand-in merak; and tests/summary.py's counting on made-up meson logs.
#
#   tests/kvm-suite-test.sh BUILD     (BUILD holds tests/tools/kvm_probe)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
. "$ROOT/tests/lib/tap.sh"
w=$(mktemp -d /tmp/merak-kvm-suite-test.XXXXXX)
trap 'rm -rf "$w"' EXIT
trap 'exit 143' INT TERM

# Stand-in suites: each says where it ran (the stand-in L1 sets MERAK_NESTED_L1).
mk_suite() { # NAME CLASS BODY
	{
		echo '#!/bin/sh'
		[ "$2" = os ] && echo '# kvm-suite: os'
		printf '%s\n' "$3"
	} >"$w/$1.sh"
}
where='where=$([ -n "${MERAK_NESTED_L1:-}" ] && echo nested || echo direct)'
mk_suite kit kit "echo \"ok 1 - ran \$($where; echo \$where)\"; echo 'ok 2 - second'; echo 1..2"
mk_suite osx os "echo \"ok 1 - ran \$($where; echo \$where)\"; echo 1..1"
mk_suite noplan kit 'echo "ok 1 - only case"'
mk_suite quietfail kit 'echo "ok 1 - looks fine"; echo 1..1; exit 3'
mk_suite shortplan kit 'echo "ok 1 - one"; echo 1..2'
mk_suite chatty kit 'echo "not TAP at all"; echo "ok 1 - fine"; echo "not ok 2 - broken"; echo 1..2; exit 1'

# The stand-in for tests/nested/run.sh: logs each boot, runs the command here.
cat >"$w/fake-nested.sh" <<'EOF'
#!/bin/sh
log=${FAKE_NESTED_LOG:?}
printf 'boot:' >>"$log"
while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
shift
printf ' %s' "$@" >>"$log"
echo >>"$log"
if [ -n "${FAKE_L1_FAIL:-}" ]; then
	echo "nested: L1 did not start (qemu exit 1)" >&2
	exit 125
fi
if [ -n "${FAKE_L1_CUT:-}" ]; then
	MERAK_NESTED_L1=1 "$@" | sed '/^merak-suite-end/d'
	echo "nested: L1 timed out after 2400s" >&2
	exit 125
fi
MERAK_NESTED_L1=1 "$@"
EOF

# dispatch PROBE SUITE...: runs the dispatcher; output in $w/out, status in drc.
dispatch() {
	_p=$1
	shift
	: >"$w/boots"
	MERAK_HOST_PROBE=$_p MERAK_NESTED_RUN="$w/fake-nested.sh" FAKE_NESTED_LOG="$w/boots" \
		sh "$ROOT/tests/kvm-suite.sh" "$B" "$@" >"$w/out" 2>"$w/err"
	drc=$?
	boots=$(grep -c '^boot:' "$w/boots")
}
has() { grep -qE "$1" "$w/out"; }
# check NAME CONDITION...: one TAP line; the dispatcher's output when it fails.
check() {
	_n=$1
	shift
	if "$@"; then
		tap_pass "$_n"
	else
		tap_fail "$_n" "$(cat "$w/out" "$w/err" 2>/dev/null | tail -n 25)"
	fi
}

if [ ! -x "$B/tests/tools/kvm_probe" ]; then
	tap_fail "kvm_probe is built" "no $B/tests/tools/kvm_probe"
	tap_done
	exit 1
fi

dispatch sound "$w/kit.sh" "$w/osx.sh"
check "sound KVM: kit and os suites both run here, no L1 boot" eval \
	'[ $drc = 0 ] && [ $boots = 0 ] && has "^ok 1 - kit: ran direct" &&
	 has "^ok 2 - kit: second" && has "^ok 3 - osx: ran direct" && has "^1\.\.3$"'

dispatch pvm "$w/kit.sh" "$w/osx.sh"
check "PVM KVM: kit suite here, os suite in one L1 boot" eval \
	'[ $drc = 0 ] && [ $boots = 1 ] && has "kit: ran direct" && has "osx: ran nested" &&
	 grep -q "osx=" "$w/boots" && ! grep -q "kit=" "$w/boots"'

dispatch nokvm "$w/kit.sh" "$w/osx.sh"
check "no KVM: every suite in the L1, all in one boot" eval \
	'[ $drc = 0 ] && [ $boots = 1 ] && has "^ok 1 - kit: ran nested" &&
	 has "^ok 3 - osx: ran nested" && grep -q "kit=.*osx=" "$w/boots" && has "^1\.\.3$"'

MERAK_NESTED=0 dispatch nokvm "$w/kit.sh" "$w/osx.sh"
check "no KVM, MERAK_NESTED=0: suites SKIP, counted, no boot" eval \
	'[ $drc = 0 ] && [ $boots = 0 ] && has "^ok 1 - kit # SKIP needs the nested L1" &&
	 has "^ok 2 - osx # SKIP"'

MERAK_NESTED=0 MERAK_REQUIRE_KVM=1 dispatch nokvm "$w/kit.sh"
check "no KVM, MERAK_NESTED=0 MERAK_REQUIRE_KVM=1: suites fail" eval \
	'[ $drc != 0 ] && has "^not ok 1 - kit: needs the nested L1"'

dispatch sound "$w/kit.sh" "$w/absent.sh"
check "a missing suite script is a failure, not a skip" eval \
	'[ $drc != 0 ] && has "^not ok 3 - absent: suite script .*absent.sh is missing"'

dispatch sound "$w/noplan.sh"
check "a suite that stops before its plan fails" eval \
	'[ $drc != 0 ] && has "^ok 1 - noplan: only case" && has "^not ok 2 - noplan: no TAP plan"'

dispatch sound "$w/quietfail.sh"
check "a failing exit status without a failed case fails" eval \
	'[ $drc != 0 ] && has "^not ok 2 - quietfail: exit status 3 without a failed case"'

dispatch sound "$w/shortplan.sh"
check "a plan that does not match the cases fails" eval \
	'[ $drc != 0 ] && has "^not ok 2 - shortplan: planned 2 cases, reported 1"'

dispatch sound "$w/chatty.sh"
check "non-TAP lines become diagnostics; a failed case stays one failure" eval \
	'[ $drc != 0 ] && has "^# chatty \| not TAP at all" && has "^not ok 2 - chatty: broken" &&
	 [ "$(grep -c "^not ok" "$w/out")" = 1 ]'

FAKE_L1_FAIL=1 dispatch nokvm "$w/kit.sh" "$w/osx.sh"
check "an L1 that does not start fails each of its suites, with the reason" eval \
	'[ $drc != 0 ] && has "^not ok 1 - kit: did not run in the nested L1: nested: L1 did not start" &&
	 has "^not ok 2 - osx: did not run"'

FAKE_L1_CUT=1 dispatch pvm "$w/kit.sh" "$w/osx.sh"
check "a suite cut short in the L1 fails" eval \
	'[ $drc != 0 ] && has "^ok 3 - osx: ran nested" && has "^not ok 4 - osx: cut short in the nested L1"'

dispatch "sound,ioapic-defect" "$w/kit.sh"
check "a host defect is announced in the dispatcher's output" eval \
	'[ $drc = 0 ] && has "^# HOST DEFECT: in-kernel IOAPIC leaves Remote IRR set after EOI"'

# The guest kit's ioapic-kernel case, with a merak that fails as a defective
# host makes it fail: SKIP naming the defect where the probe shows it, a
# failure where the host is sound.
cat >"$w/merak" <<'EOF'
#!/bin/sh
echo "TEST ioapic: FAIL: remote IRR still set after EOI (0xc040)"
exit 1
EOF
chmod +x "$w/merak"
guestkit() {
	MERAK_HOST_PROBE=$1 MERAK="$w/merak" GUEST_CASES="ioapic-kernel ioapic-split" \
		sh "$ROOT/tests/guest/run.sh" "$B" >"$w/out" 2>"$w/err"
	drc=$?
}
guestkit "sound,ioapic-defect"
check "defective host IOAPIC: ioapic-kernel is a SKIP naming the defect and the evidence" eval \
	'[ $drc != 0 ] && has "^ok 1 - ioapic-kernel # SKIP host defect: in-kernel IOAPIC leaves Remote IRR set after EOI \(probe: .*0x0000c040.*the case fails here" &&
	 has "^not ok 2 - ioapic-split" && has "^1\.\.2$"'
guestkit sound
check "sound host IOAPIC: ioapic-kernel runs and its failure counts" eval \
	'[ $drc != 0 ] && has "^not ok 1 - ioapic-kernel" && ! has SKIP'
guestkit nokvm
check "no KVM: guest cases fail, naming why" eval \
	'[ $drc != 0 ] && has "^not ok 1 - ioapic-kernel" && has "no usable KVM \(faked"'

# The probe itself answers with a verdict on this host, fake or not.
"$B/tests/tools/kvm_probe" >"$w/out" 2>"$w/err"
check "kvm_probe gives a verdict on this host" eval \
	'grep -qE "^verdict=(nokvm|pvm|sound)$" "$w/out" && grep -qE "^ioapic=(ok|defect|unknown)$" "$w/out"'
tap_diag "this host: $(tr '\n' ';' <"$w/out")"
MERAK_HOST_PROBE=bogus "$B/tests/tools/kvm_probe" >"$w/out" 2>"$w/err"
drc=$?
check "kvm_probe refuses an unknown fake" eval '[ $drc = 2 ] && ! grep -q verdict= "$w/out"'

# tests/summary.py on made-up meson records: TAP cases counted one by one,
# a crash after passing cases and a test that never ran are failures; a
# failed cmocka run shows its error lines.
s=$w/sum
mkdir -p "$s/meson-info" "$s/meson-logs"
cat >"$s/meson-info/intro-tests.json" <<'EOF'
[{"name": "u1", "suite": ["merak:unit"], "protocol": "exitcode"},
 {"name": "u2", "suite": ["merak:unit"], "protocol": "exitcode"},
 {"name": "g", "suite": ["merak:kvm"], "protocol": "tap"},
 {"name": "crash", "suite": ["merak:kvm"], "protocol": "tap"},
 {"name": "never", "suite": ["merak:kvm"], "protocol": "tap"},
 {"name": "other", "suite": ["merak:fuzz"], "protocol": "tap"}]
EOF
cat >"$s/meson-logs/testlog.json" <<'EOF'
{"name": "merak:unit / u1", "result": "OK", "stdout": "", "returncode": 0}
{"name": "merak:unit / u2", "result": "FAIL", "stdout": "[ RUN      ] t_x\n[  FAILED  ] t_x\n[  FAILED  ] 1 test(s), listed below:\n[  FAILED  ] t_x\n", "stderr": "[  ERROR   ] --- 0x1 != 0\n[   LINE   ] --- u2.c:540: error: Failure!\n", "returncode": 1}
{"name": "merak:kvm / g", "result": "FAIL", "stdout": "ok 1 - a\nnot ok 2 - b\nok 3 - c # SKIP host defect: x\n# diag\n1..3\n", "returncode": 1}
{"name": "merak:kvm / crash", "result": "ERROR", "stdout": "ok 1 - a\nok 2 - b\n", "returncode": 139}
EOF
python3 "$ROOT/tests/summary.py" "$s:unit,kvm" >"$w/out" 2>"$w/err"
drc=$?
check "summary: counts TAP cases, crashes and tests that never ran" eval \
	'[ $drc = 1 ] && [ "$(tail -n 1 "$w/out")" = "4 passed, 4 failed, 1 skipped" ] &&
	 has "sum/g: c: host defect: x" && has "sum/never: did not run" && has "sum/crash: ERROR" &&
	 grep -qF "      [   LINE   ] --- u2.c:540: error: Failure!" "$w/out" &&
	 [ "$(grep -cF "[  FAILED  ] t_x" "$w/out")" = 1 ]'
rm "$s/meson-logs/testlog.json"
python3 "$ROOT/tests/summary.py" "$s:fuzz" >"$w/out" 2>"$w/err"
drc=$?
check "summary: a missing meson log is a failure" eval \
	'[ $drc = 1 ] && [ "$(tail -n 1 "$w/out")" = "0 passed, 1 failed" ]'

tap_done
