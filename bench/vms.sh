#!/bin/sh
# Whole VMs, merak against Debian's QEMU (-M microvm) on the same guests
# (bench/vm-compare.sh), on this host's KVM or, without one, on the nested
# KVM of tests/nested (QEMU TCG with emulated SVM: absolute times there are
# an emulator's, the ratios still compare the two VMMs on one KVM).
#
#   bench/vms.sh BUILD_DIR      (BENCH_RUNS runs of each)
set -u
BUILD=${1:-build}
RUNS=${BENCH_RUNS:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MERAK=$ROOT/$BUILD/merak
GUEST=$ROOT/$BUILD/tests/guest/hello.elf
LINUX_CACHE=${MERAK_LINUX_CACHE:-/var/cache/merak/linux-6.1}
linux_args=""
[ -f "$LINUX_CACHE/vmlinux" ] && [ -f "$LINUX_CACHE/initramfs.cpio" ] &&
	linux_args="$LINUX_CACHE/vmlinux $LINUX_CACHE/initramfs.cpio $ROOT/tests/e2e/linux/cmdline"
# Where tests/tools/kvm_probe says a Linux can boot: a KVM that emulates
# guest kernel code (pvm) cannot, and there both VMMs go to the L1 too.
. "$ROOT/tests/lib/probe.sh"
probe_host "$BUILD" || probe_verdict=nokvm
kvm_reason=${probe_reason:-no usable /dev/kvm}
if [ "$probe_verdict" = sound ]; then
	echo "VMs on this host's KVM"
	# shellcheck disable=SC2086
	sh "$ROOT/bench/vm-compare.sh" "$MERAK" "$GUEST" $linux_args
elif command -v qemu-system-x86_64 >/dev/null; then
	echo "VMs on the nested KVM (here: $probe_verdict: $kvm_reason)"
	files=""
	for f in $linux_args; do files="$files --file $f"; done
	# Room for every run to time out, so that a hung run costs its row only.
	# shellcheck disable=SC2086
	NESTED_TIMEOUT=$((RUNS * 4 * ${BENCH_TIMEOUT:-120} + 600)) \
	sh "$ROOT/tests/nested/run.sh" --file "$ROOT/bench/vm-compare.sh" --file /usr/bin/time \
		--file "$(command -v qemu-system-x86_64)" --file /usr/share/qemu --file /usr/share/seabios \
		--file "$MERAK" --file "$GUEST" $files -- \
		env BENCH_RUNS="$RUNS" BENCH_TIMEOUT="${BENCH_TIMEOUT:-120}" BENCH_MERAK_LINUX_EXTRA=nopv BENCH_QEMU_CPU=host,kvm-steal-time=off \
		sh bench/vm-compare.sh "$MERAK" "$GUEST" \
		$linux_args 2>/dev/null | grep -v '^\['
else
	echo "VMs vs QEMU microvm: not run: no KVM and no qemu-system-x86_64"
fi
[ -n "$linux_args" ] || echo "tiny Linux boot: not run: make test-linux builds it"
