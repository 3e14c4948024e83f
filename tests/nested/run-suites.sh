#!/bin/sh
# Inside the nested L1 (tests/kvm-suite.sh starts it through tests/nested/run.sh):
# runs each LABEL=SCRIPT with the build directory as $1, between marker lines
# that the dispatcher splits the L1's serial output by:
#   merak-suite-begin LABEL
#   ... the suite's TAP (stderr merged) ...
#   merak-suite-end LABEL STATUS
#
#   tests/nested/run-suites.sh BUILD LABEL=SCRIPT...
set -u
BUILD=$1
shift
for spec in "$@"; do
	label=${spec%%=*}
	script=${spec#*=}
	echo "merak-suite-begin $label"
	sh "$script" "$BUILD" 2>&1
	echo "merak-suite-end $label $?"
done
