"""Reply JSON remembered by wire bytes: the same bytes the uncached rendering gives."""

from __future__ import annotations

from starlette.responses import JSONResponse

from cinema.catalog.v1 import catalog_pb2
from gateway.headers import API_POLICY, _with_security_headers
from gateway.transcode import RenderedReplies, render_response


def _reply(title: str) -> bytes:
    film = catalog_pb2.Film(id="f-1", title=title, description="Ёжик в тумане — «мультфильм»")
    film.year = 1975
    return bytes(catalog_pb2.GetFilmResponse(film=film).SerializeToString())


def _uncached(wire: bytes, response_body: str) -> bytes:
    reply = catalog_pb2.GetFilmResponse.FromString(wire)
    return bytes(JSONResponse(render_response(reply, response_body)).body)


def test_a_reply_renders_as_json_response_did_and_is_kept() -> None:
    replies = RenderedReplies()
    wire = _reply("Ёжик в тумане")
    first = replies.body(wire, catalog_pb2.GetFilmResponse, "")
    assert first == _uncached(wire, "")
    assert replies.body(bytes(wire), catalog_pb2.GetFilmResponse, "") is first
    assert len(replies) == 1


def test_a_response_body_field_is_a_separate_entry() -> None:
    replies = RenderedReplies()
    wire = _reply("Solaris")
    whole = replies.body(wire, catalog_pb2.GetFilmResponse, "")
    field = replies.body(wire, catalog_pb2.GetFilmResponse, "film")
    assert field == _uncached(wire, "film") != whole
    assert len(replies) == 2


def test_the_least_recently_used_go_past_the_budget_and_large_ones_are_not_kept() -> None:
    wires = [_reply(f"film {i}") for i in range(20)]
    entry = len(wires[0]) + len(_uncached(wires[0], ""))
    replies = RenderedReplies(max_bytes=entry * 5, max_entry_bytes=entry * 2)
    for wire in wires:
        replies.body(wire, catalog_pb2.GetFilmResponse, "")
        replies.body(wires[0], catalog_pb2.GetFilmResponse, "")  # keeps the first in use
    assert len(replies) <= 5 and replies.size <= entry * 5
    kept = replies.body(wires[0], catalog_pb2.GetFilmResponse, "")
    assert replies.body(wires[0], catalog_pb2.GetFilmResponse, "") is kept
    tiny = RenderedReplies(max_entry_bytes=entry - 1)
    assert tiny.body(wires[1], catalog_pb2.GetFilmResponse, "") == _uncached(wires[1], "")
    assert len(tiny) == 0


def test_security_headers_are_added_only_where_missing() -> None:
    headers = _with_security_headers([(b"content-type", b"application/json")])
    assert (b"content-security-policy", API_POLICY.encode()) in headers
    assert (b"cache-control", b"no-store") in headers
    assert (b"x-frame-options", b"DENY") in headers
    kept = _with_security_headers([(b"cache-control", b"max-age=60"), (b"x-frame-options", b"X")])
    assert [value for name, value in kept if name == b"cache-control"] == [b"max-age=60"]
    assert [value for name, value in kept if name == b"x-frame-options"] == [b"X"]
