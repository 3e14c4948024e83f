# Sourced by tests/e2e/run-linux.sh. The emulated L1 (tests/nested) has a
# defect of its own (docs/testing.md): now and then a Linux guest stops
# there with each busy vCPU spinning, interrupts off, in the guest's
# spin-lock slow path, inside an interrupt handler, on a lock no running
# code can release (the others idle or not started). QEMU's own guests
# stall there too. kvm-suite.sh hands the L1 that function's address
# range and the idle loop's (MERAK_LINUX_SPIN_RIP, MERAK_LINUX_HALT_RIP,
# from the kernel's symbols).
#
#   l1_spin_stall ERR    true when merak's hang report in ERR puts every
#                        vCPU there, in the L1 (MERAK_NESTED_L1=1), save
#                        vCPUs the guest has not started yet (still in
#                        their reset state: RIP 0xfff0, RSP 0) and idle
#                        ones (halted with interrupts on, in the range
#                        MERAK_LINUX_HALT_RIP); a run it stopped is then
#                        named as that defect and run again; any other
#                        failure stays merak's
#   l1_stall_note ERR    the diagnostic that names it, with the registers
#   l1_stall_retry CASE ERR MAY
#                        true, having said so, when MAY is "retry" (the
#                        case may still be run again) and ERR shows the
#                        stall: the case should return 2
#   l1_tries FN          runs FN up to L1_STALL_TRIES times (3) while it
#                        returns 2, passing it "retry" while another
#                        attempt remains, with $again naming the attempt
#                        for FN's pass or fail line
#   vcpu_regs ERR        the registers merak's hang report gave (2 vCPUs)
l1_spin_stall() { # ERR
	[ "${MERAK_NESTED_L1:-0}" = 1 ] && [ -n "${MERAK_LINUX_SPIN_RIP:-}" ] || return 1
	awk -v range="$MERAK_LINUX_SPIN_RIP" -v idle="${MERAK_LINUX_HALT_RIP:-}" '
	function hexval(h, i, v) {
		v = 0
		for (i = 1; i <= length(h); i++)
			v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		return v
	}
	function pad(h) { while (length(h) < 16) h = "0" h; return h }
	BEGIN {
		split(range, r, "-"); lo = pad(r[1]); hi = pad(r[2])
		ilo = "x"; ihi = ""
		if (split(idle, h, "-") == 2) { ilo = pad(h[1]); ihi = pad(h[2]) }
		n = 0; bad = 0
	}
	/vCPU [0-9]+: RIP 0x/ {
		for (i = 1; i < NF; i++) {
			if ($i == "RIP") rip = pad(substr($(i + 1), 3))
			if ($i == "RSP") rsp = hexval(substr($(i + 1), 3))
			if ($i == "RFLAGS") fl = hexval(substr($(i + 1), 3))
		}
		if (rip == pad("fff0") && rsp == 0)
			next
		# Halted with interrupts on: idle, holding no spin lock.
		if (rip >= ilo && rip < ihi && int(fl / 512) % 2 == 1)
			next
		n++
		if (!(rip >= lo && rip < hi) || int(fl / 512) % 2 == 1) bad++
	}
	/vCPU [0-9]+: state not readable/ { n++; bad++ }
	END { exit !(n > 0 && bad == 0) }' "$1"
}
vcpu_regs() { # ERR
	grep -m 2 'vCPU [0-9]*: RIP' "$1"
}
l1_stall_note() { # ERR
	printf '%s\n' "host defect: the emulated L1's spin-lock stall (docs/testing.md): every vCPU that is neither idle nor unstarted spins with interrupts off in the guest's spin-lock slow path ($MERAK_LINUX_SPIN_RIP); run again" \
		"$(vcpu_regs "$1")"
}
l1_stall_retry() { # CASE ERR MAY
	[ "$3" = retry ] && l1_spin_stall "$2" || return 1
	tap_diag "$1: $(l1_stall_note "$2")"
}
l1_tries() { # FN
	again=""
	_try=1
	while :; do
		if [ $_try -lt "${L1_STALL_TRIES:-3}" ]; then "$1" retry; else "$1"; fi
		[ $? = 2 ] || return 0
		_try=$((_try + 1))
		again=" (boot $_try: the earlier met the L1's spin-lock stall)"
	done
}
