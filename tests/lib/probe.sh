# Sourced by the guest-booting test scripts (plain sh: they also run inside
# the minimal L1 of tests/nested). What this host's KVM can really do, from
# tests/tools/kvm_probe (a VM running tiny guest snippets; MERAK_HOST_PROBE
# fakes its answer, see kvm_probe.c).
#
#   probe_host BUILD_DIR   sets probe_verdict (nokvm|pvm|sound|error),
#                          probe_reason, probe_ioapic (ok|defect|unknown),
#                          probe_ioapic_evidence, probe_faked (0|1) and
#                          probe_output (every line). KVM_PROBE names another
#                          probe binary. Returns 1 when the probe could not
#                          run (probe_verdict=error, probe_reason says why).
probe_host() {
	case "$1" in /*) _pb=$1 ;; *) _pb=${ROOT:-.}/$1 ;; esac
	_probe=${KVM_PROBE:-$_pb/tests/tools/kvm_probe}
	probe_verdict=error probe_reason="" probe_ioapic=unknown probe_ioapic_evidence="" probe_faked=0
	if [ ! -x "$_probe" ]; then
		probe_reason="no KVM probe at $_probe (built by meson: tests/tools)"
		probe_output=""
		return 1
	fi
	if ! probe_output=$("$_probe" 2>&1); then
		probe_reason="$_probe failed: $(printf '%s' "$probe_output" | tail -n 1)"
		return 1
	fi
	probe_verdict=$(probe_key verdict)
	probe_reason=$(probe_key reason)
	probe_ioapic=$(probe_key ioapic)
	probe_ioapic_evidence=$(probe_key ioapic_evidence)
	[ "$(probe_key faked)" = 1 ] && probe_faked=1
	case "$probe_verdict" in
	nokvm | pvm | sound) ;;
	*)
		probe_reason="$_probe gave no verdict: $(printf '%s' "$probe_output" | head -n 1)"
		probe_verdict=error
		return 1
		;;
	esac
	[ -n "$probe_ioapic" ] || probe_ioapic=unknown
	return 0
}

# probe_key KEY: KEY's value in the probe's output.
probe_key() {
	printf '%s\n' "$probe_output" | sed -n "s/^$1=//p" | head -n 1
}
