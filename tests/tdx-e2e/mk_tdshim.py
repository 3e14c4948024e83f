#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a synthetic image shaped like a td-shim build for Linux payloads.

No td-shim code or bytes: only the documented layout (td-shim doc/tdshim_spec.md,
td-shim-tools linker/metadata), with deterministic filler where td-shim has code.

  * TDVF descriptor ("TDVF", version 1) preceded by the metadata GUID
    e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae;
  * OVMF GUIDed table ending at size-0x20: the TDX metadata offset entry
    e47a6535-... (descriptor offset from the end), then the table length and the
    footer GUID 96b582de-... at size-0x30 (what QEMU and merak look for);
  * td-shim's own UINT32 at size-0x20: the descriptor offset from the start;
  * sections in td-shim's order: BFV (MR.EXTEND), CFV, TempMem, TD_HOB,
    Payload and PayloadParam at td-shim's default Linux layout GPAs (TD_HOB
    0x800000+0x20000, PayloadParam 0x860000+0x1000, Payload 0x861000+SIZE).

Options add td-shim's other sections after those: --perm-mem GPA:SIZE (PermMem,
PAGE.AUG; repeatable), --td-info and --td-params (metadata only: raw data inside
the BFV at BFV+0x1000 / BFV+0x1400, memory address and size 0).

usage: mk_tdshim.py OUT [--payload-size HEX] [--payload-attr N] [--no-pointer] [--no-table]
                        [--perm-mem GPA:SIZE]... [--td-info] [--td-params]
"""
import argparse
import struct
import uuid

META_GUID = uuid.UUID("e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae").bytes_le
TDX_OFFSET_GUID = uuid.UUID("e47a6535-984a-4798-865e-4685a7bf8ec2").bytes_le
FOOTER_GUID = uuid.UUID("96b582de-1fb2-45f7-baea-a366c55a082d").bytes_le

BFV, CFV, TD_HOB, TEMP_MEM, PERM_MEM, PAYLOAD, PAYLOAD_PARAM, TD_INFO, TD_PARAMS = range(9)
MR_EXTEND, PAGE_AUG = 1, 2
TD_INFO_OFF, TD_PARAMS_OFF = 0x1000, 0x1400  # inside the BFV, past the metadata

IMAGE_SIZE = 0x100000  # 1 MiB, mapped to end at 4 GiB
CFV_OFF, CFV_SIZE = 0, 0x10000
TEMP_OFF, TEMP_SIZE = 0x10000, 0x10000  # GPA range inside the image, no file data
META_OFF = 0x20000  # metadata GUID here, descriptor at +16; BFV starts here too
BFV_OFF = META_OFF


def filler(n, seed):
    """Deterministic bytes (a counter pattern), no external content."""
    out = bytearray(n)
    x = seed & 0xFFFFFFFF
    for i in range(0, n, 4):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out[i:i + 4] = struct.pack("<I", x)
    return bytes(out[:n])


def build(payload_size=0x2000000, payload_attr=0, pointer=True, table=True, perm=(),
          td_info=False, td_params=False):
    base = (1 << 32) - IMAGE_SIZE
    img = bytearray(IMAGE_SIZE)
    img[CFV_OFF:CFV_OFF + CFV_SIZE] = filler(CFV_SIZE, 1)
    bfv_size = IMAGE_SIZE - BFV_OFF
    img[BFV_OFF:] = filler(bfv_size, 2)

    sections = [
        # DataOffset, RawDataSize, MemoryAddress, MemoryDataSize, Type, Attributes
        (BFV_OFF, bfv_size, base + BFV_OFF, bfv_size, BFV, MR_EXTEND),
        (CFV_OFF, CFV_SIZE, base + CFV_OFF, CFV_SIZE, CFV, 0),
        (0, 0, base + TEMP_OFF, TEMP_SIZE, TEMP_MEM, 0),
        (0, 0, 0x800000, 0x20000, TD_HOB, 0),
        (0, 0, 0x861000, payload_size, PAYLOAD, payload_attr),
        (0, 0, 0x860000, 0x1000, PAYLOAD_PARAM, 0),
    ]
    sections += [(0, 0, gpa, size, PERM_MEM, PAGE_AUG) for gpa, size in perm]
    if td_info:
        # GUID, length, version, SVN, then data (td-shim spec table 1.1-5)
        info = uuid.UUID("e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae").bytes_le
        info += struct.pack("<III", 0x400, 1, 1) + filler(0x400 - 28, 3)
        img[BFV_OFF + TD_INFO_OFF:BFV_OFF + TD_INFO_OFF + 0x400] = info
        sections.append((BFV_OFF + TD_INFO_OFF, 0x400, 0, 0, TD_INFO, 0))
    if td_params:
        img[BFV_OFF + TD_PARAMS_OFF:BFV_OFF + TD_PARAMS_OFF + 0x400] = filler(0x400, 4)
        sections.append((BFV_OFF + TD_PARAMS_OFF, 0x400, 0, 0, TD_PARAMS, 0))
    desc = struct.pack("<4sIII", b"TDVF", 16 + 32 * len(sections), 1, len(sections))
    for s in sections:
        desc += struct.pack("<IIQQII", *s)
    meta = META_GUID + desc
    img[META_OFF:META_OFF + len(meta)] = meta
    desc_off = META_OFF + 16

    # The reset-vector page: zero the tail, then the tables (as td-shim's linker).
    tail = IMAGE_SIZE - 0x100
    img[tail:] = bytes(0x100)
    img[IMAGE_SIZE - 0x10:IMAGE_SIZE - 0x10 + 2] = b"\xeb\xfe"  # jmp $ at the reset vector
    if table:
        entry = struct.pack("<I", IMAGE_SIZE - desc_off) + struct.pack("<H", 4 + 2 + 16) + TDX_OFFSET_GUID
        tbl = entry + struct.pack("<H", len(entry) + 2 + 16) + FOOTER_GUID
        end = IMAGE_SIZE - 0x20
        img[end - len(tbl):end] = tbl
    if pointer:
        img[IMAGE_SIZE - 0x20:IMAGE_SIZE - 0x1C] = struct.pack("<I", desc_off)
    return bytes(img)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--payload-size", default="0x2000000")
    ap.add_argument("--payload-attr", type=int, default=0)
    ap.add_argument("--no-pointer", action="store_true")
    ap.add_argument("--no-table", action="store_true")
    ap.add_argument("--perm-mem", action="append", default=[], metavar="GPA:SIZE")
    ap.add_argument("--td-info", action="store_true")
    ap.add_argument("--td-params", action="store_true")
    a = ap.parse_args()
    perm = [tuple(int(x, 0) for x in p.split(":")) for p in a.perm_mem]
    data = build(int(a.payload_size, 0), a.payload_attr, not a.no_pointer, not a.no_table,
                 perm, a.td_info, a.td_params)
    with open(a.out, "wb") as f:
        f.write(data)
