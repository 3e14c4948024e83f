#!/bin/sh
# Runs every test suite of `make test` and ends with one line
# "N passed, M failed, K skipped" (N and M count test programs and cases).
#
# KVM policy: tests that boot guests need KVM. On a host without /dev/kvm
# (or ENODEV) they run on a genuine KVM inside an emulated L1 (tests/nested:
# QEMU TCG with AMD SVM, Debian's kernel with kvm_amd); MERAK_NESTED=0 makes
# them SKIPPED instead, loudly and counted, and MERAK_REQUIRE_KVM=1 with it
# makes them FAIL. A /dev/kvm that exists but cannot be used fails them.
set -u
BUILD=${1:-build}
BUILD_ASAN=${2:-build-asan}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

passed=0
failed=0
skipped=0
failed_names=""

add_counts() { # name "N passed, M failed[, K skipped]" line
	line=$(printf '%s\n' "$2" | grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		failed_names="$failed_names $1(no-summary)"
		return
	fi
	p=$(printf '%s' "$line" | sed -E 's/.*([0-9]+) passed.*/\1/; s/^[^0-9]*//')
	p=$(printf '%s' "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
	f=$(printf '%s' "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
	s=$(printf '%s' "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || true)
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + ${s:-0}))
	[ "$f" -gt 0 ] && failed_names="$failed_names $1"
	return 0
}

run_meson_suite() { # label builddir suite
	out=$(meson test -C "$2" --suite "$3" --print-errorlogs 2>&1)
	printf '%s\n' "$out" | grep -E '^ *[0-9]+/[0-9]+ ' || true
	ok=$(printf '%s\n' "$out" | sed -n 's/^Ok: *\([0-9]*\).*/\1/p' | tail -n 1)
	fl=$(printf '%s\n' "$out" | sed -n 's/^Fail: *\([0-9]*\).*/\1/p' | tail -n 1)
	to=$(printf '%s\n' "$out" | sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' | tail -n 1)
	sk=$(printf '%s\n' "$out" | sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' | tail -n 1)
	if [ -z "$ok" ]; then
		printf '%s\n' "$out" | tail -n 20
		failed=$((failed + 1))
		failed_names="$failed_names $1"
		return
	fi
	bad=$((${fl:-0} + ${to:-0}))
	[ "$bad" -gt 0 ] && { failed_names="$failed_names $1"; printf '%s\n' "$out" | grep -E 'FAIL|ERROR|TIMEOUT' | head -n 40; }
	passed=$((passed + ok))
	failed=$((failed + bad))
	skipped=$((skipped + ${sk:-0}))
}

section() { printf '\n=== %s ===\n' "$1"; }

kvm_state() {
	python3 - <<'PY'
import os, errno
try:
    fd = os.open("/dev/kvm", os.O_RDWR)
    os.close(fd)
    print("ok")
except OSError as e:
    if e.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        print("absent: /dev/kvm: " + os.strerror(e.errno))
    else:
        print("broken: /dev/kvm: " + os.strerror(e.errno))
PY
}

# How guest-booting suites run: "direct" on this host's KVM; "nested" on a
# genuine KVM inside an L1 Linux that QEMU emulates with AMD SVM (tests/nested),
# for hosts without KVM; "skip" only when even that is switched off.
KVM=$(kvm_state)
case "$KVM" in
ok) GUEST_MODE=direct ;;
absent*)
	if [ "${MERAK_NESTED:-1}" = 1 ]; then
		GUEST_MODE=nested
		echo "################################################################"
		echo "# NO KVM ON THIS HOST (${KVM#absent: }): guest-booting tests run"
		echo "# on KVM inside an L1 Linux under QEMU TCG with emulated AMD SVM"
		echo "# (tests/nested). MERAK_NESTED=0 skips them instead."
		echo "################################################################"
	elif [ "${MERAK_REQUIRE_KVM:-0}" = 1 ]; then
		GUEST_MODE=direct
	else
		GUEST_MODE=direct
		export MERAK_KVM_TESTS=skip
		echo "################################################################"
		echo "# NO KVM ON THIS HOST (${KVM#absent: }) and MERAK_NESTED=0:"
		echo "# every test that boots a guest is SKIPPED and counted as skipped."
		echo "################################################################"
	fi
	;;
*) GUEST_MODE=direct ;; # broken KVM: the guest tests fail and say why
esac

# guest_suite SUITE BUILD: a guest-booting suite's output, where GUEST_MODE says.
guest_suite() {
	if [ "$GUEST_MODE" = nested ]; then
		sh tests/nested/suite.sh "$1" "$2" 2>&1
	elif [ "$1" = guests ]; then
		sh tests/guest/run.sh "$2" 2>&1
	else
		sh tests/e2e/run-linux.sh "$2" 2>&1
	fi
}

section "unit tests"
run_meson_suite unit "$BUILD" unit

if [ -f tests/tdxsim/meson.build ]; then
	section "TDX-KVM simulator self-tests"
	run_meson_suite tdxsim "$BUILD" tdxsim
fi

if [ -x tests/tdx-e2e/run.sh ]; then
	section "TD launch end to end (merak under the TDX simulator)"
	out=$(sh tests/tdx-e2e/run.sh "$BUILD" 2>&1)
	printf '%s\n' "$out"
	add_counts tdx-e2e "$out"
fi

if [ -x tests/guest/run.sh ]; then
	section "test-guest kit ($GUEST_MODE KVM)"
	out=$(guest_suite guests "$BUILD")
	printf '%s\n' "$out"
	add_counts guests "$out"
fi

# The tiny Linux: always on the nested KVM, where it boots; on a host's own
# KVM only with MERAK_TEST_LINUX=1 (hosts whose KVM instruction-emulates guest
# kernel code cannot boot it: docs/testing.md). Builds the kernel once per
# machine (about 10 to 15 minutes on 2 cores), cached outside the checkout.
if [ "$GUEST_MODE" = nested ] || [ "${MERAK_TEST_LINUX:-0}" = 1 ]; then
	section "tiny Linux end to end ($GUEST_MODE KVM)"
	out=$(guest_suite linux "$BUILD")
	printf '%s\n' "$out" | tail -n 8
	add_counts linux "$out"
fi

section "unit and guest tests under ASan+UBSan"
if [ ! -f "$BUILD_ASAN/build.ninja" ]; then
	meson setup "$BUILD_ASAN" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
if ninja -C "$BUILD_ASAN" >/tmp/merak-asan-build.log 2>&1; then
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	run_meson_suite unit-asan "$BUILD_ASAN" unit
	if [ -x tests/guest/run.sh ]; then
		out=$(guest_suite guests "$BUILD_ASAN")
		printf '%s\n' "$out" | tail -n 3
		add_counts guests-asan "$out"
	fi
else
	tail -n 30 /tmp/merak-asan-build.log
	failed=$((failed + 1))
	failed_names="$failed_names asan-build"
fi

if [ -x tests/fuzz/run.sh ] && command -v clang >/dev/null; then
	section "fuzz smoke (each harness briefly)"
	out=$(sh tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-5}" 2>&1)
	printf '%s\n' "$out" | tail -n 15
	add_counts fuzz "$out"
fi

echo
[ -n "$failed_names" ] && echo "failed suites:$failed_names"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
