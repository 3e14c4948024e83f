#!/usr/bin/env python3
"""How fast merak answers an orchestrator, against the same guest started
from the command line.

    python3 bench/api-lifecycle.py [BUILD_DIR] [RUNS]

Measures, as medians over RUNS (default 20):
  exec -> vmm.ping    merak started with only an API socket until it answers
  api: create+boot -> first serial byte   vm.create and vm.boot sent to a
                      ready VMM until the guest's first output (hello.elf)
  cli: exec -> first serial byte          merak --kernel hello.elf
Needs a KVM that runs the guest kit (this host's, or bare metal).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "control"))
import api_raw  # noqa: E402  (the tests' raw API client)

build = sys.argv[1] if len(sys.argv) > 1 else "build"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
merak = os.path.join(build, "merak")
guest = os.path.abspath(os.path.join(build, "tests/guest/hello.elf"))


def request(path, method, call, body=b""):
    status, rest = api_raw.request(path, method, call, body)
    if status >= 300:
        print("%s %s: %d %s" % (method, call, status, rest.decode(errors="replace")),
              file=sys.stderr)
    return status


def wait_output(path, t0, limit=30):
    while time.monotonic() - t0 < limit:
        try:
            if os.path.getsize(path) > 0:
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.0002)
    raise RuntimeError("no serial output from the guest")


def one_api(tmp):
    sock, serial = os.path.join(tmp, "api.sock"), os.path.join(tmp, "serial")
    for p in (sock, serial):
        if os.path.exists(p):
            os.unlink(p)
    t0 = time.monotonic()
    proc = subprocess.Popen([merak, "--api-socket", sock], stderr=subprocess.DEVNULL)
    while True:
        try:
            if request(sock, "GET", "vmm.ping") == 200:
                break
        except OSError:
            time.sleep(0.0002)
    t_ping = time.monotonic()
    cfg = ('{"payload":{"kernel":"%s"},"memory":{"size":33554432},'
           '"serial":{"mode":"File","file":"%s"},"console":{"mode":"Off"}}' % (guest, serial))
    t1 = time.monotonic()
    assert request(sock, "PUT", "vm.create", cfg.encode()) == 204
    st = request(sock, "PUT", "vm.boot")
    assert st == 204, st
    t_out = wait_output(serial, t1)
    proc.wait(timeout=30)
    return t_ping - t0, t_out - t1


def one_cli(tmp):
    serial = os.path.join(tmp, "serial-cli")
    if os.path.exists(serial):
        os.unlink(serial)
    t0 = time.monotonic()
    proc = subprocess.Popen([merak, "--kernel", guest, "--memory", "size=32M",
                             "--serial", "file=" + serial], stderr=subprocess.DEVNULL)
    t_out = wait_output(serial, t0)
    proc.wait(timeout=30)
    return t_out - t0


def main():
    ping, api, cli = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            a, b = one_api(tmp)
            ping.append(a)
            api.append(b)
            cli.append(one_cli(tmp))
    ms = lambda v: "%.2f ms" % (statistics.median(v) * 1000)
    print("exec -> vmm.ping answered:              %s" % ms(ping))
    print("api: vm.create + vm.boot -> first output: %s" % ms(api))
    print("cli: exec -> first output:               %s" % ms(cli))
    print("(medians of %d runs; hello.elf, 32 MiB)" % runs)


main()
