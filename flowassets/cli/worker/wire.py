"""Messages between the client and the worker: a 4-byte length and JSON, the client's stdio
file descriptors riding on its first message (SCM_RIGHTS); peer credentials checked on both
ends (SO_PEERCRED), so only the same user's processes talk to each other."""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any

_LENGTH = struct.Struct("!I")
_MAX_MESSAGE = 16 * 1024 * 1024


class WireError(Exception):
    """The other end closed the connection or sent something that is not a message."""


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    data = _LENGTH.pack(len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        data = data[sent:]
    if data:
        sock.sendall(data)


def receive(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """One message and the fds that came with it (empty unless ``max_fds``)."""
    buffer, fds = b"", []
    while len(buffer) < _LENGTH.size or len(buffer) < _LENGTH.size + _LENGTH.unpack_from(buffer)[0]:
        if len(buffer) >= _LENGTH.size and _LENGTH.unpack_from(buffer)[0] > _MAX_MESSAGE:
            raise WireError("message too large")
        # Exactly the header, then exactly the body: the next message stays in the socket.
        want = _LENGTH.size - len(buffer) if len(buffer) < _LENGTH.size else (
            _LENGTH.size + _LENGTH.unpack_from(buffer)[0] - len(buffer))
        if max_fds and not fds:
            chunk, got, _, _ = socket.recv_fds(sock, want, max_fds)
            fds.extend(got)
        else:
            chunk = sock.recv(want)
        if not chunk:
            for fd in fds:
                os.close(fd)
            raise WireError("connection closed")
        buffer += chunk
    size = _LENGTH.unpack_from(buffer)[0]
    try:
        return json.loads(buffer[_LENGTH.size:_LENGTH.size + size]), fds
    except ValueError:
        for fd in fds:
            os.close(fd)
        raise WireError("not a message") from None


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]
