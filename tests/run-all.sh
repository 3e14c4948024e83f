#!/bin/sh
# `make test`: every suite, each a meson test that speaks TAP or an exit
# status (tests/meson.build), run by `meson test --suite`; the last line,
# "N passed, M failed[, K skipped]", is computed by tests/summary.py from
# meson's own log of each run, counting TAP cases one by one. A suite that
# is missing, crashes or does not run is a failure, never a skip.
#
#   tests/run-all.sh [BUILD [BUILD_ASAN [BUILD_FUZZ]]]
#
# BUILD:      unit, tdxsim, tdx-e2e, infra (the test machinery's own tests)
#             and kvm (guest-booting suites, through tests/kvm-suite.sh,
#             which probes the host to choose where each runs)
# BUILD_ASAN: unit and kvm (the test-guest kit) under ASan+UBSan
# BUILD_FUZZ: fuzz (each libFuzzer harness for FUZZ_SECONDS, default 5)
set -u
BUILD=${1:-build}
BUILD_ASAN=${2:-build-asan}
BUILD_FUZZ=${3:-build-fuzz}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

section() { printf '\n=== %s ===\n' "$*"; }
# A log from an earlier run must never stand in for this one.
for b in "$BUILD" "$BUILD_ASAN" "$BUILD_FUZZ"; do
	rm -f "$b/meson-logs/testlog.json"
done
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

section "$BUILD: unit, tdxsim, tdx-e2e, infra, kvm"
meson test -C "$BUILD" --print-errorlogs --suite unit --suite tdxsim --suite tdx-e2e \
	--suite infra --suite kvm

section "$BUILD_ASAN (ASan+UBSan): unit, kvm"
if [ ! -f "$BUILD_ASAN/build.ninja" ]; then
	meson setup "$BUILD_ASAN" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
if ninja -C "$BUILD_ASAN" >"$BUILD_ASAN/ninja-output.log" 2>&1; then
	meson test -C "$BUILD_ASAN" --no-rebuild --print-errorlogs --suite unit --suite kvm
else
	tail -n 30 "$BUILD_ASAN/ninja-output.log"
fi

section "$BUILD_FUZZ: fuzz (${FUZZ_SECONDS:-5} s per harness)"
if [ ! -f "$BUILD_FUZZ/build.ninja" ]; then
	CC=clang meson setup "$BUILD_FUZZ" -Dfuzz=true -Db_lundef=false >/dev/null
fi
if ninja -C "$BUILD_FUZZ" >"$BUILD_FUZZ/ninja-output.log" 2>&1; then
	FUZZ_SECONDS=${FUZZ_SECONDS:-5} meson test -C "$BUILD_FUZZ" --no-rebuild --print-errorlogs --suite fuzz
else
	tail -n 30 "$BUILD_FUZZ/ninja-output.log"
fi

section "summary"
exec python3 tests/summary.py "$BUILD:unit,tdxsim,tdx-e2e,infra,kvm" "$BUILD_ASAN:unit,kvm" \
	"$BUILD_FUZZ:fuzz"
