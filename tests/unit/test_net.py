"""Fetching what task data names: the server never reads its own network unless told to,
follows only redirects that stay allowed, and caps what it reads."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import pytest

from labelkit.errors import InvalidInput
from labelkit.media import fetch, timeseries
from tests.support import reply, self_signed_certificate


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/data.csv")
            self.end_headers()
            return
        reply(self, b"t,v\n1,2\n2,3\n" if self.path == "/data.csv" else b"x" * 4096)

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


@pytest.mark.parametrize("certified", ["localhost", "elsewhere.example"])
def test_https_goes_to_the_checked_address_but_tls_names_and_checks_the_host(
        certified: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The transport connects to the address it checked (127.0.0.1), and still sends the
    host's name in TLS (SNI) and in Host, and checks the certificate against the name: a
    certificate for another name is refused."""
    _allow_private(monkeypatch, True)
    cert_file, key_file = self_signed_certificate(tmp_path, certified, loopback_ip=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    names: list[str] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reply(self, self.headers["Host"].encode())

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    trusted = ssl.create_default_context(cafile=cert_file)
    url = f"https://localhost:{server.server_port}/"
    try:
        with httpx.Client(transport=fetch.public_transport(verify=trusted)) as client:
            if certified == "localhost":
                answer = client.get(url)
                assert answer.text == f"localhost:{server.server_port}"
            else:
                with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                    client.get(url)
    finally:
        server.shutdown()
    assert names == ["localhost"]
