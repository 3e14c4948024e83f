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

# tap_up_when_created TAP LOG: merak creates TAP; once it exists (60 s at
# most) the host end gets 10.0.2.2/24 and is brought up. Sets tap_pid.
tap_up_when_created() {
	(_n=0
	 while [ ! -e "/sys/class/net/$1" ] && [ $_n -lt 600 ]; do sleep 0.1; _n=$((_n + 1)); done
	 ip addr add 10.0.2.2/24 dev "$1" && ip link set "$1" up) >"$2" 2>&1 &
	tap_pid=$!
}
