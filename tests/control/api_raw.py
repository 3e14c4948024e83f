"""Raw exchanges with merak's API socket, byte for byte as written here, so
that malformed requests reach merak as they are and file descriptors can
ride along (SCM_RIGHTS). Used by tests/control/lifecycle.sh and
bench/api-lifecycle.py; python3's standard library only."""
import array
import fcntl
import os
import socket
import struct

TUNSETIFF = 0x400454ca
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000


def exchange(path, data, fds=(), timeout=10):
    """Sends data (with fds alongside) on a new connection; returns all the
    server sent until it closed."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    try:
        s.connect(path)
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        s.sendmsg([data], anc)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def request_bytes(method, call, body=b"", close=True):
    """One request as merak's clients send it (Connection: close unless told)."""
    return (b"%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (method.encode(), call.encode(), len(body),
                                               b"Connection: close\r\n" if close else b"")) + body


def request(path, method, call, body=b"", fds=()):
    """(status, body) of one request; status 0 if no answer came."""
    data = exchange(path, request_bytes(method, call, body), fds)
    head, _, rest = data.partition(b"\r\n\r\n")
    parts = head.split(b" ")
    return (int(parts[1]) if len(parts) > 1 else 0), rest


def open_tap(name):
    """A tap opened as Kata opens it (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(),
                                           IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    return fd
