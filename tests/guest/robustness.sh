#!/bin/sh
# Regression cases for what a hostile or careless user broke (issue 11):
# signals reach the VM with any device or an API socket, every thread has a
# seccomp filter, FIFOs are refused where a file is meant, and a failed start
# leaves no files behind. Needs a usable KVM (tests/kvm-suite.sh runs it
# directly or in the nested L1). TAP on stdout.
#
#   sh tests/guest/robustness.sh BUILD
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD" in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
MERAK=${MERAK:-$B/merak}
G=${GUESTS:-$B/tests/guest}
. "$ROOT/tests/lib/tap.sh"

work=$(mktemp -d /tmp/merak-robust.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ ! -x "$MERAK" ] || [ ! -f "$G/hang.elf" ]; then
	tap_fail setup "no merak or hang guest under $B"
	tap_done
	exit 1
fi

# start NAME ARGS...: merak in the background (its own pid, so a signal sent
# to $pid reaches merak alone), with a 90 s watchdog; waits for the guest's
# first line.
start() {
	name=$1
	shift
	"$MERAK" "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null &
	pid=$!
	pids="$pids $pid"
	(sleep 90 && kill -KILL "$pid" 2>/dev/null) >/dev/null 2>&1 &
	waited=0
	while ! grep -q 'hang: spinning' "$work/$name.out" 2>/dev/null &&
		kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 300 ]; do
		sleep 0.2
		waited=$((waited + 1))
	done
}

# finish: waits for merak; rc is its exit status.
finish() {
	wait "$pid"
	rc=$?
}

# Devices that each start a thread of their own, and the control socket.
devices() { # NAME
	truncate -s 1M "$work/$1.img"
	echo "--rng --disk path=$work/$1.img --console file=$work/$1.hvc0 \
--vsock cid=3,socket=$work/$1.vsock --api-socket path=$work/$1.api"
}

# 1. Every thread has a seccomp filter (mode 2). With an API socket the main
# thread stays unconfined (it may have to build another VM: docs/security.md)
# and every other is filtered; without one the main thread is filtered too.
# unfiltered_threads PID [MAIN_EXEMPT]: sets unfiltered and nthreads.
unfiltered_threads() {
	unfiltered=""
	nthreads=0
	for st in /proc/"$1"/task/*/status; do
		nthreads=$((nthreads + 1))
		mode=$(sed -n 's/^Seccomp:[[:space:]]*//p' "$st")
		tid=$(sed -n 's/^Pid:[[:space:]]*//p' "$st")
		[ "${2:-}" = main-exempt ] && [ "$tid" = "$1" ] && continue
		[ "$mode" = 2 ] || unfiltered="$unfiltered $(sed -n 's/^Name:[[:space:]]*//p' "$st")(${mode:-?})"
	done
}
# shellcheck disable=SC2086
start threads-filtered-cli --kernel "$G/hang.elf" --memory size=32M --serial tty --cpus boot=2 \
	$(devices threads-filtered-cli | sed 's/ --api-socket [^ ]*//')
sleep 0.5
unfiltered_threads "$pid"
cli_unfiltered=$unfiltered cli_threads=$nthreads
kill -INT "$pid"
finish
name=threads-filtered
# shellcheck disable=SC2046
start "$name" --kernel "$G/hang.elf" --memory size=32M --serial tty --cpus boot=2 \
	$(devices "$name")
sleep 0.5
unfiltered_threads "$pid" main-exempt
kill -INT "$pid"
finish
if [ -n "$cli_unfiltered$unfiltered" ]; then
	tap_fail "$name" "threads without a filter: without an API socket:${cli_unfiltered:- none}; with one (main exempt):${unfiltered:- none}"
elif [ "$cli_threads" -lt 5 ] || [ "$nthreads" -lt 6 ]; then
	tap_fail "$name" "only $cli_threads / $nthreads threads seen (want main, 2 vCPUs, the workers, control)"
else
	tap_pass "$name" "without an API socket $cli_threads threads, all filtered; with one $nthreads, all but the main thread filtered"
fi

# 2. SIGINT stops at once with 128+2, says so, and removes its sockets.
name=sigint-devices
if [ "$rc" = 130 ] && grep -q 'stopped by signal 2' "$work/threads-filtered.err" &&
	[ ! -e "$work/threads-filtered.api" ] && [ ! -e "$work/threads-filtered.vsock" ]; then
	tap_pass "$name"
else
	tap_fail "$name" "exit $rc (want 130); $(tail -n 2 "$work/threads-filtered.err")
sockets left: $(ls "$work"/threads-filtered.api "$work"/threads-filtered.vsock 2>/dev/null)"
fi

# 3. SIGTERM with devices and an API socket presses the power button; a guest
#    that honours it powers off (exit 0).
name=sigterm-power-button
# shellcheck disable=SC2046
start "$name" --kernel "$G/hang.elf" --cmdline button --memory size=32M --serial tty \
	--log-level info $(devices "$name")
kill -TERM "$pid"
finish
if [ "$rc" = 0 ] && grep -q 'power button pressed; powering off' "$work/$name.out" &&
	grep -q 'pressing the ACPI power button' "$work/$name.err" && [ ! -e "$work/$name.api" ]; then
	tap_pass "$name"
else
	tap_fail "$name" "exit $rc (want 0); $(tail -n 3 "$work/$name.out" "$work/$name.err")"
fi

# 4. A guest that ignores it: the grace period, where each vCPU was, 128+15.
name=sigterm-grace-report
# shellcheck disable=SC2046
start "$name" --kernel "$G/hang.elf" --memory size=32M --serial tty --cpus boot=2 \
	$(devices "$name")
kill -TERM "$pid"
finish
if [ "$rc" = 143 ] && grep -q 'vCPU 0: RIP 0x' "$work/$name.err" &&
	grep -q 'vCPU 1: RIP 0x' "$work/$name.err" &&
	grep -q 'did not power off within 10 s of SIGTERM' "$work/$name.err" &&
	[ ! -e "$work/$name.api" ]; then
	tap_pass "$name"
else
	tap_fail "$name" "exit $rc (want 143); $(tail -n 3 "$work/$name.err")"
fi

# 5. SIGHUP: 128+1 at once.
name=sighup-devices
# shellcheck disable=SC2046
start "$name" --kernel "$G/hang.elf" --memory size=32M --serial tty $(devices "$name")
kill -HUP "$pid"
finish
if [ "$rc" = 129 ] && grep -q 'stopped by signal 1' "$work/$name.err"; then
	tap_pass "$name"
else
	tap_fail "$name" "exit $rc (want 129); $(tail -n 2 "$work/$name.err")"
fi

# 6. A FIFO where a file is meant is refused at once (it used to hang).
mkfifo "$work/fifo"
truncate -s 1M "$work/disk.img"
fifo_case() { # NAME ARGS...
	name=fifo-$1
	shift
	timeout 20 "$MERAK" "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null
	rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q 'FIFO' "$work/$name.err"; then
		tap_pass "$name"
	else
		tap_fail "$name" "exit $rc (want an error naming the FIFO): $(head -n 1 "$work/$name.err")"
	fi
}
K="--kernel $G/hang.elf --memory size=32M"
fifo_case kernel --kernel "$work/fifo" --memory size=32M --serial null
fifo_case initramfs $K --initramfs "$work/fifo" --serial null
fifo_case firmware --firmware "$work/fifo" --memory size=32M --serial null
fifo_case disk-readonly $K --disk "path=$work/fifo,readonly=on" --serial null
fifo_case disk $K --disk "path=$work/fifo" --serial null
fifo_case serial-file $K --serial "file=$work/fifo"
fifo_case console-file $K --serial null --console "file=$work/fifo"
fifo_case measure-firmware measure --firmware "$work/fifo"
fifo_case measure-event-log measure --replay-event-log "$work/fifo"

# 7. A start that fails after the output files were opened removes them.
name=failed-start-no-litter
head -c 8192 /dev/zero >"$work/garbage.bin"
"$MERAK" --kernel "$work/garbage.bin" --memory size=32M --serial "file=$work/litter.serial" \
	--console "file=$work/litter.hvc0" >"$work/$name.out" 2>"$work/$name.err" </dev/null
rc=$?
if [ "$rc" = 1 ] && [ ! -e "$work/litter.serial" ] && [ ! -e "$work/litter.hvc0" ]; then
	tap_pass "$name"
else
	tap_fail "$name" "exit $rc; left: $(ls "$work"/litter.* 2>/dev/null); $(head -n 1 "$work/$name.err")"
fi

tap_done
