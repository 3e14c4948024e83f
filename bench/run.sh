#!/bin/sh
# `make bench`: merak side by side with Debian's QEMU (-M microvm, KVM) on the
# same guests, plus the device-model and measurement benchmarks. Prints a
# table of ratios (medians over interleaved runs) and writes it, with the
# machine and the commit, to bench/results/.
set -u
BUILD=${1:-build}
RUNS=${BENCH_RUNS:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MERAK=$ROOT/$BUILD/merak
GUEST=$ROOT/$BUILD/tests/guest/hello.elf
stamp=$(date -u +%Y%m%dT%H%M%SZ)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
out="$ROOT/bench/results/$stamp-$commit.txt"
tmp=$(mktemp -d /tmp/merak-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

{
	echo "merak benchmarks, $stamp, commit $commit"
	echo "machine: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
	grep -m1 'model name' /proc/cpuinfo | sed 's/^/cpu: /'
	echo
	printf '%-44s %14s %14s %8s\n' "benchmark" "merak" "reference" "ratio"
} >"$out"

# The VM comparisons run on this host's KVM, or, without one, on the nested
# KVM of tests/nested (QEMU TCG with emulated SVM: absolute times there are
# an emulator's, the ratios still compare the two VMMs on one KVM).
LINUX_CACHE=${MERAK_LINUX_CACHE:-/var/cache/merak/linux-6.1}
linux_args=""
[ -f "$LINUX_CACHE/vmlinux" ] && [ -f "$LINUX_CACHE/initramfs.cpio" ] &&
	linux_args="$LINUX_CACHE/vmlinux $LINUX_CACHE/initramfs.cpio $ROOT/tests/e2e/linux/cmdline"
ROOT=$ROOT . "$ROOT/tests/kvm-check.sh"
if [ -z "$kvm_reason" ]; then
	echo "VMs on this host's KVM" >>"$out"
	# shellcheck disable=SC2086
	sh "$ROOT/bench/vm-compare.sh" "$MERAK" "$GUEST" $linux_args >>"$out"
elif command -v qemu-system-x86_64 >/dev/null; then
	echo "VMs on the nested KVM (no usable /dev/kvm here: $kvm_reason)" >>"$out"
	files=""
	for f in $linux_args; do files="$files --file $f"; done
	# shellcheck disable=SC2086
	# Room for every run to time out, so that a hung run costs its row only.
	NESTED_TIMEOUT=$((RUNS * 4 * ${BENCH_TIMEOUT:-120} + 600)) \
	sh "$ROOT/tests/nested/run.sh" --file "$ROOT/bench/vm-compare.sh" --file /usr/bin/time \
		--file "$(command -v qemu-system-x86_64)" --file /usr/share/qemu --file /usr/share/seabios \
		--file "$MERAK" --file "$GUEST" $files -- \
		env BENCH_RUNS="$RUNS" BENCH_TIMEOUT="${BENCH_TIMEOUT:-120}" BENCH_MERAK_LINUX_EXTRA=nopv BENCH_QEMU_CPU=host,kvm-steal-time=off \
		sh bench/vm-compare.sh "$MERAK" "$GUEST" \
		$linux_args 2>/dev/null | grep -v '^\[' >>"$out"
else
	printf '%-44s %s\n' "VMs vs QEMU microvm" "not run: no KVM and no qemu-system-x86_64" >>"$out"
fi
[ -n "$linux_args" ] || printf '%-44s %s\n' "tiny Linux boot" "not run: make test-linux builds it" >>"$out"

if [ -x "$ROOT/bench/measure/run.sh" ]; then
	line=$(sh "$ROOT/bench/measure/run.sh" "$BUILD" 2>/dev/null | tail -n 1)
	printf '%-44s %s\n' "merak measure vs one SHA-384 pass (4 MiB)" "$line" >>"$out"
fi
if [ -x "$ROOT/bench/virtio-blk/run.sh" ]; then
	line=$(sh "$ROOT/bench/virtio-blk/run.sh" "$BUILD" 2>/dev/null | tail -n 1)
	printf '%-44s %s\n' "virtio-blk requests vs raw pread/pwrite" "$line" >>"$out"
fi
if [ -x "$ROOT/bench/vsock/run.sh" ]; then
	line=$(sh "$ROOT/bench/vsock/run.sh" "$BUILD" 2>/dev/null | tail -n 1)
	printf '%-44s %s\n' "vsock round trip (us) vs unix socket" "$line" >>"$out"
fi
cat "$out"
echo "written to $out"
