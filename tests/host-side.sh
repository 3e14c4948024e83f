# Host ends of a guest's vsock and network devices for the test scripts
# (sourced; POSIX sh). Each starts a background job and sets its pid.

# vsock_peer_start PEER PATH OUT [ARG]: runs tests/e2e/tools/vsock_peer on
# PATH with its output in OUT, and waits (5 s at most) until it listens.
# Sets peer_pid.
vsock_peer_start() {
	"$1" "$2" ${4:+"$4"} >"$3" 2>&1 &
	peer_pid=$!
	_n=0
	while ! grep -q listening "$3" 2>/dev/null && [ $_n -lt 50 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
}

# netns_start: a network namespace of the test's own, held by a sleeping
# process, for a VM's tap: its 10.0.2.2/24 never meets the host's interfaces
# or another run's tap (two test runs on one host each configure that
# subnet). Sets netns_pid and netns_run, the prefix that runs a command in
# it (util-linux, or busybox in the nested L1); netns_stop ends it.
netns_start() {
	_u=/usr/bin/unshare
	[ -x "$_u" ] || _u=unshare
	"$_u" -n sleep 86400 &
	netns_pid=$!
	_n=0
	while [ "$(readlink "/proc/$netns_pid/ns/net")" = "$(readlink /proc/$$/ns/net)" ] && [ $_n -lt 50 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	_e=/usr/bin/nsenter
	[ -x "$_e" ] || _e=nsenter
	netns_run="$_e -t $netns_pid -n"
}
netns_stop() {
	kill "$netns_pid" 2>/dev/null
	wait "$netns_pid" 2>/dev/null
}

# tap_up_when_created TAP LOG [PREFIX]: merak creates TAP; once it exists (60 s
# at most) the host end gets 10.0.2.2/24 and is brought up, with PREFIX
# ($netns_run) in the test's network namespace. Sets tap_pid.
tap_up_when_created() {
	(_n=0
	 while ! ${3:-} ip link show "$1" >/dev/null 2>&1 && [ $_n -lt 600 ]; do sleep 0.1; _n=$((_n + 1)); done
	 ${3:-} ip addr add 10.0.2.2/24 dev "$1" && ${3:-} ip link set "$1" up) >"$2" 2>&1 &
	tap_pid=$!
}
