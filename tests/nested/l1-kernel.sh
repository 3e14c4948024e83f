#!/bin/sh
# Fetches the L1 kernel of tests/nested once per machine: Debian's current
# linux-image-amd64 (its vmlinuz, and the modules KVM on AMD needs), cached
# outside the repository. Prints the cache directory.
set -eu
CACHE=${MERAK_L1_CACHE:-/var/cache/merak/l1-kernel}
MODULES="virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko drivers/crypto/ccp/ccp.ko
arch/x86/kvm/kvm-amd.ko drivers/net/tun.ko"

if [ -f "$CACHE/ready" ]; then
	echo "$CACHE"
	exit 0
fi
err() { echo "l1-kernel: $*" >&2; exit 1; }
command -v apt-get >/dev/null || err "apt-get not found: the L1 kernel comes from Debian's linux-image-amd64"
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1)
fi
[ -n "$pkg" ] || err "cannot tell which kernel package linux-image-amd64 depends on"
tmp=$(mktemp -d /tmp/merak-l1k.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
# An exact package name: `apt-get download` of a pattern fetches every match.
(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || err "apt-get download $pkg failed"
dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/x" || err "cannot unpack $pkg"
kver=${pkg#linux-image-}
mkdir -p "$CACHE/modules"
cp "$tmp/x/boot/vmlinuz-$kver" "$CACHE/vmlinuz"
for m in $MODULES; do
	src="$tmp/x/lib/modules/$kver/kernel/$m"
	[ -f "$src" ] || err "$pkg has no $m"
	cp "$src" "$CACHE/modules/"
done
echo "$pkg" >"$CACHE/ready"
echo "$CACHE"
