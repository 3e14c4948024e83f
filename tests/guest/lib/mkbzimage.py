#!/usr/bin/env python3
# Wraps a test guest's payload (linked at 1 MiB, 64-bit entry at +0x200) in
# a minimal bzImage: a boot sector carrying the boot protocol 2.15 setup
# header, one empty setup sector, then the payload.
import struct
import subprocess
import sys
import tempfile

elf, out = sys.argv[1], sys.argv[2]
with tempfile.NamedTemporaryFile() as tmp:
    subprocess.run(["objcopy", "-O", "binary", elf, tmp.name], check=True)
    payload = open(tmp.name, "rb").read()
end = None
for line in subprocess.run(["nm", elf], check=True, capture_output=True, text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[2] == "_end":
        end = int(parts[0], 16)
if end is None:
    sys.exit("mkbzimage: no _end symbol in " + elf)
init_size = (end - 0x100000 + 0xfff) & ~0xfff

setup_sects = 1
hdr = bytearray(512 * (1 + setup_sects))
struct.pack_into("<B", hdr, 0x1f1, setup_sects)
struct.pack_into("<I", hdr, 0x1f4, (len(payload) + 15) // 16)   # syssize
struct.pack_into("<H", hdr, 0x1fe, 0xAA55)                        # boot_flag
hdr[0x200] = 0xEB                                                  # jmp over the header
hdr[0x201] = 0x268 - 0x202                                         # header ends at 0x268
hdr[0x202:0x206] = b"HdrS"
struct.pack_into("<H", hdr, 0x206, 0x020F)                        # protocol 2.15
struct.pack_into("<B", hdr, 0x211, 0x01)                          # loadflags: LOADED_HIGH
struct.pack_into("<I", hdr, 0x214, 0x100000)                      # code32_start
struct.pack_into("<I", hdr, 0x22C, 0x37FFFFFF)                    # initrd_addr_max
struct.pack_into("<I", hdr, 0x230, 0x200000)                      # kernel_alignment
struct.pack_into("<B", hdr, 0x234, 0)                             # not relocatable
struct.pack_into("<H", hdr, 0x236, 0x0001)                        # xloadflags: XLF_KERNEL_64
struct.pack_into("<I", hdr, 0x238, 0xFFF)                         # cmdline_size
struct.pack_into("<Q", hdr, 0x258, 0x100000)                      # pref_address
struct.pack_into("<I", hdr, 0x260, init_size)                     # init_size
with open(out, "wb") as f:
    f.write(hdr)
    f.write(payload)
