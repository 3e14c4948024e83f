#!/bin/sh
# Builds the libFuzzer harnesses (clang, ASan+UBSan) and runs each for a
# while: `make test` runs them briefly, `make fuzz` for longer. A crash, leak
# or sanitizer report fails the harness; the crashing input is kept in
# BUILD/crashes/.
set -u
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" -Dfuzz=true -Db_lundef=false >/dev/null || {
		echo "0 passed, 1 failed"
		exit 1
	}
fi
if ! ninja -C "$BUILD" >"$BUILD/fuzz-build.log" 2>&1; then
	tail -n 20 "$BUILD/fuzz-build.log"
	echo "0 passed, 1 failed"
	exit 1
fi
mkdir -p "$BUILD/crashes" "$BUILD/corpus"
pass=0
fail=0
for f in "$BUILD"/tests/fuzz/fuzz_*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	name=$(basename "$f")
	mkdir -p "$BUILD/corpus/$name"
	if "$f" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$BUILD/crashes/$name-" "$BUILD/corpus/$name" \
		>"$BUILD/$name.log" 2>&1; then
		runs=$(grep -oE 'Done [0-9]+ runs' "$BUILD/$name.log" | grep -oE '[0-9]+' || echo "?")
		echo "PASS $name ($runs runs in ${SECONDS_EACH}s)"
		pass=$((pass + 1))
	else
		echo "FAIL $name: see $BUILD/$name.log"
		grep -m 5 -E 'ERROR|SUMMARY' "$BUILD/$name.log"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
