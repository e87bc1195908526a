"""runner.grpcweb: the gRPC-Web frame encoder/decoder shared by the readiness probe and the conformance client."""
from __future__ import annotations

import pytest

from runner import grpcweb


def test_frame_header_is_flags_then_big_endian_length():
    assert grpcweb.encode_frame(b"") == b"\x00\x00\x00\x00\x00"
    assert grpcweb.encode_frame(b"\x08\x01") == b"\x00\x00\x00\x00\x02\x08\x01"
    assert grpcweb.encode_frame(b"ab", grpcweb.TRAILERS_FLAG) == b"\x80\x00\x00\x00\x02ab"


def test_round_trip_data_and_trailer_frames():
    messages = [b"\x08\x01", b"", bytes(range(256)) * 300]
    trailer = b"grpc-status:0\r\ngrpc-message:\r\n"
    body = b"".join(grpcweb.encode_frame(m) for m in messages) + grpcweb.encode_frame(trailer, grpcweb.TRAILERS_FLAG)
    assert grpcweb.split_frames(body) == (messages, [trailer])
    assert grpcweb.decode_response(body) == (messages, {"grpc-status": "0", "grpc-message": ""})


def test_compressed_flag_is_a_data_frame():
    body = grpcweb.encode_frame(b"x", grpcweb.COMPRESSED_FLAG)
    assert grpcweb.split_frames(body) == ([b"x"], [])


def test_empty_body_has_no_frames():
    assert grpcweb.split_frames(b"") == ([], [])
    assert grpcweb.decode_response(b"") == ([], {})


def test_parse_trailers_lowercases_names_and_strips_values():
    payload = b"Grpc-Status: 3\r\ngrpc-message:bad%20request\r\n\r\nx-extra:a:b\r\n"
    assert grpcweb.parse_trailers(payload) == {"grpc-status": "3", "grpc-message": "bad%20request",
                                               "x-extra": "a:b"}


def test_trailer_frames_merge_later_wins():
    body = (grpcweb.encode_frame(b"grpc-status:2\r\n", grpcweb.TRAILERS_FLAG)
            + grpcweb.encode_frame(b"grpc-status:0\r\n", grpcweb.TRAILERS_FLAG))
    assert grpcweb.decode_response(body) == ([], {"grpc-status": "0"})


@pytest.mark.parametrize("body, message", [
    (b"\x00\x00\x00", "truncated frame header"),                         # header cut short
    (b"\x00\x00\x00\x00\x05abc", "truncated frame in the response"),    # payload shorter than its length
    (grpcweb.encode_frame(b"ok") + b"\x80\x00", "truncated frame header"),  # a good frame, then a torn one
])
def test_truncated_frame_raises(body, message):
    with pytest.raises(ValueError, match=message):
        grpcweb.split_frames(body)
    with pytest.raises(ValueError, match=message):
        grpcweb.decode_response(body)


def test_non_ascii_trailers_raise_value_error():
    with pytest.raises(ValueError):
        grpcweb.decode_response(grpcweb.encode_frame("grpc-message:é".encode(), grpcweb.TRAILERS_FLAG))
