#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Second, independent MRTD reference for a TDVF image (Python, hashlib only).

Adds every TDVF section in metadata order, page by page: one MEM.PAGE.ADD block,
then (for MR.EXTEND sections) sixteen MR.EXTEND header+256-byte records. Bytes past
RawDataSize are zero. Prints the MRTD as 96 hex digits.

With --order two-pass: per section, all MEM.PAGE.ADDs, then all MR.EXTENDs
(Canonical QEMU 8.2 / KVM TDX v19-era stacks). The simulator itself stays
per-page like the kernel.
"""
import hashlib
import struct
import sys
import uuid

FOOTER = uuid.UUID("96b582de-1fb2-45f7-baea-a366c55a082d").bytes_le
TDX_OFFSET = uuid.UUID("e47a6535-984a-4798-865e-4685a7bf8ec2").bytes_le
META_GUID = uuid.UUID("e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae").bytes_le


def descriptor_offset(img):
    n = len(img)
    if img[n - 48:n - 32] != FOOTER:
        # td-shim's own locator: UINT32 at size-0x20, offset from the start.
        (off,) = struct.unpack_from("<I", img, n - 0x20)
        if 16 <= off <= n - 16 and img[off - 16:off] == META_GUID:
            return off
        raise SystemExit("no OVMF GUID table footer")
    (table_len,) = struct.unpack_from("<H", img, n - 50)
    start = n - 32 - table_len
    pos = n - 50  # the length field; entries end here
    while pos > start:
        guid = img[pos - 16:pos]
        (elen,) = struct.unpack_from("<H", img, pos - 18)
        if guid == TDX_OFFSET:
            (off,) = struct.unpack_from("<I", img, pos - 18 - 4)
            return n - off
        if elen < 18:
            break
        pos -= elen
    raise SystemExit("no TDX metadata offset entry")


def mrtd(img):
    d = descriptor_offset(img)
    sig, length, version, count = struct.unpack_from("<4sIII", img, d)
    if sig != b"TDVF" or version != 1 or length != 16 + 32 * count:
        raise SystemExit("bad TDVF descriptor")
    h = hashlib.sha384()
    for i in range(count):
        doff, raw, gpa, msize, typ, attr = struct.unpack_from("<IIQQII", img, d + 16 + 32 * i)
        # TD_INFO/TD_PARAMS (td-shim) have raw data but no memory: no pages.
        data = img[doff:doff + raw] + bytes(max(0, msize - raw))
        for p in range(0, msize, 4096):
            h.update(b"MEM.PAGE.ADD".ljust(16, b"\0") + struct.pack("<Q", gpa + p) + bytes(104))
            if attr & 1:
                for c in range(0, 4096, 256):
                    h.update(b"MR.EXTEND".ljust(16, b"\0") + struct.pack("<Q", gpa + p + c) + bytes(104))
                    h.update(data[p + c:p + c + 256])
    return h.hexdigest()


def sections(img):
    d = descriptor_offset(img)
    sig, length, version, count = struct.unpack_from("<4sIII", img, d)
    if sig != b"TDVF" or version != 1 or length != 16 + 32 * count:
        raise SystemExit("bad TDVF descriptor")
    return [struct.unpack_from("<IIQQII", img, d + 16 + 32 * i) for i in range(count)]


def mrtd_ordered(img, two_pass=False, inputs=None):
    """MRTD in either order. inputs maps a section type (2 TD_HOB, 5 Payload,
    6 PayloadParam) to the bytes the VMM puts into a section without raw data.
    PAGE.AUG sections (attribute bit 1) are skipped."""
    inputs = inputs or {}
    h = hashlib.sha384()

    def extend(gpa, data, p):
        for c in range(0, 4096, 256):
            h.update(b"MR.EXTEND".ljust(16, b"\0") + struct.pack("<Q", gpa + p + c) + bytes(104))
            h.update(data[p + c:p + c + 256])

    for doff, raw, gpa, msize, typ, attr in sections(img):
        if attr & 2:
            continue
        data = img[doff:doff + raw] if raw else inputs.get(typ, b"")
        data = data + bytes(max(0, msize - len(data)))
        for p in range(0, msize, 4096):
            h.update(b"MEM.PAGE.ADD".ljust(16, b"\0") + struct.pack("<Q", gpa + p) + bytes(104))
            if attr & 1 and not two_pass:
                extend(gpa, data, p)
        if attr & 1 and two_pass:
            for p in range(0, msize, 4096):
                extend(gpa, data, p)
    return h.hexdigest()


if __name__ == "__main__":
    # mrtd_ref.py IMAGE [--order per-page|two-pass] [--payload FILE] [--param FILE]
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--order", choices=["per-page", "two-pass"])
    ap.add_argument("--payload")
    ap.add_argument("--param")
    a = ap.parse_args()
    with open(a.image, "rb") as f:
        img = f.read()
    if a.order is None and not a.payload and not a.param:
        print(mrtd(img))
    else:
        inputs = {}
        if a.payload:
            inputs[5] = open(a.payload, "rb").read()
        if a.param:
            inputs[6] = open(a.param, "rb").read()
        print(mrtd_ordered(img, a.order == "two-pass", inputs))
