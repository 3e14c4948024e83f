#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Independent reference (hashlib only) for a td-shim TD launched under tdxsim.

Reads what the simulator received (TDXSIM_DUMP_DIR: one gpa-<16 hex>.bin per
KVM_TDX_INIT_MEM_REGION), checks the Payload and PayloadParam bytes are the
kernel and the NUL-terminated command line zero-padded to their sections, checks
the TD HOB carries td-shim's payload info HOB, then prints the RTMR0 and RTMR1
td-shim would extend on its Linux boot path:
  RTMR0: SHA384(HOB from PHIT through the END header), SHA384(00000000)
  RTMR1: SHA384(00000000), SHA384(payload region) if the Payload section's
         attributes are 0, SHA384(parameter region)

usage: tdshim_ref.py IMAGE DUMP_DIR KERNEL CMDLINE
"""
import hashlib
import os
import struct
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tdxsim"))
from mrtd_ref import sections  # noqa: E402  (the descriptor walk only)

PAYLOAD_INFO = uuid.UUID("b96fa412-461f-4be3-8c0d-ad805a497ac0").bytes_le
TD_HOB, PAYLOAD, PAYLOAD_PARAM = 2, 5, 6


def die(msg):
    print("tdshim_ref: " + msg, file=sys.stderr)
    sys.exit(1)


def dumped(d, gpa):
    path = os.path.join(d, "gpa-%016x.bin" % gpa)
    if not os.path.exists(path):
        die("nothing was added at 0x%x" % gpa)
    with open(path, "rb") as f:
        return f.read()


def hob_list(hob, base):
    """The bytes td-shim hashes, after the checks td-shim makes."""
    (end_ptr,) = struct.unpack_from("<Q", hob, 48)
    off, info = 0, None
    while True:
        typ, length = struct.unpack_from("<HH", hob, off)
        if typ == 0xFFFF:
            break
        if typ == 4 and hob[off + 8:off + 24] == PAYLOAD_INFO:
            info = struct.unpack_from("<IIQ", hob, off + 24)
        off += (length + 7) // 8 * 8
    n = off + 8
    if end_ptr - base != n:
        die("PHIT EfiEndOfHobList 0x%x != 0x%x" % (end_ptr, base + n))
    return hob[:n], info


def main():
    image, ddir, kernel_path, cmdline = sys.argv[1:5]
    with open(image, "rb") as f:
        secs = {s[4]: s for s in sections(f.read())}
    with open(kernel_path, "rb") as f:
        kernel = f.read()
    _, _, hob_gpa, _, _, _ = secs[TD_HOB]
    _, _, pl_gpa, pl_size, _, pl_attr = secs[PAYLOAD]
    _, _, pp_gpa, pp_size, _, _ = secs[PAYLOAD_PARAM]

    payload = kernel + bytes(pl_size - len(kernel))
    param = cmdline.encode() + b"\0"
    param += bytes(pp_size - len(param))
    if dumped(ddir, pl_gpa) != payload:
        die("the Payload section does not hold the kernel zero-padded to 0x%x" % pl_size)
    if dumped(ddir, pp_gpa) != param:
        die("the PayloadParam section does not hold the command line zero-padded")
    hob, info = hob_list(dumped(ddir, hob_gpa), hob_gpa)
    if info != (1, 0, pl_gpa):
        die("payload info HOB %r, want BzImage at 0x%x" % (info, pl_gpa))

    h = lambda b: hashlib.sha384(b).digest()  # noqa: E731
    ext = lambda r, d: h(r + d)  # noqa: E731
    sep = h(bytes(4))
    r0 = ext(ext(bytes(48), h(hob)), sep)
    r1 = ext(bytes(48), sep)
    if pl_attr == 0:
        r1 = ext(r1, h(payload))
    r1 = ext(r1, h(param))
    print("RTMR0 " + r0.hex())
    print("RTMR1 " + r1.hex())


if __name__ == "__main__":
    main()
