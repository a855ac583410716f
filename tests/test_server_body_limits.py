"""Body limits hold before the body is read (SECURITY.md 29): raw HTTP/1.1 on a socket.

The handler streams its body, so a declared ``Content-Length`` over the route's limit is
refused with the 413 error shape as soon as the headers are in, and a chunked body is
refused once its bytes pass the limit; in both cases the server closes the connection
instead of reading the rest. Bodies at the limit still work.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from dataask_server.base import DASHBOARD_BODY_LIMIT, DEFAULT_BODY_LIMIT

from tests.server_fixtures import (  # noqa: F401  (fixtures)
    COOKIE,
    fixture_as_user,
    fixture_dataask_home,
    fixture_jp_server_config,
    fixture_sqlite_only,
)

pytestmark = pytest.mark.usefixtures("sqlite_only")
FAST = 3.0  # s: an answer that did not wait for a body that never comes


class Raw:
    """One HTTP/1.1 request written by hand to the test server's port."""

    def __init__(self, port: int, base_url: str) -> None:
        self.port, self.base = port, base_url.rstrip("/")

    async def request(self, method: str, path: str, *, headers: dict, parts: list[bytes] = (),
                      pause: float = 0.0, timeout: float = 10.0) -> tuple[int, dict, bytes, bool, float]:
        """Send the head, then ``parts`` (stopping if the server hung up); return
        ``(status, headers, body, closed_by_server, seconds)``."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        started = time.monotonic()
        head = [f"{method} {self.base}/dataask/api/{path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                "Content-Type: application/json", *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            await writer.drain()
            for part in parts:
                writer.write(part)
                await writer.drain()
                if pause:
                    await asyncio.sleep(pause)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server answered and closed while we were still sending: what we test
        try:
            status, resp_headers, body = await asyncio.wait_for(self._response(reader), timeout)
            seconds = time.monotonic() - started
            try:  # a kept-alive connection stays open; one the server gave up on ends now
                closed = await asyncio.wait_for(reader.read(1), 1.0) == b""
            except asyncio.TimeoutError:
                closed = False
        finally:
            writer.close()
        return status, resp_headers, body, closed, seconds

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, dict, bytes]:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:] if ":" in line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body


def chunked(data: bytes, size: int = 64 << 10, *, end: bool = True) -> list[bytes]:
    parts = [b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size]) for i in range(0, len(data), size)]
    return [*parts, b"0\r\n\r\n"] if end else parts


def padded(obj: dict, size: int) -> bytes:
    """``obj`` as JSON padded with trailing spaces to exactly ``size`` bytes."""
    raw = json.dumps(obj).encode()
    return raw + b" " * (size - len(raw))


@pytest.fixture
def raw(jp_fetch, jp_http_port, jp_base_url):
    return Raw(jp_http_port, jp_base_url)  # jp_fetch: the test server is listening


ALICE = {"Authorization": "token tok-alice"}


def assert_too_large(status: int, body: bytes) -> None:
    assert status == 413, body
    err = json.loads(body)
    assert set(err) == {"error"} and err["error"]["code"] == "too_large" and set(err["error"]) == {"code", "message"}


async def test_declared_50_mb_is_refused_before_the_body(raw, as_user):
    alice = as_user("alice")
    ws = await alice.ok("POST", "workspaces", {"name": "Limits"}, expect=201)
    path = f"workspaces/{ws['id']}/dashboards"  # a dashboard route: 10 MiB
    status, _, body, closed, seconds = await raw.request(
        "POST", path, headers={**ALICE, "Content-Length": str(50 << 20)}, parts=[b'{"name": '])
    assert_too_large(status, body)
    assert seconds < FAST and closed  # answered at once, then hung up instead of reading 50 MB
    # the 1 MiB default route: one byte over its limit is enough
    status, _, body, closed, _ = await raw.request(
        "POST", "workspaces", headers={**ALICE, "Content-Length": str(DEFAULT_BODY_LIMIT + 1)}, parts=[b"{"])
    assert_too_large(status, body)
    assert closed
    assert (await alice.ok("GET", path))["items"] == []
    assert [w["name"] for w in (await alice.ok("GET", "workspaces"))["items"]] == ["Limits"]


async def test_authentication_and_xsrf_come_before_the_body(raw):
    big = {"Content-Length": str(50 << 20)}
    status, _, body, closed, seconds = await raw.request("POST", "workspaces", headers={**big, "Authorization": ""},
                                                         parts=[b"{"])
    assert status == 403 and json.loads(body)["error"]["code"] == "forbidden" and closed and seconds < FAST
    status, _, _, closed, seconds = await raw.request(  # cookie login without the _xsrf token
        "POST", "workspaces", headers={**big, "Cookie": f"{COOKIE}=alice"}, parts=[b"{"])
    assert status == 403 and closed and seconds < FAST


async def test_chunked_body_over_the_cap_is_refused(raw, as_user):
    data = padded({"name": "Chunky"}, DEFAULT_BODY_LIMIT + (256 << 10))
    # stop sending right after the chunk that crosses the limit (the server hangs up there)
    parts = chunked(data, end=False)[: DEFAULT_BODY_LIMIT // (64 << 10) + 1]
    status, _, body, closed, _ = await raw.request(
        "POST", "workspaces", headers={**ALICE, "Transfer-Encoding": "chunked"}, parts=parts, pause=0.005)
    assert_too_large(status, body)
    assert closed
    assert (await as_user("alice").ok("GET", "workspaces"))["items"] == []


async def test_bodies_at_the_cap_still_work(raw, as_user):
    alice = as_user("alice")
    status, _, body, _, _ = await raw.request(  # exactly 1 MiB with Content-Length
        "POST", "workspaces", headers={**ALICE, "Content-Length": str(DEFAULT_BODY_LIMIT)},
        parts=[padded({"name": "At the cap"}, DEFAULT_BODY_LIMIT)])
    assert status == 201, body
    ws = json.loads(body)["id"]
    status, _, body, _, _ = await raw.request(  # just under 1 MiB, chunked
        "POST", "workspaces", headers={**ALICE, "Transfer-Encoding": "chunked"},
        parts=chunked(padded({"name": "Chunked under"}, DEFAULT_BODY_LIMIT - 10)))
    assert status == 201, body
    text = {"kind": "text", "options": {"text": "t" * (4 << 20)}}  # a dashboard just under 10 MiB
    dash = padded({"name": "Big", "widgets": [text]}, DASHBOARD_BODY_LIMIT - 100)
    code, out = await alice.call("POST", f"workspaces/{ws}/dashboards", raw=dash)
    assert code == 201 and out["widget_count"] == 1
    code, out = await alice.call("POST", f"workspaces/{ws}/dashboards", raw=dash + b" " * 101)
    assert code == 413 and out["error"]["code"] == "too_large"
