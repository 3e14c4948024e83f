#!/bin/sh
# The API-first lifecycle (TAP), as orchestrators drive merak: started with
# only an API socket, the VM created, booted, shut down, booted again,
# rebooted and deleted over the API, hostile requests answered with Cloud
# Hypervisor's statuses while the VMM keeps serving, tap fds checked when
# they arrive, and Kata Containers' own request sequence replayed byte for
# byte (tests/control/kata).
#
#   sh tests/control/lifecycle.sh BUILD_DIR
#
# Needs a usable KVM (run it directly or inside the nested L1), root for the
# taps, python3 (the Kata replay and exact-byte requests), and BUILD_DIR's
# merak and tests/guest/hang.elf.
# kvm-suite-files: /usr/bin/python3 /usr/bin/python3.11 /usr/lib/python3.11
set -u
here=$(cd "$(dirname "$0")" && pwd)
# The snippets below share tests/control/api_raw.py.
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
. "$here/../lib/tap.sh"

B=$(cd "${1:?usage: sh tests/control/lifecycle.sh BUILD_DIR}" && pwd) || exit 1
merak=$B/merak
hang=$B/tests/guest/hang.elf
for f in "$merak" "$hang"; do
	if [ ! -f "$f" ]; then
		echo "Bail out! $f is missing: build $B first"
		exit 1
	fi
done

tmp=$(mktemp -d /tmp/merak-life.XXXXXX) || exit 1
pids=
cleanup() {
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

remote() {
	"$merak" remote --api-socket "$sock" "$@"
}

# start_empty LOG [OPTION...]: merak with only its API socket ($sock); $pid.
start_empty() {
	_log=$1
	shift
	rm -f "$sock"
	"$merak" --api-socket "$sock" "$@" 2>"$_log" &
	pid=$!
	pids="$pids $pid"
	_i=0
	while [ $_i -lt 100 ] && ! remote ping >/dev/null 2>&1; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# finish PID SECONDS: st is PID's exit status, or "running" (then killed).
finish() {
	_i=0
	while [ $_i -lt $(($2 * 10)) ] && kill -0 "$1" 2>/dev/null &&
		! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; then
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		st=running
	else
		wait "$1"
		st=$?
	fi
}

state() {
	remote info 2>/dev/null | sed -n 's/.*"state":"\([A-Za-z]*\)".*/\1/p'
}

# status CALL METHOD [BODY]: the HTTP status of one raw request (python3:
# exact bytes, so malformed bodies reach merak as they are).
status() {
	python3 - "$sock" "$@" <<'PY'
import sys
from api_raw import request
path, call, method = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else b""
status, rest = request(path, method, call, body)
print(status or "none", rest.decode(errors="replace")[:200])
PY
}

sock=$tmp/api.sock
cat >"$tmp/vm.json" <<EOF
{"payload":{"kernel":"$hang"},"memory":{"size":33554432},"serial":{"mode":"Null"},
 "console":{"mode":"Off"},"cpus":{"boot_vcpus":2,"max_vcpus":2}}
EOF

# 1. Empty start, then the whole lifecycle over the API, followed on the
# event monitor.
start_empty "$tmp/m1.log" --event-monitor "path=$tmp/events.json"
m1=$pid
steps=""
check() { # WHAT WANT GOT
	_line="$1: $3"
	if [ "$2" != "$3" ]; then
		_line="$_line (want $2)"
		ok=no
	fi
	steps="${steps:+$steps
}$_line"
}
ok=yes
check "ping" 0 "$(remote ping >/dev/null 2>&1; echo $?)"
check "info before create" 1 "$(remote info >/dev/null 2>&1; echo $?)"
check "create" 0 "$(remote create "$tmp/vm.json" >/dev/null 2>&1; echo $?)"
check "state" Created "$(state)"
check "boot" 0 "$(remote boot >/dev/null 2>&1; echo $?)"
check "state" Running "$(state)"
check "two vCPUs" 2 "$(remote info | grep -o '"boot_vcpus":[0-9]*' | cut -d: -f2)"
check "shutdown" 0 "$(remote shutdown >/dev/null 2>&1; echo $?)"
check "state after shutdown" Created "$(state)"
check "boot again" 0 "$(remote boot >/dev/null 2>&1; echo $?)"
check "reboot" 0 "$(remote reboot >/dev/null 2>&1; echo $?)"
check "state after reboot" Running "$(state)"
check "pause" 0 "$(remote pause >/dev/null 2>&1; echo $?)"
check "state" Paused "$(state)"
check "resume" 0 "$(remote resume >/dev/null 2>&1; echo $?)"
check "delete" 0 "$(remote delete >/dev/null 2>&1; echo $?)"
check "info after delete" 1 "$(remote info >/dev/null 2>&1; echo $?)"
check "vCPU threads gone" 0 "$(ls /proc/$m1/task | wc -l | awk '{ print ($1 <= 4) ? 0 : $1 }')"
check "shutdown-vmm" 0 "$(remote shutdown-vmm >/dev/null 2>&1; echo $?)"
finish "$m1" 10
check "merak's exit status" 0 "$st"
check "socket removed" no "$([ -S "$sock" ] && echo yes || echo no)"
events=$(python3 - "$tmp/events.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
out = []
for chunk in text.split("\n\n"):
    if chunk.strip():
        e = json.loads(chunk)
        assert set(e) == {"timestamp", "source", "event", "properties"}, e
        assert set(e["timestamp"]) == {"secs", "nanos"}, e
        out.append(e["source"] + "/" + e["event"])
print(" ".join(out))
PY
)
check "events" "vmm/starting vm/created vm/booting vm/booted vm/shutdown vm/booting vm/booted \
vm/rebooting vm/shutdown vm/booting vm/booted vm/rebooted vm/pausing vm/paused vm/resuming \
vm/resumed vm/shutdown vm/deleted vmm/shutdown" "$events"
if [ $ok = yes ]; then
	tap_pass "empty start, create, boot, shutdown, boot, reboot, pause, delete, vmm.shutdown; the events" \
		"$steps"
else
	tap_fail "empty start, create, boot, shutdown, boot, reboot, pause, delete, vmm.shutdown; the events" \
		"$steps
$(cat "$tmp/m1.log")"
fi

# 1b. A client as quick as an orchestrator: create and boot the moment
# vmm.ping first answers, ten times. (The main thread once booted a
# configuration that vm.create had stored before it started its loop, so
# the client's vm.boot found the VM booted.)
ok=yes
steps=""
i=0
while [ $i -lt 10 ]; do
	rm -f "$sock"
	"$merak" --api-socket "$sock" 2>"$tmp/race.log" &
	pid=$!
	pids="$pids $pid"
	res=$(python3 - "$sock" "$tmp/vm.json" <<'PY'
import sys, time
from api_raw import request
path, cfg = sys.argv[1], open(sys.argv[2], "rb").read()
def req(method, call, body=b""):
    return str(request(path, method, call, body)[0])
t = time.monotonic()
while True:
    try:
        req("GET", "vmm.ping")
        break
    except OSError:
        if time.monotonic() - t > 10:
            print("no ping")
            sys.exit(0)
print(req("PUT", "vm.create", cfg), req("PUT", "vm.boot"), req("PUT", "vmm.shutdown"))
PY
)
	finish "$pid" 10
	check "run $i: create, boot, vmm.shutdown; exit" "204 204 204 0" "$res $st"
	i=$((i + 1))
done
if [ $ok = yes ]; then
	tap_pass "create and boot at once after the first ping, ten times" "$steps"
else
	tap_fail "create and boot at once after the first ping, ten times" "$steps"
fi

# 2. Hostile and out-of-order requests: each its status, the VMM serving on.
start_empty "$tmp/m2.log"
m2=$pid
ok=yes
steps=""
deep=$(python3 -c 'print("{\"payload\":" + "[" * 10000 + "]" * 10000 + "}")')
huge=$(python3 -c 'print("{\"payload\":{\"cmdline\":\"" + "x" * 70000 + "\"}}")')
expect() { # WANT CALL METHOD [BODY]
	_want=$1
	shift
	_got=$(status "$@")
	check "$2 $1 ${3:+$(printf '%.40s' "$3")}" "$_want" "${_got%% *}"
}
expect 404 vm.boot PUT
expect 404 vm.info GET
expect 404 vm.add-disk PUT '{"path":"/x"}'
expect 500 vm.pause PUT
expect 400 vm.create PUT '{"payload":{"kernel":"/k"},"cpus":{"boot_vcpus":"two"}}'
expect 400 vm.create PUT '{"payload":{"kernel":"/k"},"unknown_field":true}'
expect 400 vm.create PUT '{"payload":{"kernel":"/k"},"memory":{"size":1,"hugepages":true}}'
expect 400 vm.create PUT '{"payload":{"kernel":"/k"}'
expect 400 vm.create PUT "$deep"
expect 413 vm.create PUT "$huge"
expect 400 vm.create PUT '{"payload":{"kernel":"/k"},"fs":[{"tag":"x","socket":"/s"}]}'
expect 405 vm.create GET
expect 404 vm.nonsense PUT
check "still answering" 0 "$(remote ping >/dev/null 2>&1; echo $?)"
expect 204 vm.create PUT "$(cat "$tmp/vm.json")"
expect 500 vm.create PUT "$(cat "$tmp/vm.json")"
expect 204 vm.boot PUT
expect 500 vm.boot PUT
expect 500 vm.resize PUT '{"desired_vcpus":8}'
expect 204 vm.resize PUT '{"desired_vcpus":2}'
expect 400 vm.remove-device PUT '{"id":"__rng"}'
check "rng still in the tree" 1 "$(remote info | grep -c '"__rng":{"id"')"
expect 404 vm.remove-device PUT '{"id":"no-such-device"}'
expect 400 vm.remove-device PUT '{"id":7}'
expect 400 vm.add-disk PUT '{"path":"/nonexistent/disk.img","readonly":"yes"}'
expect 204 vm.delete PUT
expect 404 vm.add-disk PUT '{"path":"/x"}'
check "state" "" "$(state)"
check "merak still runs" yes "$(kill -0 $m2 2>/dev/null && echo yes)"
remote shutdown-vmm >/dev/null 2>&1
finish "$m2" 10
check "exit status" 0 "$st"
if [ $ok = yes ]; then
	tap_pass "hostile and out-of-order requests get Cloud Hypervisor's statuses" "$steps"
else
	tap_fail "hostile and out-of-order requests get Cloud Hypervisor's statuses" \
		"$steps
$(cat "$tmp/m2.log")"
fi

# 3. File descriptors with vm.add-net: a tap is taken, anything else and
# too many are refused at once, and none of them stays open in merak.
start_empty "$tmp/m3.log"
m3=$pid
remote create "$tmp/vm.json" >/dev/null 2>&1
fds0=$(ls /proc/$m3/fd | wc -l)
out=$(python3 - "$sock" "$merak" <<'PY'
import os, re, subprocess, sys
from api_raw import exchange, open_tap, request, request_bytes
path, merak = sys.argv[1], sys.argv[2]
def add_net(fds, body=b'{"mac":"52:54:00:12:34:99"}'):
    status, rest = request(path, "PUT", "vm.add-net", body, fds)
    return str(status), rest.decode()
null = os.open("/dev/null", os.O_RDWR)
print("not-a-tap", *add_net([null]))
print("too-many", *add_net([null] * 9))
tun = open_tap("mlife%d" % os.getpid())
print("tap", *add_net([tun]))
# A ping and an add-net in one sendmsg, the fd alongside: it is the add-net's.
tun2 = open_tap("mlifeb%d" % os.getpid())
two = (request_bytes("GET", "vmm.ping", close=False) +
       request_bytes("PUT", "vm.add-net", b'{"mac":"52:54:00:12:34:98"}'))
data = exchange(path, two, [tun2])
print("pipelined", " ".join(x.decode() for x in re.findall(rb"HTTP/1\.1 (\d+)", data)))
# merak remote add-net fd=N passes the tap along, as ch-remote does.
tun3 = open_tap("mlifec%d" % os.getpid())
r = subprocess.run([merak, "remote", "--api-socket", path, "add-net",
                    "fd=%d,mac=52:54:00:12:34:97" % tun3], pass_fds=[tun3], capture_output=True)
print("remote", r.returncode)
PY
)
fds1=$(ls /proc/$m3/fd | wc -l)
ok=yes
steps=""
check "a /dev/null fd" 400 "$(echo "$out" | awk '$1 == "not-a-tap" { print $2 }')"
check "nine fds" 400 "$(echo "$out" | awk '$1 == "too-many" { print $2 }')"
check "a tap fd" 204 "$(echo "$out" | awk '$1 == "tap" { print $2 }')"
check "a ping and an add-net with its tap in one write" "200 204" "$(echo "$out" | sed -n 's/^pipelined //p')"
check "merak remote add-net fd=N" 0 "$(echo "$out" | sed -n 's/^remote //p')"
check "fds held by merak: the taps' only" "$((fds0 + 3))" "$fds1"
check "boot with the tap" 0 "$(remote boot >/dev/null 2>&1; echo $?)"
check "the net devices in the tree" 3 "$(remote info | grep -o '"_net[0-9]*":{"id"' | wc -l)"
remote shutdown-vmm >/dev/null 2>&1
finish "$m3" 10
check "exit status" 0 "$st"
if [ $ok = yes ]; then
	tap_pass "vm.add-net takes a tap fd, refuses others and too many, leaks none" \
		"$steps
$out"
else
	tap_fail "vm.add-net takes a tap fd, refuses others and too many, leaks none" \
		"$steps
$out
$(cat "$tmp/m3.log")"
fi

# 3b. The serial port on a pseudo-terminal (Cloud Hypervisor's Pty mode):
# vm.info names the terminal and the guest's output is read from it.
start_empty "$tmp/pty.log"
pty_pid=$pid
cat >"$tmp/pty.json" <<EOF
{"payload":{"kernel":"$hang"},"memory":{"size":33554432},"serial":{"mode":"Pty"},
 "console":{"mode":"Off"}}
EOF
remote create "$tmp/pty.json" >/dev/null 2>&1
remote boot >/dev/null 2>&1
pts=$(remote info 2>/dev/null | sed -n 's/.*"serial":{"mode":"Pty","file":"\([^"]*\)".*/\1/p')
got=$( [ -n "$pts" ] && timeout 3 head -n 1 "$pts" 2>/dev/null | tr -d '\r')
remote shutdown-vmm >/dev/null 2>&1
finish "$pty_pid" 10
if [ -n "$pts" ] && [ "$got" = "hang: spinning with interrupts off" ] && [ "$st" = 0 ] &&
	grep -q "serial: on pseudo-terminal $pts" "$tmp/pty.log"; then
	tap_pass "serial mode Pty: vm.info names the terminal, the guest's output is on it" "$pts: $got"
else
	tap_fail "serial mode Pty: vm.info names the terminal, the guest's output is on it" \
		"pts '$pts', read '$got', exit $st; $(cat "$tmp/pty.log")"
fi

# 3c. The serial port on a unix socket (mode Socket): a client types, the
# guest's echo comes back; a second client takes over from the first.
rm -f "$tmp/serial.sock"
"$merak" --kernel "$hang" --cmdline echo --memory size=32M --serial "socket=$tmp/serial.sock" \
	2>"$tmp/sersock.log" &
ser_pid=$!
pids="$pids $ser_pid"
got=$(python3 - "$tmp/serial.sock" <<'PY'
import socket, sys, time
def client():
    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sys.argv[1])
            return s
        except OSError:
            time.sleep(0.05)
    raise SystemExit("no serial socket")
def echo(s, word):
    data = b""
    for _ in range(50):
        s.sendall(word)
        time.sleep(0.05)
        try:
            s.settimeout(0.2)
            data += s.recv(100)
        except socket.timeout:
            pass
        if word in data:
            return word.decode()
    return "nothing"
a = client()
first = echo(a, b"ping")
b = client()
second = echo(b, b"pong")
print(first, second)
PY
)
kill -INT $ser_pid
finish "$ser_pid" 10
if [ "$got" = "ping pong" ] && [ "$st" = 130 ] && [ ! -e "$tmp/serial.sock" ]; then
	tap_pass "serial mode Socket: a client's bytes reach the guest and its echo comes back; a second client takes over" "$got"
else
	tap_fail "serial mode Socket: a client's bytes reach the guest and its echo comes back; a second client takes over" \
		"got '$got', exit $st; $(cat "$tmp/sersock.log")"
fi

# 4. Kata Containers' request sequence, byte for byte as its Go client sends
# it (tests/control/kata), against a test guest that ejects what the host
# removes: create, add-net with a tap fd, boot, resize to what it has,
# add-disk on the running VM, remove-device, vmm.shutdown.
kata_case() { # SEQ NAME WANT (pass, or text the failing answer must carry) [OPTION...]
	_seq=$1 _name=$2 _want=$3
	shift 3
	truncate -s 8M "$tmp/image.raw" "$tmp/disk.raw"
	start_empty "$tmp/k-$_seq.log"
	_pid=$pid
	# Its own tap name, as the TD suites' replays have: a held name is EBUSY.
	out=$(python3 "$here/kata/replay.py" --socket "$sock" --seq "$_seq" --pid "$_pid" \
		--tap-name "lck$$" --subst KERNEL="$hang" --subst CMDLINE="eject" --subst IMAGE="$tmp/image.raw" \
		--subst DISK="$tmp/disk.raw" --subst VSOCK="$tmp/kata-vsock.sock" \
		--subst MAX_VCPUS=2 --subst HOTPLUG_SIZE=1073741824 "$@" 2>&1)
	_rc=$?
	finish "$_pid" 10
	if [ "$_want" = pass ] && [ $_rc -eq 0 ] && [ "$st" = 0 ]; then
		tap_pass "$_name" "$(echo "$out" | grep '^ok' | sed 's/^ok [0-9]* - //')"
	elif [ "$_want" != pass ] && [ $_rc -eq 1 ] && echo "$out" | grep -q "$_want"; then
		tap_pass "$_name" "$(echo "$out" | grep -m1 "$_want")"
	else
		tap_fail "$_name" "replay exit $_rc, merak exit $st
$out
$(cat "$tmp/k-$_seq.log")"
	fi
}
kata_case plain "Kata's plain-VM sequence replayed: create, add-net (tap fd), boot, resize, add-disk, remove-device, vmm.shutdown" pass
kata_case plain-initrd "Kata's initrd sequence replayed" pass --subst INITRAMFS="$tmp/image.raw"
# Kata's shipped default shares files over virtio-fs (vhost-user), which
# merak does not have: vm.create must say so, naming the field.
kata_case plain-virtiofs "Kata's virtio-fs sequence is refused at vm.create, naming fs" \
	"fs: not supported by merak"

tap_done
