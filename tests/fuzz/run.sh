#!/bin/sh
# Runs each libFuzzer harness (clang, ASan+UBSan) for a while: `make test`
# briefly (FUZZ_SECONDS, default 5, through meson's "fuzz" suite of the fuzz
# build), `make fuzz` for longer. Prints TAP (tests/lib/tap.sh). A crash,
# leak or sanitizer report fails the harness, and so does a harness whose
# source (tests/fuzz/fuzz_NAME.c) has no binary in BUILD; the crashing input
# is kept in BUILD/crashes/.
#
#   tests/fuzz/run.sh [BUILD [SECONDS]]    (default build-fuzz, $FUZZ_SECONDS or 5)
set -u
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-${FUZZ_SECONDS:-5}}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
. "$ROOT/tests/lib/tap.sh"
if [ ! -f "$BUILD/build.ninja" ]; then
	if ! CC=clang meson setup "$BUILD" -Dfuzz=true -Db_lundef=false >/dev/null; then
		tap_fail fuzz-build "meson setup $BUILD -Dfuzz=true failed"
		tap_done
		exit 1
	fi
fi
if ! ninja -C "$BUILD" >"$BUILD/fuzz-build.log" 2>&1; then
	tap_fail fuzz-build "ninja -C $BUILD failed:
$(tail -n 20 "$BUILD/fuzz-build.log")"
	tap_done
	exit 1
fi
mkdir -p "$BUILD/crashes" "$BUILD/corpus"
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	f=$BUILD/tests/fuzz/$name
	if [ ! -x "$f" ]; then
		tap_fail "$name" "no harness binary at $f (is $name in tests/fuzz/meson.build, and $BUILD a -Dfuzz=true build?)"
		continue
	fi
	mkdir -p "$BUILD/corpus/$name"
	if "$f" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$BUILD/crashes/$name-" "$BUILD/corpus/$name" \
		>"$BUILD/$name.log" 2>&1; then
		runs=$(grep -oE 'Done [0-9]+ runs' "$BUILD/$name.log" | grep -oE '[0-9]+' || echo "?")
		tap_pass "$name" "$runs runs in ${SECONDS_EACH}s"
	else
		tap_fail "$name" "see $BUILD/$name.log
$(grep -m 5 -E 'ERROR|SUMMARY' "$BUILD/$name.log")"
	fi
done
tap_done
