#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in Quote Generation Service for merak's TD tests: unix socket,
QGS 1.1 framing (4-byte big-endian length, then little-endian messages).
Modes: ok (quote = b'QUOTE' + the report reversed), error (error_code 0x11),
silent (never answers)."""
import os
import socket
import struct
import sys
import threading


def serve(conn, mode):
    with conn:
        hdr = b''
        while len(hdr) < 4:
            chunk = conn.recv(4 - len(hdr))
            if not chunk:
                return
            hdr += chunk
        (n,) = struct.unpack('>I', hdr)
        body = b''
        while len(body) < n:
            chunk = conn.recv(n - len(body))
            if not chunk:
                return
            body += chunk
        major, minor, mtype, size, err, rsize, idsize = struct.unpack('<HHIIIII', body[:24])
        report = body[24:24 + rsize]
        if mode == 'silent':
            threading.Event().wait(600)
            return
        if mode == 'error':
            quote, code = b'', 0x11
        else:
            quote, code = b'QUOTE' + report[::-1], 0
        msg = struct.pack('<HHIIIII', 1, 1, 1, 24 + len(quote), code, 0, len(quote)) + quote
        conn.sendall(struct.pack('>I', len(msg)) + msg)


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    print('ready', flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == '__main__':
    main()
