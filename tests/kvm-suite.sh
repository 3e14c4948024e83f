#!/bin/sh
# Runs guest-booting TAP suites where this host can really boot their guests,
# and reports them as one TAP stream, each case named "SUITE: case".
#
#   tests/kvm-suite.sh BUILD SUITE-SCRIPT...
#
# Each SUITE-SCRIPT takes the build directory as $1, expects a usable KVM and
# prints TAP. Its label is its directory for a run.sh (tests/guest/run.sh ->
# "guest"), else its name without "run-" and ".sh" ("linux", "robustness").
# A script may declare, in a comment line:
#   # kvm-suite: os           it boots an OS or firmware (much guest kernel
#                             code), not only the small test guests (kit)
#   # kvm-suite-files: P...   more host paths it needs inside the nested L1
#                             (@BUILD@ stands for the build directory)
#
# Where each suite runs is decided by probing the host (tests/tools/kvm_probe,
# tests/lib/probe.sh), never by whether /dev/kvm opens:
#   sound   a KVM that runs guest code natively: every suite here;
#   pvm     a KVM that instruction-emulates guest kernel code: kit suites
#           here, os suites inside the nested L1;
#   nokvm   no usable KVM: every suite inside the nested L1.
# All suites bound for the L1 run in one boot of it (tests/nested/run.sh
# costs minutes under TCG). MERAK_NESTED=0 reports them as SKIP instead, and
# with MERAK_REQUIRE_KVM=1 as failures. MERAK_HOST_PROBE fakes the probe
# (kvm_probe.c), MERAK_NESTED_RUN replaces tests/nested/run.sh: both exist
# for tests/kvm-suite-test.sh, which exercises every branch on any host.
#
# A suite script that is missing, prints no plan, stops short or fails
# without saying which case failed is reported as a failed case, never
# skipped. The exit status is non-zero when any case failed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 BUILD SUITE-SCRIPT..." >&2; exit 2; }
BUILD=$1
shift
case "$BUILD" in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
B=$(cd "$B" 2>/dev/null && pwd || printf '%s' "$B")
# Suites get the build directory as the user would type it from the root.
case "$B" in "$ROOT"/*) BARG=${B#"$ROOT"/} ;; *) BARG=$B ;; esac
NESTED_RUN=${MERAK_NESTED_RUN:-$ROOT/tests/nested/run.sh}
cd "$ROOT" || exit 2

. "$ROOT/tests/lib/tap.sh"
. "$ROOT/tests/lib/tap-merge.sh"
. "$ROOT/tests/lib/probe.sh"
work=$(mktemp -d /tmp/merak-kvm-suite.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 143' INT TERM
tap_merge_state=$work/merge.state

suite_label() {
	case $(basename "$1") in
	run.sh) basename "$(dirname "$1")" ;;
	*) _b=$(basename "$1" .sh); printf '%s\n' "${_b#run-}" ;;
	esac
}
suite_class() {
	_c=$(sed -n 's/^# kvm-suite: *\([a-z]*\).*/\1/p' "$1" | head -n 1)
	printf '%s\n' "${_c:-kit}"
}

# The probe: a host whose KVM cannot even be probed fails every suite.
probe_host "$B"
banner() { tap_diag "################################################################"; }
banner
tap_diag "host KVM: $probe_verdict: $probe_reason"
case "$probe_verdict" in
sound) tap_diag "every suite runs on this host's KVM" ;;
pvm) tap_diag "test-guest suites run on this host's KVM; OS and firmware suites run on" \
	"KVM inside an emulated L1 (tests/nested): guest kernel code is emulated here" ;;
nokvm) tap_diag "every guest-booting suite runs on KVM inside an emulated L1 (tests/nested)" ;;
esac
if [ "$probe_ioapic" = defect ]; then
	tap_diag "HOST DEFECT: $probe_ioapic_evidence."
	tap_diag "Cases that need the in-kernel IOAPIC's level-triggered EOI are SKIPPED,"
	tap_diag "named as this host's defect, not counted as merak's failures."
fi
[ "$probe_faked" = 1 ] && tap_diag "(probe answer faked by MERAK_HOST_PROBE=${MERAK_HOST_PROBE:-})"
banner

nested_labels="" nested_specs="" nested_files="" nested_env=""
for s in "$@"; do
	case "$s" in /*) path=$s ;; *) path=$ROOT/$s ;; esac
	label=$(suite_label "$path")
	if [ ! -f "$path" ]; then
		tap_fail "$label: suite script $path is missing"
		continue
	fi
	class=$(suite_class "$path")
	case "$probe_verdict/$class" in
	sound/*) where=direct ;;
	pvm/kit) where=direct ;;
	pvm/* | nokvm/*) where=nested ;;
	*)
		tap_fail "$label: cannot tell how to run guests here: $probe_reason"
		continue
		;;
	esac
	if [ "$where" = direct ]; then
		tap_diag "$label: on this host's KVM"
		rm -f "$work/rc"
		{ sh "$path" "$BARG" 2>&1; echo "$?" >"$work/rc"; } | tap_merge "$label"
		tap_merge_end "$label" "$(cat "$work/rc" 2>/dev/null || echo '?')" "stopped without an exit status"
		continue
	fi
	if [ "${MERAK_NESTED:-1}" = 0 ]; then
		why="needs the nested L1 ($probe_verdict host: $probe_reason) and MERAK_NESTED=0"
		if [ "${MERAK_REQUIRE_KVM:-0}" = 1 ]; then
			tap_fail "$label: $why; MERAK_REQUIRE_KVM=1"
		else
			tap_skip "$label" "$why"
		fi
		continue
	fi
	# What the suite needs in the L1 beyond the common files.
	case "$label" in
	linux)
		if ! cache=$(sh "$ROOT/tests/e2e/linux/build.sh"); then
			tap_fail "$label: the tiny Linux kernel did not build (tests/e2e/linux/build.sh)"
			continue
		fi
		nested_files="$nested_files $cache/vmlinux $cache/initramfs.cpio"
		# The emulated L1 deadlocks 2-vCPU guests with steal time (docs/testing.md).
		nested_env="$nested_env MERAK_LINUX_PREBUILT=$cache MERAK_LINUX_EXTRA_CMDLINE=nopv"
		# The suite's stall settings (docs/testing.md) reach it in the L1 too.
		nested_env="$nested_env${L1_STALL_TRIES:+ L1_STALL_TRIES=$L1_STALL_TRIES}${LINUX_STALL:+ LINUX_STALL=$LINUX_STALL}"
		# Where the guest's spin-lock slow path is and where an idle vCPU
		# halts, so that the suite can name the L1's spin-lock stall
		# (run-linux.sh, docs/testing.md).
		for sym in queued_spin_lock_slowpath=SPIN native_safe_halt=HALT; do
			range=$(nm -n "$cache/vmlinux" 2>/dev/null |
				awk -v f="${sym%=*}" '$3 == f { s = $1; getline; print s "-" $1; exit }')
			[ -n "$range" ] && nested_env="$nested_env MERAK_LINUX_${sym#*=}_RIP=$range"
		done
		;;
	firmware)
		fw=${FIRMWARE:-/usr/share/ovmf/OVMF.fd}
		nested_files="$nested_files $fw"
		nested_env="$nested_env FIRMWARE=$fw"
		;;
	esac
	for f in $(sed -n 's/^# kvm-suite-files: *//p' "$path" | sed "s|@BUILD@|$B|g"); do
		nested_files="$nested_files $f"
	done
	nested_labels="$nested_labels $label"
	nested_specs="$nested_specs $label=$path"
done

if [ -n "$nested_labels" ]; then
	tap_diag "in one boot of the nested L1:$nested_labels"
	# The L1's TSC is this host's (QEMU's TCG reads it), and the L1's own
	# calibration under emulation can be far off (2.7 times too low was
	# seen): the L1 kernel and the tiny Linux without its PV clock are told
	# the rate measured here (docs/testing.md).
	if tsc_khz=$("$B/tests/tsc_khz" 2>"$work/tsc.err"); then
		tap_diag "this host's TSC: $tsc_khz kHz (told to the L1 and to its nopv guests)"
		nested_env="$nested_env MERAK_LINUX_TSC_KHZ=$tsc_khz"
	else
		tsc_khz=""
		tap_diag "this host's TSC rate could not be measured ($(cat "$work/tsc.err")): the L1 calibrates its own"
	fi
	fileargs=""
	for f in "$ROOT/tests" "$B/merak" "$B/tests/guest" "$B/tests/vsock_peer" \
		"$B/tests/tools" /usr/bin/setpriv /usr/bin/unshare /usr/bin/nsenter $nested_files; do
		fileargs="$fileargs --file $f"
	done
	# shellcheck disable=SC2086
	NESTED_TIMEOUT=${NESTED_TIMEOUT:-2400} NESTED_TSC_KHZ=$tsc_khz sh "$NESTED_RUN" $fileargs -- \
		env $nested_env sh "$ROOT/tests/nested/run-suites.sh" "$BARG" $nested_specs \
		>"$work/nested.out" 2>"$work/nested.err"
	nrc=$?
	l1why=$(grep -v '^merak-l1: insmod' "$work/nested.err" | tail -n 1)
	[ -n "$l1why" ] || l1why="exit status $nrc"
	for label in $nested_labels; do
		if ! grep -q "^merak-suite-begin $label\$" "$work/nested.out"; then
			tap_fail "$label: did not run in the nested L1: $l1why"
			continue
		fi
		sed -n "/^merak-suite-begin $label\$/,/^merak-suite-end $label /p" "$work/nested.out" |
			sed '1d; /^merak-suite-end /d' | tap_merge "$label"
		st=$(sed -n "s/^merak-suite-end $label \([0-9]*\)\$/\1/p" "$work/nested.out")
		tap_merge_end "$label" "${st:-?}" "cut short in the nested L1: $l1why"
	done
fi
tap_done
