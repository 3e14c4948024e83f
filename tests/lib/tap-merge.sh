# Sourced after tests/lib/tap.sh by scripts that run other TAP suites and
# report them as one TAP stream (tests/kvm-suite.sh).
#
#   tap_merge LABEL < SUITE-OUTPUT        renumbers the suite's results into
#       this stream as "LABEL: name", passes its diagnostics through, turns
#       any other line into a diagnostic, and streams as it reads.
#   tap_merge_end LABEL STATUS [WHY]      then checks what was merged: a
#       missing plan, a plan that does not match the results, or a failing
#       exit status without a failed case each add a "not ok LABEL: ..." so
#       that a suite that crashed or was cut short can never look like a pass.
#       STATUS "?" (the suite never finished) adds "not ok LABEL: WHY".
#
# The counts travel through a state file because the merge runs at the end
# of a pipeline (a subshell).
# mawk reads a pipe in blocks unless told otherwise; a merged stream should
# show each case as it ends.
tap_awk="awk"
[ -z "$(awk -W interactive 'BEGIN { exit 0 }' 2>&1 </dev/null)" ] && tap_awk="awk -W interactive"

tap_merge() {
	$tap_awk -v label="$1" -v base="$tap_n" -v state="${tap_merge_state:?}" '
	function dir_skip(s) { return s ~ /#[ \t]*[Ss][Kk][Ii][Pp]/ }
	function dir_todo(s) { return s ~ /#[ \t]*[Tt][Oo][Dd][Oo]/ }
	{ sub(/\r$/, "") }
	/^(not )?ok([ \t]|$)/ {
		line = $0
		bad = (line ~ /^not /)
		sub(/^(not )?ok[ \t]*/, "", line)
		sub(/^[0-9]+[ \t]*/, "", line)
		sub(/^-[ \t]*/, "", line)
		n++
		if (bad && !dir_todo(line))
			failed++
		printf "%s %d - %s: %s\n", bad ? "not ok" : "ok", base + n, label, line
		fflush()
		next
	}
	/^1\.\.[0-9]+/ {
		p = $0
		sub(/^1\.\./, "", p)
		planned = p + 0
		plans++
		if (planned == 0 && dir_skip($0)) {
			reason = $0
			sub(/^[^#]*#[ \t]*[Ss][Kk][Ii][Pp][^ \t]*[ \t]*/, "", reason)
			skipall = reason == "" ? "skipped" : reason
		}
		print "# " label ": plan " $0
		fflush()
		next
	}
	/^Bail out!/ {
		n++
		failed++
		printf "not ok %d - %s: %s\n", base + n, label, $0
		fflush()
		next
	}
	/^[ \t]*#/ { print; fflush(); next }
	/^[ \t]*$/ { next }
	{ print "# " label " | " $0; fflush() }
	END {
		if (skipall != "" && n == 0) {
			n++
			printf "ok %d - %s # SKIP %s\n", base + n, label, skipall
			planned = 1
		}
		printf "%d %d %d %d\n", n, failed, plans, planned > state
	}'
}

tap_merge_end() {
	_label=$1 _status=$2
	read -r _n _failed _plans _planned <"$tap_merge_state" || { _n=0 _failed=0 _plans=0 _planned=0; }
	tap_n=$((tap_n + _n))
	tap_failed=$((tap_failed + _failed))
	if [ "$_status" = "?" ]; then
		tap_fail "$_label: ${3:-did not finish} (after $_n cases)"
	elif [ "$_plans" = 0 ]; then
		tap_fail "$_label: no TAP plan: the suite stopped before its end (exit status $_status)"
	elif [ "$_plans" != 1 ]; then
		tap_fail "$_label: $_plans TAP plans in one run"
	elif [ "$_planned" != "$_n" ]; then
		tap_fail "$_label: planned $_planned cases, reported $_n"
	elif [ "$_status" != 0 ] && [ "$_failed" = 0 ]; then
		tap_fail "$_label: exit status $_status without a failed case"
	fi
	return 0
}
