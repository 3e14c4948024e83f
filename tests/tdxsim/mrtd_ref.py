#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Second, independent MRTD reference for a TDVF image (Python, hashlib only).

Adds every TDVF section in metadata order, page by page: one MEM.PAGE.ADD block,
then (for MR.EXTEND sections) sixteen MR.EXTEND header+256-byte records. Bytes past
RawDataSize are zero. Prints the MRTD as 96 hex digits.
"""
import hashlib
import struct
import sys
import uuid

FOOTER = uuid.UUID("96b582de-1fb2-45f7-baea-a366c55a082d").bytes_le
TDX_OFFSET = uuid.UUID("e47a6535-984a-4798-865e-4685a7bf8ec2").bytes_le


def descriptor_offset(img):
    n = len(img)
    if img[n - 48:n - 32] != FOOTER:
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
        data = img[doff:doff + raw] + bytes(msize - raw)
        for p in range(0, msize, 4096):
            h.update(b"MEM.PAGE.ADD".ljust(16, b"\0") + struct.pack("<Q", gpa + p) + bytes(104))
            if attr & 1:
                for c in range(0, 4096, 256):
                    h.update(b"MR.EXTEND".ljust(16, b"\0") + struct.pack("<Q", gpa + p + c) + bytes(104))
                    h.update(data[p + c:p + c + 256])
    return h.hexdigest()


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        print(mrtd(f.read()))
