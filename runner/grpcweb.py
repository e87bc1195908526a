"""gRPC-Web framing (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md): a 5-byte header
(a flags byte, a big-endian 32-bit length) before every message; the trailers travel as one more frame
with the 0x80 flag, an HTTP/1-style `name:value\\r\\n` block."""
from __future__ import annotations

import struct

TRAILERS_FLAG = 0x80
COMPRESSED_FLAG = 0x01
_HEADER = struct.Struct(">BI")


def encode_frame(message: bytes, flags: int = 0) -> bytes:
    """One length-prefixed frame."""
    return _HEADER.pack(flags, len(message)) + message


def split_frames(body: bytes) -> tuple[list[bytes], list[bytes]]:
    """The data-frame payloads and the trailer-frame payloads of a response body, each in order.
    Raises ValueError on a truncated frame."""
    data: list[bytes] = []
    trailers: list[bytes] = []
    offset = 0
    while offset < len(body):
        if len(body) - offset < _HEADER.size:
            raise ValueError("truncated frame header in the response")
        flags, length = _HEADER.unpack_from(body, offset)
        payload = body[offset + _HEADER.size:offset + _HEADER.size + length]
        if len(payload) != length:
            raise ValueError("truncated frame in the response")
        offset += _HEADER.size + length
        (trailers if flags & TRAILERS_FLAG else data).append(payload)
    return data, trailers


def parse_trailers(payload: bytes) -> dict[str, str]:
    """A trailer-frame payload as a dict: lower-case names, stripped values. Raises ValueError
    (UnicodeDecodeError) on a non-ASCII block."""
    trailers: dict[str, str] = {}
    for line in payload.decode("ascii").split("\r\n"):
        if line:
            name, _, value = line.partition(":")
            trailers[name.strip().lower()] = value.strip()
    return trailers


def decode_response(body: bytes) -> tuple[list[bytes], dict[str, str]]:
    """The message payloads and the (merged) trailers of a response body. Raises ValueError on a
    truncated frame."""
    data, trailer_frames = split_frames(body)
    trailers: dict[str, str] = {}
    for payload in trailer_frames:
        trailers.update(parse_trailers(payload))
    return data, trailers
