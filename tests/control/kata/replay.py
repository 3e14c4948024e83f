#!/usr/bin/env python3
"""Replay what Kata Containers' Cloud Hypervisor driver sends, byte for byte.

    replay.py --socket PATH [--seq plain|plain-initrd|plain-virtiofs|tdx]
              [--subst KEY=VALUE ...] [--tap-fds N] [--tap-name NAME]
              [--fake-tap] [--static] [--pid PID] [--no-keepalive] [-v]
    replay.py --check

The fixtures are requests/SEQ/NN-*.http (raw HTTP as Go's net/http writes
them, with @PLACEHOLDER@s) listed in requests/SEQ/steps. Each request goes
out unchanged but for the placeholders and Content-Length; every answer is
judged the way Kata's runtime judges it (see README.md). One TAP line per
step; the first answer Kata would not accept ends the run with exit 1
(exit 2: bad usage or set-up, e.g. a tap that cannot be opened).

--check needs no VMM: it validates every fixture (request line, Go's header
set and order, CRLF, JSON bodies compact with sorted keys, the trailing
newline of json.Encoder) and replays each sequence against a built-in
stand-in server that answers as Cloud Hypervisor does.

Python 3 standard library only.
"""

import argparse
import fcntl
import json
import os
import re
import select
import socket
import struct
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REQ_DIR = os.path.join(HERE, "requests")

GO_UA = "OpenAPI-Generator/1.0.0/go"
# the client's decode() only parses a body whose Content-Type matches this
GO_JSON_CT = re.compile(r"(?i:(?:application|text)/(?:vnd\.[^;]+\+)?json)")
PLACEHOLDER = re.compile(rb"@([A-Z][A-Z0-9_]*)@")

# values used by --check where a real run needs the host's
CHECK_VALUES = {
    "KERNEL": "/k/vmlinux", "INITRAMFS": "/k/initrd.img", "IMAGE": "/k/rootfs.img",
    "FIRMWARE": "/k/td-shim.bin", "DISK": "/k/disk.img", "VSOCK": "/run/vc/vm/x/clh.sock",
    "VIRTIOFSD_SOCK": "/run/vc/vm/x/virtiofsd.sock", "DISK_ID": "_disk2",
    "MAX_VCPUS": "4", "HOTPLUG_SIZE": "8589934592",
}
NUMERIC = {"MAX_VCPUS", "HOTPLUG_SIZE"}


class Fail(Exception):
    """An answer Kata would not accept."""


class Setup(Exception):
    """Bad usage or environment."""


# ---------------------------------------------------------------- fixtures

def load_steps(seq):
    d = os.path.join(REQ_DIR, seq)
    path = os.path.join(d, "steps")
    if not os.path.isfile(path):
        raise Setup("no sequence %r (have: %s)" % (seq, ", ".join(sequences())))
    steps, defaults = [], {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith("default "):
                k, _, v = line[len("default "):].partition("=")
                defaults[k.strip()] = v
                continue
            parts = line.split()
            st = {"file": parts[0], "channel": parts[1], "line": n}
            for kv in parts[2:]:
                k, _, v = kv.partition("=")
                st[k] = v
            if st["channel"] not in ("api", "addnet"):
                raise Setup("%s:%d: unknown channel %r" % (path, n, st["channel"]))
            with open(os.path.join(d, st["file"]), "rb") as g:
                st["raw"] = g.read()
            steps.append(st)
    return steps, defaults


def sequences():
    return sorted(s for s in os.listdir(REQ_DIR)
                  if os.path.isfile(os.path.join(REQ_DIR, s, "steps")))


def go_json_escape(s):
    """A string's inside as Go's encoding/json writes it (HTML-safe)."""
    out = []
    short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
             "\b": "\\b", "\f": "\\f"}
    for ch in s:
        o = ord(ch)
        if ch in short:
            out.append(short[ch])
        elif o < 0x20 or ch in "<>&" or o in (0x2028, 0x2029):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return "".join(out)


def split_request(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise Setup("no CRLF CRLF after the header")
    return head, body


def render(raw, values):
    """Substitute placeholders and recompute Content-Length."""
    head, body = split_request(raw)
    missing = sorted({m.decode() for m in PLACEHOLDER.findall(body)} - set(values))
    if missing:
        raise Setup("no value for %s (use --subst KEY=VALUE)" % ", ".join(missing))

    def sub(m):
        key = m.group(1).decode()
        val = values[key]
        in_string = m.start() > 0 and body[m.start() - 1:m.start()] == b'"'
        if in_string:
            return go_json_escape(val).encode("utf-8")
        if not re.fullmatch(r"-?[0-9]+", val):
            raise Setup("%s must be an integer, not %r" % (key, val))
        return val.encode()

    body = PLACEHOLDER.sub(sub, body)
    head = head.replace(b"@CONTENT_LENGTH@", str(len(body)).encode())
    if PLACEHOLDER.search(head):
        raise Setup("placeholder left in a header: %r" % head)
    return head + b"\r\n\r\n" + body


def host_values(sock_path):
    v = {"MAX_VCPUS": str(os.cpu_count() or 1)}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mib = int(line.split()[1]) // 1024
                    v["HOTPLUG_SIZE"] = str(mib << 20)
    except OSError:
        pass
    d = os.path.dirname(os.path.abspath(sock_path))
    v["VSOCK"] = os.path.join(d, "clh.sock")
    v["VIRTIOFSD_SOCK"] = os.path.join(d, "virtiofsd.sock")
    return v


# ---------------------------------------------------------------- HTTP

class Response:
    def __init__(self):
        self.version = self.reason = ""
        self.status = 0
        self.headers = []           # (name, value) as sent
        self.body = b""
        self.close = False          # the connection cannot be used again
        self.framing = ""

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Conn:
    """One unix-socket connection with its own read buffer and a deadline."""

    def __init__(self, path, deadline):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.buf = b""
        self.to_eof = False  # reading a body that has no length
        self.used = 0        # answers read on this connection
        self.set_deadline(deadline)
        self.s.connect(path)

    def set_deadline(self, deadline):
        self.deadline = deadline
        self._arm()

    def _arm(self):
        if self.deadline is None:
            self.s.settimeout(None)
        else:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("deadline passed")
            self.s.settimeout(left)

    def send(self, data, fds=()):
        self._arm()
        if fds:
            n = socket.send_fds(self.s, [data], list(fds))
            if n != len(data):  # clh.go treats a short write as an error
                raise Fail("sendmsg sent %d of %d bytes with the fds" % (n, len(data)))
        else:
            self.s.sendall(data)

    def _fill(self):
        self._arm()
        chunk = self.s.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def _line(self):
        while b"\n" not in self.buf:
            if not self._fill():
                raise Fail("connection closed mid-answer" if self.buf
                           else "connection closed without an answer")
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def _exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise Fail("connection closed %d bytes into a %d-byte body" % (len(self.buf), n))
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, method):
        """As Go's http.ReadResponse plus the Transport's 1xx skipping."""
        while True:
            r = Response()
            status = self._line().decode("latin-1")
            m = re.match(r"^(HTTP/(\d)\.(\d)) (\d{3})(?: (.*))?$", status)
            if not m:
                raise Fail("malformed status line %r" % status)
            r.version, r.status, r.reason = m.group(1), int(m.group(4)), m.group(5) or ""
            while True:
                line = self._line()
                if not line:
                    break
                k, sep, v = line.decode("latin-1").partition(":")
                if not sep or not k or k != k.strip():
                    raise Fail("malformed header line %r" % line)
                r.headers.append((k, v.strip()))
            if 100 <= r.status < 200 and r.status != 101:
                continue
            break
        conn_hdr = (r.header("Connection") or "").lower()
        if conn_hdr == "close" or (r.version == "HTTP/1.0" and conn_hdr != "keep-alive"):
            r.close = True
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        if method == "HEAD" or r.status in (204, 304):
            r.framing = "none"
            if cl not in (None, "0"):
                r.framing = "none (Content-Length %s ignored: Go would misread the next answer)" % cl
        elif te and te.lower() == "chunked":
            r.framing = "chunked"
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                r.body += self._exact(size)
                self._exact(2)
        elif cl is not None:
            if not re.fullmatch(r"[0-9]+", cl):
                raise Fail("bad Content-Length %r" % cl)
            r.framing = "content-length"
            r.body = self._exact(int(cl))
        else:
            r.framing = "close-delimited"
            r.close = True
            self.to_eof = True
            while self._fill():
                pass
            r.body, self.buf = self.buf, b""
        return r

    def closed_by_peer(self):
        """True when the server has closed this idle connection (Go's
        Transport notices that in the background and dials anew)."""
        try:
            r, _, _ = select.select([self.s], [], [], 0)
            if not r:
                return False
            data = self.s.recv(1, socket.MSG_PEEK)
            if not data:
                return True
            raise Fail("unsolicited bytes on an idle connection: %r" % self.s.recv(4096))
        except OSError:
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# ---------------------------------------------------------------- taps

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR, IFF_MULTI_QUEUE = 0x0002, 0x1000, 0x4000, 0x0100
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def open_taps(name, n, fake):
    """n fds of one tap as Kata's netlink.LinkAdd opens them: IFF_TAP|IFF_NO_PI|
    IFF_VNET_HDR (plus IFF_MULTI_QUEUE when n > 1), left in blocking mode as
    os.File.Fd() leaves them."""
    if fake:
        return [os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC) for _ in range(n)]
    flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (IFF_MULTI_QUEUE if n > 1 else 0)
    fds = []
    try:
        for _ in range(n):
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
            fds.append(fd)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), flags))
    except OSError as e:
        for fd in fds:
            os.close(fd)
        raise Setup("cannot open tap %s (%s): run as root with /dev/net/tun, "
                    "or pass --fake-tap / --tap-fds 0" % (name, e))
    try:  # clh.go's tcfilter set-up brings the tap up; best effort here
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH22x", name.encode(), 0))
        fl = struct.unpack("16sH22x", ifr)[1] | IFF_UP
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", name.encode(), fl))
        s.close()
    except OSError:
        pass
    return fds


# ---------------------------------------------------------------- judging

def short(b, n=300):
    t = b.decode("utf-8", "replace")
    return t if len(t) <= n else t[:n] + "..."


def json_body(r, what, need_ct=True):
    """Decode as the generated client does: an empty body decodes to nothing;
    otherwise the Content-Type must be JSON and the JSON an object."""
    if not r.body.strip():
        return None
    if need_ct and not GO_JSON_CT.search(r.header("Content-Type") or ""):
        raise Fail("%s: body without a JSON Content-Type (%r): the Go client "
                   "answers 'undefined response type'" % (what, r.header("Content-Type")))
    try:
        v = json.loads(r.body)
    except ValueError as e:
        raise Fail("%s: body is not JSON (%s)" % (what, e))
    if not isinstance(v, dict):
        raise Fail("%s: JSON is not an object" % what)
    return v


def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(v)]


def same_shape(sent, got, path, errs):
    """Go's json.Unmarshal fails on a type mismatch: every key merak echoes
    in vm.info's config must keep the JSON type Kata sent."""
    if got is None or sent is None:
        return
    ks, kg = kind(sent), kind(got)
    if ks == "int" and kg == "number":
        errs.append("%s: %s is not an integer" % (path, got))
    elif ks != kg and not (ks == "number" and kg == "int"):
        errs.append("%s: %s where Kata sent %s" % (path, kg, ks))
    elif ks == "object":
        for k in sent:
            if k in got:
                same_shape(sent[k], got[k], path + "." + k, errs)
    elif ks == "array":
        for i, (a, b) in enumerate(zip(sent, got)):
            same_shape(a, b, "%s[%d]" % (path, i), errs)


def need_int(d, path):
    cur = d
    for k in path.split("."):
        if not isinstance(cur, dict) or k not in cur:
            raise Fail("vm.info lacks %s" % path)
        cur = cur[k]
    if kind(cur) != "int":
        raise Fail("vm.info %s is %r, not an integer" % (path, cur))
    return cur


def check_bdf(bdf):
    """clh.go's clhPciInfoToPath: 0000:00:SS.0 with a two-digit hex slot."""
    t = bdf.split(":")
    if len(t) != 3 or t[0] != "0000" or t[1] != "00":
        return False
    t = t[2].split(".")
    return len(t) == 2 and t[1] == "0" and re.fullmatch(r"[0-9a-fA-F]{2}", t[0]) is not None \
        and int(t[0], 16) < 32


def judge(st, r, ctx):
    """Raise Fail where Kata would fail; return a note for the log line."""
    ch = st["channel"]
    if ch == "addnet":  # clh.go: exactly 200 or 204
        if r.status not in (200, 204):
            raise Fail("status %d (clh.go accepts 200 or 204 only)" % r.status)
    elif not 200 <= r.status < 300:
        raise Fail("status %d (the Go client fails on >= 300)" % r.status)
    notes = []
    if r.status not in (200, 204):
        notes.append("warn: runtime-rs accepts only 200/204")
    if r.body and not any(k == "Content-Length" for k, _ in r.headers):
        notes.append("warn: body without a literal 'Content-Length: ' header (runtime-rs needs it)")
    if r.version != "HTTP/1.1":
        notes.append("warn: %s (runtime-rs looks for 'HTTP/1.1')" % r.version)
    if r.framing.startswith("none (") or r.framing == "close-delimited":
        notes.append("warn: framing " + r.framing)
    exp = st.get("expect", "")
    if exp == "ping":
        v = json_body(r, "vmm.ping")
        if v is not None:
            for k, t in (("version", "string"), ("build_version", "string"), ("pid", "int"),
                         ("features", "array")):
                if k in v and v[k] is not None and kind(v[k]) != t:
                    raise Fail("vmm.ping %s is %s, not %s: VmmPingResponse would not decode"
                               % (k, kind(v[k]), t))
            if not all(isinstance(x, str) for x in v.get("features") or []):
                raise Fail("vmm.ping features must be strings")
            if ctx.get("tdx") and "tdx" not in (v.get("features") or ["tdx"]):
                notes.append("warn: features lacks 'tdx': runtime-rs refuses a TDX sandbox")
            notes.insert(0, "version=%s" % v.get("version"))
        elif ctx.get("tdx"):
            notes.append("warn: empty ping body: runtime-rs cannot see a 'tdx' feature")
    elif exp in ("created", "running", "vcpus", "actual-memory", "memory"):
        v = json_body(r, "vm.info")
        if v is None:
            v = {}
        state = v.get("state")
        if state is not None and not isinstance(state, str):
            raise Fail("vm.info state is not a string")
        if exp in ("created", "running"):
            want = "Created" if exp == "created" else "Running"
            if state != want:
                raise Fail("vm.info state %r; clh.go wants %r here" % (state, want))
        cfg = v.get("config")
        if cfg is not None and not isinstance(cfg, dict):
            raise Fail("vm.info config is not an object")
        if state not in ("Created", "Running", "Shutdown", "Paused"):
            notes.append("warn: state %r is not one runtime-rs knows" % state)
        if not isinstance(cfg, dict) or "serial" not in cfg or "console" not in cfg:
            notes.append("warn: runtime-rs needs config.serial and config.console in vm.info")
        errs = []
        same_shape(ctx.get("sent_config"), cfg, "config", errs)
        if errs:
            raise Fail("vm.info would not decode: " + "; ".join(errs[:5]))
        if exp == "vcpus":  # ResizeVCPUs reads boot_vcpus and max_vcpus
            b = need_int(v, "config.cpus.boot_vcpus")
            m = need_int(v, "config.cpus.max_vcpus")
            notes.insert(0, "boot_vcpus=%d max_vcpus=%d" % (b, m))
        elif exp == "actual-memory":  # GetTotalMemoryMB
            a = need_int(v, "memory_actual_size")
            if a >> 20 == 0:
                raise Fail("memory_actual_size %d: Kata would resize memory to 0 MiB and fail" % a)
            notes.insert(0, "memory_actual_size=%d" % a)
        elif exp == "memory":  # ResizeMemory reads size (and hotplug_size if any)
            s = need_int(v, "config.memory.size")
            notes.insert(0, "memory.size=%d" % s)
        else:
            notes.insert(0, "state=%s" % state)
    elif exp == "pciinfo":
        v = json_body(r, "vm.add-disk")
        if v is None:
            raise Fail("vm.add-disk answered no PciDeviceInfo: Kata needs id and bdf")
        pid, bdf = v.get("id"), v.get("bdf")
        if not isinstance(pid, str) or not pid:
            raise Fail("PciDeviceInfo.id missing or empty (Kata removes the device by it)")
        if not isinstance(bdf, str) or not check_bdf(bdf):
            raise Fail("PciDeviceInfo.bdf %r: clh.go wants 0000:00:SS.0" % bdf)
        if st.get("capture"):
            ctx["values"][st["capture"]] = pid
        notes.insert(0, "id=%s bdf=%s" % (pid, bdf))
    elif exp == "netinfo":  # json.NewDecoder(...).Decode: EOF is fine
        if r.body.strip():
            try:
                v = json.loads(r.body)
            except ValueError as e:
                raise Fail("vm.add-net body is not JSON (%s)" % e)
            if not isinstance(v, dict) or not all(isinstance(v.get(k, ""), str) for k in ("id", "bdf")):
                raise Fail("vm.add-net body is not a PciDeviceInfo")
            notes.insert(0, "id=%s bdf=%s" % (v.get("id"), v.get("bdf")))
    return "; ".join(notes)


def process_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rpartition(")")[2].split()
        return not st or st[0] in ("Z", "X")
    except OSError:
        return True


# ---------------------------------------------------------------- replay

def replay(args, out=sys.stdout):
    steps, defaults = load_steps(args.seq)
    values = dict(defaults)
    values.update(host_values(args.socket))
    values.update(args.subst)
    ctx = {"values": values, "tdx": args.seq.startswith("tdx")}
    todo = [s for s in steps if not (args.static and s.get("group") == "dynres")]

    def say(s):
        print(s, file=out, flush=True)

    captured = {st["capture"] for st in todo if st.get("capture")}
    need = set()
    for st in todo:
        need |= {m.decode() for m in PLACEHOLDER.findall(split_request(st["raw"])[1])}
    missing = sorted(need - set(values) - captured)
    if missing:
        raise Setup("sequence %s needs %s (use --subst KEY=VALUE)" % (args.seq, ", ".join(missing)))

    say("1..%d" % len(todo))
    api = None
    budgets = {}
    taps = []
    r = None
    n, st = 0, {"file": "?"}
    try:
        for n, st in enumerate(todo, 1):
            raw = render(st["raw"], values)
            line = raw.split(b"\r\n", 1)[0].decode()
            method = line.split()[0]
            if st["file"].endswith("vm.create.http"):
                ctx["sent_config"] = json.loads(split_request(raw)[1])
            if args.verbose:
                say("# >>> " + short(raw, 2000).replace("\r\n", "\n# >>> "))
            tmo = float(st.get("timeout", "0"))
            t0 = time.monotonic()
            deadline = t0 + tmo if tmo > 0 else t0 + args.hang_limit
            if st.get("budget"):
                deadline = budgets.setdefault(st["budget"], deadline)
            retry_until = t0 + float(st["retry"]) if st.get("retry") else None
            fds = []
            if st.get("fds") == "tap" and args.tap_fds > 0:
                if not taps:
                    taps = open_taps(args.tap_name, args.tap_fds, args.fake_tap)
                fds = taps
            r = cur = None
            while True:
                try:
                    step_deadline = deadline
                    if retry_until is not None:  # one ping: its own timeout
                        step_deadline = time.monotonic() + tmo
                    cur = None
                    if st["channel"] == "addnet":
                        c = cur = Conn(args.socket, step_deadline)
                        try:
                            c.send(raw, fds)
                            r = c.read_response(method)
                        finally:
                            c.close()
                    else:
                        if api is not None and (args.no_keepalive or api.closed_by_peer()):
                            api.close()
                            api = None
                        if api is None:
                            api = Conn(args.socket, step_deadline)
                        else:
                            api.set_deadline(step_deadline)
                        cur = api
                        try:
                            sent = False
                            try:
                                api.send(raw)
                                sent = True
                                r = api.read_response(method)
                            except (OSError, Fail) as e:
                                if not api.used or isinstance(e, socket.timeout) or api.buf:
                                    raise
                                # a kept-alive connection the server closed: Go's
                                # Transport retries when nothing could be written,
                                # else only a replayable (GET) request
                                if sent and method != "GET":
                                    raise Fail("%s on a reused connection: the server closed it "
                                               "without 'Connection: close' and Go does not "
                                               "retry a PUT" % e)
                                api.close()
                                api = cur = Conn(args.socket, step_deadline)
                                api.send(raw)
                                r = api.read_response(method)
                            api.used += 1
                        except (OSError, Fail):
                            api.close()
                            api = None
                            raise
                        if r.close:
                            api.close()
                            api = None
                    note = judge(st, r, ctx)
                    break
                except (OSError, Fail) as e:
                    if isinstance(e, socket.timeout):
                        why = ("Kata's deadline" if tmo > 0
                               else "Kata has no deadline here: it would hang")
                        if cur is not None and cur.to_eof:
                            why += "; the answer has neither Content-Length nor chunking, " \
                                   "so Go reads its body until the connection closes"
                        e = Fail("no answer within %gs (%s)" % (
                            tmo if tmo > 0 else args.hang_limit, why))
                    if retry_until is not None:
                        gone = args.pid and process_gone(args.pid)
                        if time.monotonic() < retry_until and not gone:
                            time.sleep(0.01)
                            continue
                        raise Fail("no successful answer in %ss of polling%s; last: %s" % (
                            st["retry"], " (pid %d has exited)" % args.pid if gone else "",
                            e)) from None
                    raise Fail(str(e)) from None
            ms = (time.monotonic() - t0) * 1000
            extra = " fds=%d" % len(fds) if fds else ""
            say("ok %d - %s -> %d %s (%.1f ms)%s%s" % (
                n, line.rsplit(" ", 1)[0], r.status, r.reason, ms, extra,
                (" # " + note) if note else ""))
            if args.verbose and r.body:
                say("# <<< " + short(r.body, 2000))
            if st.get("final") and args.pid:
                wait = float(st["final"])
                end = time.monotonic() + wait
                while not process_gone(args.pid) and time.monotonic() < end:
                    time.sleep(0.05)
                if not process_gone(args.pid):
                    raise Fail("pid %d still runs %gs after vmm.shutdown (Kata would SIGKILL it)"
                               % (args.pid, wait))
                say("# pid %d exited after vmm.shutdown" % args.pid)
        return 0
    except Fail as e:
        body = ""
        if r is not None and r.status:
            body = " status %d body %s" % (r.status, short(r.body) or "(empty)")
        say("not ok %d - %s: %s%s" % (n, st["file"], e, body))
        return 1
    finally:
        if api is not None:
            api.close()
        for fd in taps:
            os.close(fd)


# ---------------------------------------------------------------- --check

def check_fixture(seq, st, errs):
    where = "%s/%s" % (seq, st["file"])
    raw = st["raw"]
    try:
        head, body = split_request(raw)
    except Setup as e:
        errs.append("%s: %s" % (where, e))
        return
    if b"\n" in head.replace(b"\r\n", b""):
        errs.append("%s: bare LF in the header" % where)
    lines = head.decode("latin-1").split("\r\n")
    m = re.fullmatch(r"(GET|PUT) /api/v1/(vmm?\.[a-z-]+) HTTP/1\.1", lines[0])
    if not m:
        errs.append("%s: request line %r" % (where, lines[0]))
        return
    method = m.group(1)
    if not st["file"].endswith("-" + m.group(2) + ".http"):
        errs.append("%s: file name does not match %s" % (where, m.group(2)))
    hdrs = []
    for l in lines[1:]:
        k, sep, v = l.partition(": ")
        if not sep or not re.fullmatch(r"[A-Z][a-z]*(-[A-Z][a-z]*)*", k):
            errs.append("%s: header line %r" % (where, l))
            return
        hdrs.append((k, v))
    names = [k for k, _ in hdrs]
    d = dict(hdrs)
    if st["channel"] == "api":
        # Request.write: Host, User-Agent, Content-Length (PUT), the rest
        # sorted, then the Transport's Accept-Encoding
        want = ["Host", "User-Agent"] + (["Content-Length"] if method == "PUT" else [])
        if names[:len(want)] != want or names[-1] != "Accept-Encoding":
            errs.append("%s: header order %s" % (where, names))
        rest = names[len(want):-1]
        if rest != sorted(rest):
            errs.append("%s: headers not sorted: %s" % (where, rest))
        if d.get("User-Agent") != GO_UA or d.get("Accept-Encoding") != "gzip":
            errs.append("%s: User-Agent/Accept-Encoding" % where)
    else:
        # httputil.DumpRequest: Host, then every header sorted; no User-Agent
        if names[0] != "Host" or names[1:] != sorted(names[1:]) or "User-Agent" in d:
            errs.append("%s: DumpRequest header order %s" % (where, names))
    if d.get("Host") != "localhost":
        errs.append("%s: Host %r" % (where, d.get("Host")))
    if method == "GET" and ("Content-Length" in d or body):
        errs.append("%s: GET with a body or Content-Length" % where)
    if method == "PUT":
        cl = d.get("Content-Length")
        if body and cl != "@CONTENT_LENGTH@":
            errs.append("%s: Content-Length must be @CONTENT_LENGTH@ with a body" % where)
        if not body and cl != "0":
            errs.append("%s: body-less PUT needs Content-Length: 0" % where)
        if body and d.get("Content-Type") != "application/json":
            errs.append("%s: Content-Type %r" % (where, d.get("Content-Type")))
    if body:
        names_used = {x.decode() for x in PLACEHOLDER.findall(body)}
        unknown = names_used - set(CHECK_VALUES) - {"CMDLINE", "MAC"}
        if unknown:
            errs.append("%s: unknown placeholders %s" % (where, sorted(unknown)))
        vals = dict(CHECK_VALUES, CMDLINE="console=hvc0 quiet", MAC="02:00:00:00:00:01")
        try:
            text = render(raw, vals).partition(b"\r\n\r\n")[2]
        except Setup as e:
            errs.append("%s: %s" % (where, e))
            return
        # json.NewEncoder(...).Encode adds "\n"; clh.go's json.Marshal does not
        if st["channel"] == "api" and not text.endswith(b"}\n"):
            errs.append("%s: body must end with '}\\n' (json.Encoder)" % where)
        if st["channel"] == "addnet" and text.endswith(b"\n"):
            errs.append("%s: add-net body has no trailing newline (json.Marshal)" % where)
        try:
            v = json.loads(text)
        except ValueError as e:
            errs.append("%s: body is not JSON: %s" % (where, e))
            return
        canon = json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if canon.encode() != text.rstrip(b"\n"):
            errs.append("%s: body is not compact with sorted keys (Go map order)" % where)


class StandIn(threading.Thread):
    """Answers as Cloud Hypervisor does; records connections and fds."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.log = []      # (conn_no, path, nfds, raw)
        self.state = "Created"
        self.cfg = b"{}"
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(path)
        self.lsock.listen(8)
        self.lock = threading.Lock()

    def run(self):
        n = 0
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            n += 1
            threading.Thread(target=self.serve, args=(c, n), daemon=True).start()

    def answer(self, path, body):
        def r(code, js=None):
            if js is None:
                return b"HTTP/1.1 %d No Content\r\nServer: Cloud Hypervisor API\r\nConnection: keep-alive\r\n\r\n" % code
            b = js.encode()
            return (b"HTTP/1.1 200 \r\nServer: Cloud Hypervisor API\r\nConnection: keep-alive\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b)) + b
        p = path.rsplit("/", 1)[1]
        if p == "vmm.ping":
            return r(200, '{"build_version":"v51.1","version":"51.1.0","pid":1,"features":["kvm"]}')
        if p == "vm.create":
            self.cfg = body.strip()
        if p == "vm.boot":
            self.state = "Running"
        if p == "vm.info":
            return r(200, '{"config":%s,"state":"%s","memory_actual_size":2147483648}'
                     % (self.cfg.decode(), self.state))
        if p == "vm.add-disk":
            return r(200, '{"id":"_disk2","bdf":"0000:00:06.0"}')
        return r(204)

    def serve(self, c, n):
        buf, nfds = b"", 0
        with c:
            while True:
                try:
                    data, anc, _, _ = c.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
                except OSError:
                    return
                if not data:
                    return
                for lvl, typ, cd in anc:
                    if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                        got = struct.unpack("%di" % (len(cd) // 4), cd[:len(cd) // 4 * 4])
                        nfds += len(got)
                        for fd in got:
                            os.close(fd)
                buf += data
                while b"\r\n\r\n" in buf:
                    head, _, rest = buf.partition(b"\r\n\r\n")
                    m = re.search(rb"\r\nContent-Length: (\d+)", head)
                    cl = int(m.group(1)) if m else 0
                    if len(rest) < cl:
                        break
                    body, buf = rest[:cl], rest[cl:]
                    path = head.split(b" ")[1].decode()
                    with self.lock:
                        self.log.append((n, path, nfds, head + b"\r\n\r\n" + body))
                    nfds = 0
                    c.sendall(self.answer(path, body))


def selftest(seq, errs):
    d = tempfile.mkdtemp(prefix="kata-replay.")
    sock = os.path.join(d, "clh-api.sock")
    srv = StandIn(sock)
    srv.start()
    args = argparse.Namespace(
        seq=seq, socket=sock, subst={k: v for k, v in CHECK_VALUES.items() if k != "DISK_ID"},
        tap_fds=1, tap_name="tap0_kata", fake_tap=True, static=False, pid=None,
        no_keepalive=False, verbose=False, hang_limit=5.0)
    sink = open(os.devnull, "w")
    try:
        rc = replay(args, out=sink)
    except Setup as e:
        errs.append("%s: %s" % (seq, e))
        return
    finally:
        sink.close()
        srv.lsock.close()
    if rc != 0:
        errs.append("%s: replay against the stand-in failed" % seq)
        return
    steps, _ = load_steps(seq)
    log = srv.log
    if len(log) != len(steps):
        errs.append("%s: stand-in saw %d requests, expected %d" % (seq, len(log), len(steps)))
        return
    api_conns = {c for c, p, _, _ in log if not p.endswith("vm.add-net")}
    net = [(c, k) for c, p, k, _ in log if p.endswith("vm.add-net")]
    if len(api_conns) != 1:
        errs.append("%s: the api channel used %d connections, Go's Transport uses one" % (seq, len(api_conns)))
    if any(c in api_conns or k != 1 for c, k in net):
        errs.append("%s: vm.add-net must come on its own connection with 1 fd: %s" % (seq, net))
    vals = dict(CHECK_VALUES)
    vals.update(load_steps(seq)[1])
    for (c, p, k, raw), st in zip(log, steps):
        want = render(st["raw"], vals)
        if raw != want:
            errs.append("%s: %s reached the server altered" % (seq, st["file"]))
    try:
        os.unlink(sock)
        os.rmdir(d)
    except OSError:
        pass


def check():
    errs = []
    seqs = sequences()
    for seq in seqs:
        steps, defaults = load_steps(seq)
        listed = {s["file"] for s in steps}
        present = {f for f in os.listdir(os.path.join(REQ_DIR, seq)) if f.endswith(".http")}
        for f in sorted(present - listed):
            errs.append("%s/%s: not in steps" % (seq, f))
        for st in steps:
            check_fixture(seq, st, errs)
        if not errs:
            selftest(seq, errs)
        print("%s %s: %d requests" % ("ok" if not errs else "not ok", seq, len(steps)))
    for e in errs:
        print("# " + e)
    return 1 if errs else 0


# ---------------------------------------------------------------- main

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="offline self-check; no VMM needed")
    ap.add_argument("--socket", help="the VMM's API socket")
    ap.add_argument("--seq", default="plain", help="sequence: %s" % ", ".join(sequences()))
    ap.add_argument("--subst", action="append", default=[], metavar="KEY=VALUE",
                    help="placeholder value (KERNEL, IMAGE, INITRAMFS, FIRMWARE, DISK, "
                         "VSOCK, VIRTIOFSD_SOCK, MAC, CMDLINE, MAX_VCPUS, HOTPLUG_SIZE)")
    ap.add_argument("--tap-fds", type=int, default=1,
                    help="tap fds sent with vm.add-net (Kata: 1; 0 sends none)")
    ap.add_argument("--tap-name", default="tap0_kata")
    ap.add_argument("--fake-tap", action="store_true",
                    help="send /dev/null fds instead of a tap (plumbing only)")
    ap.add_argument("--static", action="store_true",
                    help="static_sandbox_resource_mgmt=true: skip the vm.resize group")
    ap.add_argument("--pid", type=int, help="the VMM's pid: check it exits after vmm.shutdown")
    ap.add_argument("--no-keepalive", action="store_true",
                    help="a new connection per request (Kata reuses one)")
    ap.add_argument("--hang-limit", type=float, default=30.0,
                    help="seconds to wait where Kata sets no deadline (vm.add-net)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print requests and bodies")
    a = ap.parse_args(argv)
    if a.check:
        return check()
    if not a.socket:
        ap.error("--socket is required (or --check)")
    subst = {}
    for kv in a.subst:
        k, sep, v = kv.partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", k):
            ap.error("--subst wants KEY=VALUE, got %r" % kv)
        if k in NUMERIC and not re.fullmatch(r"[0-9]+", v):
            ap.error("%s must be a number" % k)
        subst[k] = v
    a.subst = subst
    if a.tap_fds < 0:
        ap.error("--tap-fds must be >= 0")
    try:
        return replay(a)
    except Setup as e:
        print("Bail out! " + str(e), flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
