# merak: thin wrapper over meson/ninja. `make run` and `make test` do all set-up
# on a fresh Debian 12 machine (as root): missing packages are installed first.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
MESON_OPTS ?=

# Debian packages merak needs to build and test.
DEPS := meson ninja-build pkg-config gcc clang libc6-dev libssl-dev libcmocka-dev \
	libseccomp-dev liburing-dev libjson-c-dev openssl ovmf python3 musl-tools cpio busybox-static acpica-tools \
	binutils iproute2 qemu-system-x86

# Extra packages for the tiny-Linux e2e test (make test-linux).
DEPS_LINUX := linux-source-6.1 flex bison bc libelf-dev musl-tools cpio

# Extra packages for the side-by-side benchmarks (make bench).
DEPS_BENCH := time linux-perf

.PHONY: all deps build run test test-unit test-guests test-tdx test-asan test-linux test-firmware fuzz \
	bench clean format

all: build

deps:
	@sh scripts/install-deps.sh $(DEPS) $(DEPS_LINUX)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	@sh scripts/run-demo.sh $(BUILD)

# Every test suite, as meson tests (TAP or exit status); the last line is the
# runner's "N passed, M failed[, K skipped]" (tests/run-all.sh, tests/summary.py).
test: build
	@sh tests/run-all.sh $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)

test-unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

test-asan: deps
	@[ -f $(BUILD_ASAN)/build.ninja ] || meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(BUILD_ASAN)
	meson test -C $(BUILD_ASAN) --suite unit --print-errorlogs

# Guest-booting suites go through tests/kvm-suite.sh, which probes this host's
# KVM (tests/tools/kvm_probe) and runs each suite here or inside the nested
# L1 (tests/nested), printing TAP.
test-linux: build
	@sh scripts/install-deps.sh $(DEPS_LINUX)
	@sh tests/kvm-suite.sh $(BUILD) tests/e2e/run-linux.sh

# Slow: Debian's OVMF.fd to its UEFI shell on the serial port (docs/testing.md).
test-firmware: build
	@sh tests/kvm-suite.sh $(BUILD) tests/e2e/run-firmware.sh

fuzz: deps
	@[ -f $(BUILD_FUZZ)/build.ninja ] || CC=clang meson setup $(BUILD_FUZZ) -Dfuzz=true -Db_lundef=false
	ninja -C $(BUILD_FUZZ)
	@sh tests/fuzz/run.sh $(BUILD_FUZZ) $${FUZZ_SECONDS:-60}

bench: build
	@sh scripts/install-deps.sh $(DEPS_BENCH)
	@sh bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
