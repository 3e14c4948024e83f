#!/bin/sh
# Runs guest-booting suites inside the nested-KVM L1 whatever this host's KVM
# can do: tests/kvm-suite.sh with the probe's answer forced to "no usable
# KVM" (MERAK_HOST_PROBE=nokvm), so all of them share one boot of the L1.
#   suite.sh guests|linux|firmware|SCRIPT... BUILD
# e.g. `tests/nested/suite.sh guests linux build`. Prints TAP.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 guests|linux|firmware|SCRIPT... BUILD" >&2; exit 2; }
suites=""
while [ $# -gt 1 ]; do
	case "$1" in
	guests) suites="$suites tests/guest/run.sh" ;;
	linux) suites="$suites tests/e2e/run-linux.sh" ;;
	firmware) suites="$suites tests/e2e/run-firmware.sh" ;;
	*) suites="$suites $1" ;;
	esac
	shift
done
# shellcheck disable=SC2086
MERAK_HOST_PROBE=nokvm exec sh "$ROOT/tests/kvm-suite.sh" "$1" $suites
