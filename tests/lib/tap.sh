# Sourced by the shell test suites: results in TAP (the Test Anything
# Protocol), which `meson test` reads when a suite is registered with
# protocol : 'tap'. The plan comes last, so a suite need not count ahead.
#
#   tap_pass NAME [NOTE]     ok N - NAME [# NOTE]
#   tap_fail NAME REASON     not ok N - NAME, REASON as a diagnostic line
#   tap_skip NAME REASON     ok N - NAME # SKIP REASON (meson counts a skip)
#   tap_diag TEXT...         # TEXT (shown by meson on failure)
#   tap_done                 1..N; exits 1 if any case failed
tap_n=0
tap_failed=0

tap_pass() {
	tap_n=$((tap_n + 1))
	if [ -n "${2:-}" ]; then
		# One line on the result; a longer note follows as diagnostics.
		echo "ok $tap_n - $1 # $(printf '%s\n' "$2" | head -n 1)"
		printf '%s\n' "$2" | sed '1d; s/^/# /'
	else
		echo "ok $tap_n - $1"
	fi
}

tap_fail() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}

tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $(printf '%s\n' "${2:-}" | head -n 1)"
	printf '%s\n' "${2:-}" | sed '1d; s/^/# /'
}

tap_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
