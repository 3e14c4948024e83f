#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Where a merak process's memory goes, from /proc/PID/smaps.

  rss.py [--log FILE] [--maps] PID
      one snapshot of a running merak
  rss.py [--until line|exit] [--settle MS] [--timeout S] [--kv] [--maps] -- MERAK ARGS...
      runs merak (stdout piped: give it --serial tty or --serial off), samples
      its smaps while it runs and reports the peak; --until line (default)
      stops it with SIGINT SETTLE ms after the first line on its stdout (a
      guest that waits, e.g. tests/guest/hang.elf), --until exit lets it run
      to completion (hello.elf).

Mappings are put in these classes:
  guest      guest memory: VMAs named [anon:merak-guest-ram] /
             [anon:merak-guest-firmware] (src/vm/mem.c names them where the
             kernel has CONFIG_ANON_VMA_NAME), else the host ranges of merak's
             debug line "guest memory: ... at host A-B" (run mode adds
             --log-level debug --log-file itself; for a PID give --log FILE)
  lib:NAME   file-backed mappings, per file (the merak binary, libc, ...)
  heap       [heap] and glibc's per-thread malloc arenas (rw-p at a 64 MiB
             boundary, the arena's alignment)
  stacks     [stack] and thread stacks (an rw-p mapping right above a
             PROT_NONE guard page)
  kvm        KVM's per-vCPU kvm_run mappings (anon_inode:kvm-vcpu, or the
             TDX simulator's memfd:tdxsim-vcpu)
  anon       every other anonymous mapping (vdso and vvar included)

Peak: VmHWM is the peak of the whole RSS. Guest memory only grows while a
guest runs (merak never gives guest RAM back), so
  vmm_peak = max(max over samples of (VmRSS - guest), VmHWM - guest at the end)
never exceeds merak's own peak and equals it when that peak lasts to the
end (merak allocates at launch and keeps it); a transient peak earlier is
under-counted by at most the guest memory touched after it, unless a
sample caught it. A staging copy in guest memory that merak drops before
the guest runs counts as VMM memory, which is what it is. In --until exit mode the
last sample before the exit stands for "the end" (VmHWM is per address
space, so it is read from /proc while merak lives: wait4's ru_maxrss would
count the forked Python before the exec).
"""
import argparse
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

GUEST_NAMES = ("[anon:merak-guest-ram]", "[anon:merak-guest-firmware]")
HOST_RE = re.compile(r"guest memory: (\S+) gpa 0x([0-9a-f]+) size 0x([0-9a-f]+) "
                     r"at host (?:0x)?([0-9a-f]+)-(?:0x)?([0-9a-f]+)")


def guest_ranges_from_log(path):
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = HOST_RE.search(line)
                if m:
                    out.append((int(m.group(4), 16), int(m.group(5), 16), m.group(1)))
    except OSError:
        pass
    return out


def read_smaps(pid):
    """[(start, end, perms, name, rss_kib, pss_kib)] in address order."""
    vmas, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 5)
            if "-" in first[0] and len(first) >= 5 and ":" not in first[0]:
                s, e = first[0].split("-")
                name = first[5].strip() if len(first) > 5 else ""
                cur = [int(s, 16), int(e, 16), first[1], name, 0, 0]
                vmas.append(cur)
            elif first[0] == "Rss:":
                cur[4] = int(first[1])
            elif first[0] == "Pss:":
                cur[5] = int(first[1])
    return vmas


def read_status(pid):
    st = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "Threads"):
                st[k] = int(v.split()[0])
    return st


def merge_ranges(ranges):
    """Adjacent guest ranges as one: the kernel merges their VMAs too."""
    out = []
    for s, e, _ in sorted(ranges):
        if out and out[-1][1] == s:
            out[-1][1] = e
        else:
            out.append([s, e])
    return out


EXCLUDE = set()


def classify(vmas, guest_ranges):
    """{class: [rss, pss]} and the per-mapping list [(class, vma)]."""
    cls, per = {}, []
    guest_ranges = merge_ranges(guest_ranges)
    for i, v in enumerate(vmas):
        s, e, perms, name = v[0], v[1], v[2], v[3]
        prev = vmas[i - 1] if i else None
        nxt = vmas[i + 1] if i + 1 < len(vmas) else None
        if name in GUEST_NAMES or any(gs <= s and e <= ge for gs, ge in guest_ranges):
            c = "guest"
        elif name.startswith("/memfd:tdxsim-vcpu") or name.startswith("anon_inode:kvm-vcpu"):
            c = "kvm"
        elif name.startswith("/"):
            c = "lib:" + os.path.basename(name.split(" (deleted)")[0])
            if c[4:] in EXCLUDE:
                c = "excluded"
        elif name == "[heap]":
            c = "heap"
        elif name == "[stack]":
            c = "stacks"
        elif name == "" and perms.startswith("rw"):
            # glibc aligns a thread arena to its 64 MiB maximum; a thread stack
            # sits right above its guard page(s).
            guard_below = (prev and prev[1] == s and prev[2].startswith("---") and
                           prev[3] == "" and prev[1] - prev[0] <= 64 << 10)
            if s % (64 << 20) == 0 and e - s <= 64 << 20:
                c = "heap"
            elif guard_below:
                c = "stacks"
            else:
                c = "anon"
        else:
            c = "anon"
        a = cls.setdefault(c, [0, 0])
        a[0] += v[4]
        a[1] += v[5]
        per.append((c, v))
    return cls, per


def snapshot(pid, guest_ranges):
    st = read_status(pid)
    vmas = read_smaps(pid)
    cls, per = classify(vmas, guest_ranges)
    return {"t": time.monotonic(), "status": st, "cls": cls, "per": per}


def summarize(samples, hwm_final=None, excluded=0):
    """The numbers the report and --kv print."""
    last = samples[-1]
    guest_end = last["cls"].get("guest", [0, 0])[0]
    hwm = hwm_final if hwm_final is not None else last["status"]["VmHWM"]
    best = max(samples, key=lambda s: s["status"]["VmRSS"] - s["cls"].get("guest", [0, 0])[0])
    vmm_sampled = best["status"]["VmRSS"] - best["cls"].get("guest", [0, 0])[0]
    vmm_peak = max(vmm_sampled, hwm - guest_end)
    cur_vmm = last["status"]["VmRSS"] - guest_end - last["cls"].get("excluded", [0, 0])[0]

    def k(c):
        return last["cls"].get(c, [0, 0])[0]

    libs = sum(v[0] for c, v in last["cls"].items() if c.startswith("lib:"))
    excluded = k("excluded")
    return {
        "hwm_kib": hwm, "rss_kib": last["status"]["VmRSS"], "guest_kib": guest_end,
        "vmm_peak_kib": vmm_peak, "vmm_now_kib": cur_vmm, "libs_kib": libs,
        "heap_kib": k("heap"), "stacks_kib": k("stacks"), "kvm_kib": k("kvm"),
        "anon_kib": k("anon"), "excluded_kib": excluded, "threads": last["status"].get("Threads", 0),
        "samples": len(samples),
    }


def report(samples, sm, show_maps, out=sys.stdout):
    last = samples[-1]
    p = lambda *a: print(*a, file=out)
    p(f"VmHWM {sm['hwm_kib']} KiB, VmRSS {sm['rss_kib']} KiB, guest memory {sm['guest_kib']} KiB, "
      f"{sm['threads']} threads, {sm['samples']} samples")
    p(f"VMM memory: peak {sm['vmm_peak_kib']} KiB (VmHWM - guest), now {sm['vmm_now_kib']} KiB")
    p(f"{'class':<28} {'Rss KiB':>9} {'Pss KiB':>9}")
    for c, (rss, pss) in sorted(last["cls"].items(), key=lambda kv: -kv[1][0]):
        p(f"{c:<28} {rss:>9} {pss:>9}")
    if show_maps:
        p("mappings with resident pages:")
        for c, v in last["per"]:
            if v[4]:
                p(f"  {v[4]:>7} KiB {v[0]:x}-{v[1]:x} {v[2]} {(v[1] - v[0]) >> 10:>10} KiB "
                  f"{c:<16} {v[3]}")


def run(args):
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    tmpdir = None
    log = None
    if "--log-file" in cmd:
        log = cmd[cmd.index("--log-file") + 1]
    else:
        tmpdir = tempfile.mkdtemp(prefix="merak-rss.")
        log = os.path.join(tmpdir, "merak.log")
        cmd += ["--log-level", "debug", "--log-file", log]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    os.set_blocking(proc.stdout.fileno(), False)
    samples, buf, t_line, t_exit, stop_at = [], b"", None, None, None
    deadline = t0 + args.timeout
    guest_ranges = []
    while True:
        try:
            chunk = proc.stdout.read()
        except (BlockingIOError, ValueError):
            chunk = None
        if chunk:
            buf += chunk
            if t_line is None and b"\n" in buf:
                t_line = time.monotonic()
                if args.until == "line":
                    stop_at = t_line + args.settle / 1000
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            t_exit = time.monotonic()
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        now = time.monotonic()
        last = (stop_at and now >= stop_at) or now >= deadline
        # --interval 0: one snapshot at the end only, so the launch is timed undisturbed.
        if args.interval > 0 or last:
            if not guest_ranges:
                guest_ranges = guest_ranges_from_log(log)
            try:
                samples.append(snapshot(proc.pid, guest_ranges))
            except (OSError, IndexError, KeyError):
                pass
        if last:
            break
        select.select([proc.stdout], [], [], (args.interval or 0.5) / 1000)
    if t_exit is None:
        proc.send_signal(signal.SIGINT)
        try:
            _, status, _ = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            pass
    if tmpdir:
        for f in os.listdir(tmpdir):
            os.unlink(os.path.join(tmpdir, f))
        os.rmdir(tmpdir)
    if not samples:
        print("no sample: merak exited before its smaps could be read", file=sys.stderr)
        return 1
    # Not the exit's ru_maxrss: it counts the forked Python before the exec.
    sm = summarize(samples, max(x["status"]["VmHWM"] for x in samples))
    sm["first_line_ms"] = round((t_line - t0) * 1000, 1) if t_line else -1
    sm["exit_ms"] = round((t_exit - t0) * 1000, 1) if t_exit else -1
    sm["status"] = proc.returncode
    if args.kv:
        print(" ".join(f"{k}={v}" for k, v in sm.items()))
    else:
        print(f"first line after {sm['first_line_ms']} ms, exit after {sm['exit_ms']} ms, "
              f"status {sm['status']}")
        report(samples, sm, args.maps)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", help="merak's debug log (snapshot mode)")
    ap.add_argument("--maps", action="store_true", help="list every resident mapping")
    ap.add_argument("--until", choices=("line", "exit"), default="line")
    ap.add_argument("--settle", type=float, default=100, help="ms after the first line")
    ap.add_argument("--interval", type=float, default=2,
                    help="ms between samples; 0: one snapshot when --until line stops it")
    ap.add_argument("--timeout", type=float, default=60, help="s")
    ap.add_argument("--kv", action="store_true", help="one line of key=value")
    ap.add_argument("--exclude-lib", action="append", default=[],
                    help="a library that is not merak's (the TDX simulator and what it "
                         "loads): class 'excluded', left out of vmm_now_kib")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    EXCLUDE.update(args.exclude_lib)
    if len(args.cmd) == 1 and args.cmd[0].isdigit():
        pid = int(args.cmd[0])
        s = snapshot(pid, guest_ranges_from_log(args.log) if args.log else [])
        sm = summarize([s])
        if args.kv:
            print(" ".join(f"{k}={v}" for k, v in sm.items()))
        else:
            report([s], sm, args.maps)
        return 0
    if not args.cmd:
        ap.error("give a PID or -- MERAK ARGS...")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
