"""Fetching what task data names: the server never reads its own network unless told to,
follows only redirects that stay allowed, and caps what it reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from labelkit.errors import InvalidInput
from labelkit.media import fetch, timeseries


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/data.csv")
            self.end_headers()
            return
        body = b"t,v\n1,2\n2,3\n" if self.path == "/data.csv" else b"x" * 4096
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def local_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _allow_private(monkeypatch: pytest.MonkeyPatch, allowed: bool) -> None:
    monkeypatch.setattr(fetch, "get_settings", lambda: SimpleNamespace(allow_private_urls=allowed))


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/x.csv", "http://localhost/x.csv", "http://[::1]/x.csv", "http://10.1.2.3/x.csv",
    "http://169.254.169.254/latest/meta-data/", "http://192.168.0.10/x.csv",
])
def test_private_addresses_are_refused_with_a_reason(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _allow_private(monkeypatch, False)
    with pytest.raises(InvalidInput, match="private network"):
        fetch.fetch_bytes(url, 1024)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x.csv", "/etc/passwd"])
def test_only_http_urls_are_fetched(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _allow_private(monkeypatch, True)
    with pytest.raises(InvalidInput, match="not an http"):
        fetch.fetch_bytes(url, 1024)


def test_a_task_cannot_make_the_time_series_reader_fetch_a_private_address(
        local_site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _allow_private(monkeypatch, False)
    with pytest.raises(timeseries.TimeSeriesError, match="private network"):
        timeseries.read_csv_text(f"{local_site}/data.csv")


def test_where_private_urls_are_allowed_redirects_are_followed_and_the_size_is_capped(
        local_site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _allow_private(monkeypatch, True)
    assert fetch.fetch_bytes(f"{local_site}/hop", 1024) == b"t,v\n1,2\n2,3\n"
    assert timeseries.read_csv_text(f"{local_site}/data.csv").startswith("t,v")
    with pytest.raises(InvalidInput, match="larger than"):
        fetch.fetch_bytes(f"{local_site}/big", 1024)
