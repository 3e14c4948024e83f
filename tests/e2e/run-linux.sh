#!/bin/sh
# `make test-linux`: boots the tiny Linux under merak with 2 vCPUs and
# 128 MiB and checks that init ran, saw both CPUs and the memory, and powered
# off cleanly (linux-boot); then with every virtio device, checking both
# sides (linux-devices); a disk hot-plugged over the API and removed again
# (linux-hotplug); then kills merak with SIGKILL right after the guest's
# flushed write and checks the image (linux-kill9). Needs root for the tap.
# Prints TAP (tests/lib/tap.sh); fails loudly (never skips) when it cannot run.
# It boots an OS: tests/kvm-suite.sh runs it on a sound KVM, else in the
# nested L1 (a KVM that emulates guest kernel code cannot boot it).
# kvm-suite: os
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BUILD" in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
MERAK=${MERAK:-$B/merak}
TIMEOUT=${LINUX_TIMEOUT:-900}

. "$ROOT/tests/lib/tap.sh"
fail() {
	tap_fail linux-boot "$*"
	tap_done
	exit 1
}

. "$ROOT/tests/kvm-check.sh"
. "$ROOT/tests/host-side.sh"
[ -z "$kvm_reason" ] || fail "no usable /dev/kvm ($kvm_reason): the tiny Linux cannot be booted here"
[ -x "$MERAK" ] || fail "no merak binary at $MERAK"
# MERAK_LINUX_PREBUILT: a directory holding vmlinux and initramfs.cpio already
# built (tests/nested hands the host's cache to its L1 this way).
if [ -n "${MERAK_LINUX_PREBUILT:-}" ]; then
	cache=$MERAK_LINUX_PREBUILT
else
	cache=$(sh "$ROOT/tests/e2e/linux/build.sh") || fail "the tiny kernel did not build"
fi
out=$(mktemp /tmp/merak-linux.XXXXXX)
CMDLINE="$(cat "$ROOT/tests/e2e/linux/cmdline") merak_e2e.cpus=2 merak_e2e.mem=128${MERAK_LINUX_EXTRA_CMDLINE:+ $MERAK_LINUX_EXTRA_CMDLINE}"
# Without its PV clock (nopv, in the nested L1: docs/testing.md) Linux on AMD
# has no way to learn the TSC frequency but a PIT, which merak's default
# (split) irqchip does not have; tsc_early_khz= tells it. The L1's TSC is the
# host's (QEMU's TCG reads the host's), so tests/kvm-suite.sh measures it on
# the host (tests/e2e/tools/tsc_khz.c) and passes MERAK_LINUX_TSC_KHZ: the
# L1's own calibration under emulation was seen 2.7 times too low, and a
# guest told that runs its clock 2.7 times fast (its 10 s wait for the
# second CPU then lasts under 4 s). KVM's irqchip with its PIT is not used
# there: the L1 stalled most often at the PIT's first interrupts through
# KVM's IOAPIC (docs/log/2026-12.md).
# Without the host's value, this kernel's: its log's last calibration line,
# or the frequency /proc/cpuinfo shows should the log have scrolled (the
# kernel's CPU calibration, the TSC's on a machine without APERF/MPERF).
kernel_tsc_khz() {
	_k=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9]*\)\.\([0-9]\{3\}\) MHz.*/\1\2/p;
		s/.*tsc: Detected \([0-9]*\)\.\([0-9]\{3\}\) MHz processor.*/\1\2/p;
		s/.*tsc: Detected \([0-9]*\)\.\([0-9]\{3\}\) MHz TSC.*/\1\2/p' | tail -n 1)
	[ -n "$_k" ] || _k=$(sed -n 's/^cpu MHz[[:space:]]*: \([0-9]*\)\.\([0-9]\{3\}\)$/\1\2/p' /proc/cpuinfo | head -n 1)
	echo "$_k"
}
tsc_note=""
case " ${MERAK_LINUX_EXTRA_CMDLINE:-} " in
*" nopv "*)
	own=$(kernel_tsc_khz)
	if [ -n "${MERAK_LINUX_TSC_KHZ:-}" ]; then
		khz=$MERAK_LINUX_TSC_KHZ from="measured on the host; this kernel's calibration: ${own:-none} kHz"
	else
		khz=$own from="this kernel's calibration"
	fi
	[ -n "$khz" ] || fail "nopv: the TSC frequency was not measured on the host (MERAK_LINUX_TSC_KHZ) and is neither in this kernel's log (dmesg) nor in /proc/cpuinfo, so the guest cannot be told it"
	CMDLINE="$CMDLINE tsc_early_khz=$khz"
	tsc_note="no PV clock: the guest is told the TSC runs at $khz kHz ($from)"
	tap_diag "$tsc_note"
	;;
esac

# Runs merak (ARGS, after any prefix such as nsenter's) in the background with
# its console going to OUT: stopped with one SIGTERM (merak then reports each
# vCPU's registers) once the console has been silent for STALL seconds, and
# killed at TIMEOUT. Sets rc to merak's exit status and secs to its run time.
STALL=${LINUX_STALL:-120}
run_watched() { # OUT ARGS...
	_out=$1
	shift
	start=$(date +%s)
	"$@" &
	_pid=$!
	_size=-1 _quiet=0 _term=0
	while kill -0 $_pid 2>/dev/null; do
		sleep 1
		_now=$(wc -c <"$_out" 2>/dev/null || echo 0)
		if [ "$_now" = "$_size" ]; then _quiet=$((_quiet + 1)); else _quiet=0 _size=$_now; fi
		_el=$(($(date +%s) - start))
		if [ $_term = 0 ] && { [ $_quiet -ge "$STALL" ] || [ $_el -ge "$TIMEOUT" ]; }; then
			kill -TERM $_pid 2>/dev/null
			_term=$_el
		elif [ $_term != 0 ] && [ $((_el - _term)) -ge 60 ]; then
			kill -KILL $_pid 2>/dev/null
		fi
	done
	wait $_pid
	rc=$?
	secs=$(($(date +%s) - start))
}

. "$ROOT/tests/lib/l1-stall.sh"

boot_case() {
	: >"$out"
	run_watched "$out" "$MERAK" --kernel "$cache/vmlinux" --initramfs "$cache/initramfs.cpio" \
		--cmdline "$CMDLINE" --cpus boot=2 --memory size=128M --serial "file=$out" 2>"$out.err"
	[ "$rc" != 0 ] && l1_stall_retry linux-boot "$out.err" "${1:-}" && return 2
	return 0
}
l1_tries boot_case
tail -n 20 "$out" | sed 's/^/# /'
# A failure carries what CI's summary needs to tell a hang from a crash:
# each vCPU's registers from merak's report and the console's last lines.
grep -q 'merak-e2e: init ran' "$out" ||
	fail "init never ran$again (exit $rc after ${secs}s; see $out, $out.err)$(grep -m 1 -v 'vCPU [0-9]*:' "$out.err" | sed 's/^/: /')
$(vcpu_regs "$out.err")
console's last lines:
$(tail -n 5 "$out")"
# What init saw and, for a CPU that did not come up, the kernel's own words.
grep -q 'merak-e2e: PASS' "$out" || fail "init's checks failed$again (see $out)
$(grep -a 'merak-e2e: ' "$out" | tail -n 6)
$(grep -a -i -m 6 'smpboot\|CPU[0-9]* failed\|stuck\|BUG:\|WARNING:\|tsc:' "$out")${tsc_note:+
$tsc_note}"
[ "$rc" = 0 ] || fail "merak exited $rc instead of 0 after the guest's power-off"
tap_pass linux-boot "${secs}s to power-off$again"
# From now on make run may offer the tiny Linux as its demo.
echo "$secs" >"$cache/booted-ok" 2>/dev/null

# Every virtio device, with the host's side checked here: the block the guest
# wrote and flushed is in the image, hvc0's line in the console file, the tap
# saw the guest's traffic (the guest checks the answer came back), and the
# vsock peer exchanged lines both ways.
work=$(mktemp -d /tmp/merak-linux-dev.XXXXXX)
PEER=${VSOCK_PEER:-$B/tests/vsock_peer}
TAP=mtap$$
MAC=52:54:00:6d:72:6b
expected_block() {
	printf 'merak-e2e block'
	awk 'BEGIN { for (i = 0; i < 4096; i++) printf "%c", 65 + (i * 7 + 3) % 26 }' | tail -c +16
}
expected_block >"$work/block.want"
image_block() { dd if="$1" bs=4096 skip=256 count=1 2>/dev/null; }
device_case() {
	dd if=/dev/zero of="$work/disk.img" bs=1M count=8 2>/dev/null
	vsock_peer_start "$PEER" "$work/vsock" "$work/peer.out"
	# The tap lives in a network namespace of the test's own (host-side.sh).
	netns_start
	tap_up_when_created "$TAP" "$work/tap.log" "$netns_run"
	# Every file the checks read starts empty: merak appends to the console file.
	: >"$work/serial"
	: >"$work/hvc0"
	run_watched "$work/serial" $netns_run "$MERAK" --kernel "$cache/vmlinux" --initramfs "$cache/initramfs.cpio" \
		--cmdline "$CMDLINE merak_e2e.devices=1 merak_e2e.mac=$MAC" --cpus boot=2 --memory size=128M \
		--disk "path=$work/disk.img,serial=merak-e2e" --rng --console "file=$work/hvc0" \
		--net "tap=$TAP,mac=$MAC" --vsock "cid=3,socket=$work/vsock" \
		--serial "file=$work/serial" 2>"$work/err"
	# With merak gone the peer can only be reading what is already in its
	# socket: 10 s for that, rather than its own 300 s accept timeout.
	n=0
	while kill -0 $peer_pid 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	kill $peer_pid $tap_pid 2>/dev/null
	wait $peer_pid
	peer_rc=$?
	wait $tap_pid 2>/dev/null
	netns_stop
	grep 'merak-e2e: [a-z0-9]*:' "$work/serial" | sed 's/^/# /'
	why=""
	grep -q 'merak-e2e: PASS' "$work/serial" || why="the guest's checks failed: $(grep -m1 FAIL "$work/serial")"
	[ -z "$why" ] && [ "$rc" != 0 ] && why="merak exited $rc"
	[ -z "$why" ] && ! image_block "$work/disk.img" | cmp -s - "$work/block.want" &&
		why="the image lacks the block the guest wrote"
	[ -z "$why" ] && ! grep -q 'merak-e2e: hello on hvc0' "$work/hvc0" &&
		why="the console file lacks hvc0's line"
	[ -z "$why" ] && [ "$peer_rc" != 0 ] && why="vsock: $(cat "$work/peer.out" | tail -n 1)"
	if [ -z "$why" ]; then
		tap_pass linux-devices "${secs}s: blk, rng, console, net, vsock$again"
	elif [ "$rc" != 0 ] && l1_stall_retry linux-devices "$work/err" "${1:-}"; then
		return 2
	else
		tap_fail linux-devices "$why$again
$(vcpu_regs "$work/err")
$(tail -n 5 "$work/serial" "$work/err" "$work/tap.log" | sed 's/^/| /')"
	fi
}
l1_tries device_case

# Hotplug seen from inside: a disk added over the API while the guest runs
# is found by Linux (acpiphp, on merak's ACPI hotplug), read, and given up
# when the API removes it; the guest then powers off. The note has the time
# from the add-disk request to the guest's line (the guest polls every 0.1 s).
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
wait_serial() { # TEXT SECONDS
	_n=0
	while ! grep -q "$1" "$work/serial" 2>/dev/null && kill -0 $pid 2>/dev/null &&
		[ $_n -lt $(($2 * 10)) ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	grep -q "$1" "$work/serial" 2>/dev/null
}
hotplug_case() {
	: >"$work/serial"
	printf 'merak-hotplug' >"$work/hp.img"
	truncate -s 1M "$work/hp.img"
	rm -f "$work/api.sock"
	"$MERAK" --kernel "$cache/vmlinux" --initramfs "$cache/initramfs.cpio" \
		--cmdline "$CMDLINE merak_e2e.hotplug=1" --cpus boot=2 --memory size=128M \
		--serial "file=$work/serial" --api-socket "path=$work/api.sock" -vv 2>"$work/err" &
	pid=$!
	why=""
	wait_serial 'hotplug: waiting for vda' 180 || why="the guest never got to wait for vda"
	if [ -z "$why" ]; then
		t0=$(now_ms)
		added=$(timeout 40 "$MERAK" remote --api-socket "$work/api.sock" add-disk "path=$work/hp.img,id=hp" 2>&1) ||
			why="add-disk: $added"
	fi
	if [ -z "$why" ]; then
		wait_serial 'vda arrived and reads merak-hotplug' 60 ||
			why="the guest did not find and read the added disk ($added)"
		t1=$(now_ms)
	fi
	if [ -z "$why" ]; then
		# The removal waits up to 4 s for the guest's eject; a slow guest
		# gets the request again (it stays pending) until it has ejected.
		tries=0
		until removed=$(timeout 40 "$MERAK" remote --api-socket "$work/api.sock" remove-device hp 2>&1); do
			tries=$((tries + 1))
			[ $tries -lt 5 ] || break
		done
		[ $tries -lt 5 ] || why="remove-device: $removed"
	fi
	[ -z "$why" ] && ! wait_serial 'hotplug: vda removed' 60 && why="the guest still has vda after the removal"
	[ -z "$why" ] && ! wait_serial 'merak-e2e: PASS' 60 && why="the guest's checks failed"
	n=0
	while kill -0 $pid 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
	if kill -0 $pid 2>/dev/null; then
		# Where each of merak's threads is, for the failure report.
		threads=$(for t in /proc/$pid/task/*; do
			echo "$(cat "$t/comm") $(cut -d' ' -f1 "$t/syscall" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)"
		done)
		why="${why:-merak still runs after the guest should have powered off}; threads: $threads"
		kill -TERM $pid 2>/dev/null
		n=0
		while kill -0 $pid 2>/dev/null && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
		kill -KILL $pid 2>/dev/null
	fi
	wait $pid
	rc=$?
	[ -z "$why" ] && [ "$rc" != 0 ] && why="merak exited $rc"
	grep 'merak-e2e: hotplug' "$work/serial" | sed 's/^/# /'
	if [ -z "$why" ]; then
		tap_pass linux-hotplug "add-disk to the guest reading it: $((t1 - t0)) ms; $added; removal took $((tries + 1)) request(s)$again"
	elif [ "$rc" != 0 ] && l1_stall_retry linux-hotplug "$work/err" "${1:-}"; then
		return 2
	else
		tap_fail linux-hotplug "$why$again
$(vcpu_regs "$work/err")
$(tail -n 8 "$work/serial" "$work/err" | sed 's/^/| /')"
	fi
}
l1_tries hotplug_case

# Data safety: kill -9 as soon as the guest says its write was flushed; the
# block must be in the image all the same.
kill9_case() {
	dd if=/dev/zero of="$work/disk.img" bs=1M count=8 2>/dev/null
	: >"$work/serial"
	"$MERAK" --kernel "$cache/vmlinux" --initramfs "$cache/initramfs.cpio" \
		--cmdline "$CMDLINE merak_e2e.devices=1" --cpus boot=2 --memory size=128M \
		--disk "path=$work/disk.img,serial=merak-e2e" --serial "file=$work/serial" 2>"$work/err" &
	pid=$!
	# The flushed write comes about 10 s after start; 180 s is a hang.
	start=$(date +%s)
	while ! grep -q 'merak-e2e: vda: wrote and flushed' "$work/serial" && kill -0 $pid 2>/dev/null &&
		[ $(($(date +%s) - start)) -lt 180 ]; do
		sleep 0.1
	done
	if grep -q 'merak-e2e: vda: wrote and flushed' "$work/serial"; then
		kill -KILL $pid 2>/dev/null
	else
		kill -TERM $pid 2>/dev/null # a hung guest: merak logs its vCPUs' registers
	fi
	wait $pid 2>/dev/null
	if ! grep -q 'merak-e2e: vda: wrote and flushed' "$work/serial"; then
		l1_stall_retry linux-kill9 "$work/err" "${1:-}" && return 2
		tap_fail linux-kill9 "the guest never reported its flushed write$again
$(vcpu_regs "$work/err")
$(tail -n 5 "$work/serial" "$work/err" | sed 's/^/| /')"
	elif image_block "$work/disk.img" | cmp -s - "$work/block.want"; then
		tap_pass linux-kill9 "the flushed block survived kill -9$again"
	else
		tap_fail linux-kill9 "the flushed block is not in the image after kill -9"
	fi
}
l1_tries kill9_case
rm -rf "$work"
tap_done
