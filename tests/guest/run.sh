#!/bin/sh
# Boots every test guest under merak and checks its verdict (serial output
# and merak's exit status). Ends with "N passed, M failed, K skipped".
#
# MERAK_KVM_TESTS=skip (set by tests/run-all.sh on a host without KVM)
# reports every case as SKIP, loudly; otherwise a missing KVM fails them.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MERAK=${MERAK:-$ROOT/$BUILD/merak}
GUESTS=${GUESTS:-$ROOT/$BUILD/tests/guest}
TIMEOUT=${GUEST_TIMEOUT:-120}
work=$(mktemp -d /tmp/merak-guests.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

pass=0
fail=0
skip=0

. "$ROOT/tests/kvm-check.sh"
. "$ROOT/tests/host-side.sh"

# An initrd with a known pattern: byte i = (7i + 3) mod 256 (period 256).
i=0
while [ "$i" -lt 256 ]; do
	# shellcheck disable=SC2059
	printf "\\$(printf '%03o' $(((7 * i + 3) & 255)))"
	i=$((i + 1))
done >"$work/pattern.bin"
i=0
while [ "$i" -lt 49 ]; do cat "$work/pattern.bin"; i=$((i + 1)); done | head -c 12345 >"$work/initrd.bin"

# case NAME EXPECTED_STATUS EXPECTED_OUTPUT_REGEX STDIN -- merak args...
run_case() {
	name=$1 want_rc=$2 want_out=$3 input=$4
	shift 5
	if [ -n "$kvm_reason" ]; then
		if [ "${MERAK_KVM_TESTS:-run}" = skip ]; then
			echo "SKIP $name: no usable /dev/kvm ($kvm_reason)"
			skip=$((skip + 1))
		else
			echo "FAIL $name: no usable /dev/kvm ($kvm_reason)"
			fail=$((fail + 1))
		fi
		return
	fi
	if [ ! -x "$MERAK" ]; then
		echo "FAIL $name: no merak binary at $MERAK"
		fail=$((fail + 1))
		return
	fi
	if [ -z "$input" ]; then
		timeout "$TIMEOUT" "$MERAK" "$@" --serial tty </dev/null \
			>"$work/$name.out" 2>"$work/$name.err"
		rc=$?
	else
		# Input is typed only once the guest says it waits for it, so
		# that it arrives by interrupt, after the loopback checks.
		mkfifo "$work/$name.in"
		timeout "$TIMEOUT" "$MERAK" "$@" --serial tty <"$work/$name.in" \
			>"$work/$name.out" 2>"$work/$name.err" &
		pid=$!
		exec 3>"$work/$name.in"
		waited=0
		while ! grep -q 'waiting for input' "$work/$name.out" 2>/dev/null &&
			kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$((TIMEOUT * 5))" ]; do
			sleep 0.2
			waited=$((waited + 1))
		done
		printf '%b' "$input" >&3 2>/dev/null
		exec 3>&-
		wait "$pid"
		rc=$?
	fi
	if [ "$rc" = "$want_rc" ] && grep -qE "$want_out" "$work/$name.out" "$work/$name.err"; then
		# A guest's NOTE (a check it could not make here) rides on the PASS line.
		note=$(grep -h -m1 'NOTE:' "$work/$name.out" | sed 's/.*NOTE: *//')
		echo "PASS $name${note:+ (note: $note)}"
		pass=$((pass + 1))
	else
		why=$(grep -h -m1 -E 'FAIL|error|merak:' "$work/$name.out" "$work/$name.err" | head -n 1)
		[ "$rc" = 124 ] && why="timed out after ${TIMEOUT}s; $why"
		echo "FAIL $name: exit $rc (want $want_rc) ${why}"
		sed 's/^/    | /' "$work/$name.out" | tail -n 5
		sed 's/^/    ! /' "$work/$name.err" | tail -n 3
		fail=$((fail + 1))
	fi
}

G=$GUESTS
# The smp guest only notes a CPUID that is not merak's (hosts whose guests
# read the host's CPUID, docs/testing.md); MERAK_STRICT_CPUID=1 makes it fail.
strict=""
[ "${MERAK_STRICT_CPUID:-0}" = 1 ] && strict=" strict_cpuid"
for fl in elf bzImage; do
	run_case "boot_info-$fl" 0 'TEST boot_info: PASS' '' -- --kernel "$G/boot_info.$fl" \
		--initramfs "$work/initrd.bin" --cmdline "marker=merak expect_mem=64 expect_initrd=12345" \
		--memory size=64M
	run_case "smp-$fl" 0 'TEST smp: PASS' '' -- --kernel "$G/smp.$fl" \
		--cmdline "expect_cpus=4$strict" --cpus boot=4 --memory size=64M
	run_case "acpi-$fl" 0 'TEST acpi: PASS' '' -- --kernel "$G/acpi.$fl" \
		--cmdline "expect_cpus=2" --cpus boot=2 --memory size=64M
done
for chip in kernel split; do
	run_case "serial-$chip" 0 'TEST serial: PASS' 'ping\n' -- --kernel "$G/serial.elf" \
		--memory size=64M --platform irqchip=$chip
	run_case "ioapic-$chip" 0 'TEST ioapic: PASS' '' -- --kernel "$G/ioapic.elf" \
		--memory size=64M --platform irqchip=$chip
done
run_case smp-x2apic 0 'TEST smp: PASS' '' -- --kernel "$G/smp.elf" --cmdline "expect_cpus=4 x2apic$strict" \
	--cpus boot=4 --memory size=64M
run_case smp-split 0 'TEST smp: PASS' '' -- --kernel "$G/smp.elf" --cmdline "expect_cpus=3$strict" \
	--cpus boot=3 --memory size=64M --platform irqchip=split
run_case big-memory 0 'TEST boot_info: PASS' '' -- --kernel "$G/boot_info.elf" \
	--cmdline "marker=merak expect_mem=3584" --memory size=3584M
run_case hello-bzImage 0 "hello from a merak test guest" "" -- --kernel "$G/hello.bzImage" --memory size=32M
run_case reset 0 'requested a reset' '' -- --kernel "$G/reset.elf" --memory size=64M
run_case triple-fault 3 'triple fault at RIP' '' -- --kernel "$G/triple_fault.elf" --memory size=64M
run_case seccomp-off 0 'TEST smp: PASS' '' -- --kernel "$G/smp.elf" --cmdline "expect_cpus=2$strict" \
	--cpus boot=2 --memory size=64M --seccomp false

# virtio: a minimal driver per device in the guest, and the host's side.
# The image starts with a marker the guest reads; the guest writes its own
# block at 4 KiB, which must be in the image once merak has exited.
virtio_image() {
	{ printf 'merak-disk-image'; head -c $((1024 * 1024 - 16)) /dev/zero; } >"$1"
}
virtio_host_checks() {
	name=$1
	[ "$rc" = 0 ] || return 0	# run_case already failed it
	if ! dd if="$work/$name.img" bs=512 skip=8 count=1 2>/dev/null | grep -q 'merak test guest wrote this block'; then
		echo "FAIL $name: the image lacks the guest's flushed block"
		fail=$((fail + 1)) pass=$((pass - 1))
	elif ! grep -q 'merak-guest: hello on hvc0' "$work/$name.hvc0"; then
		echo "FAIL $name: the console file lacks the guest's hvc0 line"
		fail=$((fail + 1)) pass=$((pass - 1))
	fi
}
for chip in kernel split; do
	name=virtio-$chip
	virtio_image "$work/$name.img"
	virtio_image "$work/$name.ro.img"
	run_case "$name" 0 'TEST virtio: PASS' '' -- --kernel "$G/virtio.elf" \
		--cmdline "blk ro rng console blk_sectors=2048" --memory size=64M --platform irqchip=$chip \
		--disk "path=$work/$name.img,serial=vdisk0" --disk "path=$work/$name.ro.img,readonly=on" \
		--rng --console "file=$work/$name.hvc0"
	virtio_host_checks "$name"
done
virtio_image "$work/hostile.img"
run_case virtio-hostile 0 'TEST virtio_hostile: PASS' '' -- --kernel "$G/virtio_hostile.elf" \
	--memory size=64M --disk "path=$work/hostile.img" --rng

# net and vsock need a tap (root) and a host listener (build/tests/vsock_peer).
net_vsock_case() {
	name=virtio-net-vsock
	peer=${VSOCK_PEER:-$ROOT/$BUILD/tests/vsock_peer}
	tap=mkvio$$
	if [ -z "$kvm_reason" ] && [ ! -x "$peer" ]; then
		echo "FAIL $name: no vsock peer at $peer"
		fail=$((fail + 1))
		return
	fi
	if [ -z "$kvm_reason" ]; then
		vsock_peer_start "$peer" "$work/vsock" "$work/peer.out" --listen-only
		tap_up_when_created "$tap" "$work/tap.log"
	fi
	run_case "$name" 0 'TEST virtio: PASS' '' -- --kernel "$G/virtio.elf" \
		--cmdline "net vsock cid=7" --memory size=64M \
		--net "tap=$tap,mac=52:54:00:12:34:56" --vsock "cid=7,socket=$work/vsock"
	[ -n "$kvm_reason" ] && return
	kill "$tap_pid" 2>/dev/null
	n=0
	while kill -0 "$peer_pid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	kill "$peer_pid" 2>/dev/null
	if [ "$rc" = 0 ] && ! grep -q 'vsock-peer: ok' "$work/peer.out"; then
		echo "FAIL $name: the host's vsock listener: $(tail -n 1 "$work/peer.out")"
		fail=$((fail + 1)) pass=$((pass - 1))
	fi
}
net_vsock_case

# Without root (docs/security.md): merak as nobody whose only privilege is
# /dev/kvm's group, with the seccomp filters on, drives disks, rng and
# console from files that user owns. Needs root to drop privileges and
# util-linux's setpriv; /dev/kvm must be group read-write (udev's root:kvm
# 0660), which the throwaway nested L1 arranges for itself.
unprivileged_case() {
	name=unprivileged
	setpriv=/usr/bin/setpriv
	if [ -z "$kvm_reason" ]; then
		why=""
		[ "$(id -u)" = 0 ] || why="needs root to drop to another user"
		[ -z "$why" ] && [ ! -x "$setpriv" ] && why="no $setpriv (Debian package util-linux)"
		if [ -z "$why" ] && [ -n "${MERAK_NESTED_L1:-}" ]; then
			chgrp 36 /dev/kvm && chmod 0660 /dev/kvm
		fi
		if [ -z "$why" ]; then
			case $(stat -c %a /dev/kvm) in
			?6? | ?7?) ;;
			*) why="/dev/kvm is not group read-write ($(stat -c '%U:%G %a' /dev/kvm))" ;;
			esac
		fi
		if [ -n "$why" ]; then
			echo "FAIL $name: $why"
			fail=$((fail + 1))
			return
		fi
		d=$work/unpriv
		mkdir -p "$d"
		chmod 0711 "$work"	# mktemp's 0700 would keep the user out
		virtio_image "$d/disk.img"
		virtio_image "$d/ro.img"
		chown -R 65534:65534 "$d"
		printf '#!/bin/sh\nexec %s --reuid=65534 --regid=65534 --groups=%s -- %s "$@"\n' \
			"$setpriv" "$(stat -c %g /dev/kvm)" "$MERAK" >"$work/as-nobody"
		chmod +x "$work/as-nobody"
	fi
	real=$MERAK
	MERAK=$work/as-nobody
	run_case "$name" 0 'TEST virtio: PASS' '' -- --kernel "$G/virtio.elf" \
		--cmdline "blk ro rng console blk_sectors=2048" --memory size=64M \
		--disk "path=$d/disk.img,serial=vdisk0" --disk "path=$d/ro.img,readonly=on" \
		--rng --console "file=$d/hvc0" --api-socket "path=$d/api.sock"
	MERAK=$real
	[ -z "$kvm_reason" ] && [ "$rc" = 0 ] && [ "$(stat -c %u "$d/hvc0")" != 65534 ] && {
		echo "FAIL $name: the console file was not created by the unprivileged user"
		fail=$((fail + 1)) pass=$((pass - 1))
	}
}
unprivileged_case

# A hung guest: SIGTERM, the power-button grace period, then merak names
# where each vCPU was (RAX holds the guest's marker) and exits 128 + SIGTERM.
hang_case() {
	name=hang-report
	if [ -n "$kvm_reason" ]; then
		run_case "$name" 0 x '' -- # reports the skip or failure
		return
	fi
	timeout "$TIMEOUT" "$MERAK" --kernel "$G/hang.elf" --memory size=32M --serial tty \
		</dev/null >"$work/$name.out" 2>"$work/$name.err" &
	pid=$!
	waited=0
	while ! grep -q 'spinning' "$work/$name.out" 2>/dev/null && [ "$waited" -lt 300 ]; do
		sleep 0.2
		waited=$((waited + 1))
	done
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	if [ "$rc" = 143 ] && grep -q 'vCPU 0: RIP 0x[0-9a-f]* .*RAX 0x4d4552414b ' "$work/$name.err" &&
		grep -q 'did not power off' "$work/$name.err"; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name: exit $rc (want 143) without the vCPU report"
		sed 's/^/    ! /' "$work/$name.err" | tail -n 4
		fail=$((fail + 1))
	fi
}
hang_case

if [ "$skip" -gt 0 ]; then
	echo "################################################################"
	echo "# $skip test-guest case(s) SKIPPED: no usable KVM on this host"
	echo "################################################################"
fi
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
