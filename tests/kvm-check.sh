# Sourced by the guest-booting test scripts: sets kvm_reason to why
# /dev/kvm cannot be used, or to nothing when it can. Plain sh (these
# scripts also run inside the minimal L1 of tests/nested).
# Never `<>` a path that may not exist: that would create it.
if [ ! -e /dev/kvm ]; then
	kvm_reason="No such file or directory"
elif [ ! -c /dev/kvm ]; then
	kvm_reason="not a character device"
elif ! (exec 3<>/dev/kvm) 2>/dev/null; then
	kvm_reason=$( (exec 3<>/dev/kvm) 2>&1 | sed 's/.*: //')
	[ -n "$kvm_reason" ] || kvm_reason="cannot be opened"
else
	kvm_reason=""
fi
