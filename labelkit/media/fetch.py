"""Fetching a URL on the server's behalf (a time series' CSV, task files at URLs, images
packed into an export; model servers connect through it too): only public addresses,
unless LABELKIT_ALLOW_PRIVATE_URLS is set, so task data cannot make the server read its own
network (cloud metadata, databases, admin pages); every redirect is checked the same way;
the body is capped."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from urllib.parse import urljoin, urlsplit

from labelkit.errors import InvalidInput
from labelkit.settings import get_settings

MAX_REDIRECTS = 5


def check_public(url: str) -> None:
    """InvalidInput unless the URL is http(s) to a host whose every address is public."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise InvalidInput(f"{url} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{url} is not an http(s) URL")
    if get_settings().allow_private_urls:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as e:
        raise InvalidInput(f"cannot find the host of {url}") from e
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not is_public(address):
            raise InvalidInput(
                f"{url} points into a private network ({address}); the server only fetches public addresses "
                "(LABELKIT_ALLOW_PRIVATE_URLS=true allows private ones)"
            )


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address, also when it is an IPv6 form of an IPv4 address (mapped,
    6to4, Teredo, NAT64), which reaches that IPv4 address (::ffff:127.0.0.1, 2002:a9fe:a9fe::)."""
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        teredo = address.teredo[1] if address.teredo else None
        nat64 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if any(address in n for n in _NAT64) else None
        inner = address.ipv4_mapped or address.sixtofour or teredo or nat64
        if inner is not None:
            return is_public(inner)
    return True


def public_transport(verify: ssl.SSLContext | bool = True):
    """An httpx transport that connects only to the addresses it has just checked
    (`verify`: how to check TLS certificates, as httpx takes it).

    check_public resolves the name once and the connection would resolve it again: a DNS
    server that answers a public address first and 127.0.0.1 next (DNS rebinding) would get
    past the check. Here each request's host is resolved once, refused unless every address
    is public, and the request goes to the address that was checked, still naming the host
    in its Host header and, for https, in TLS (SNI, and the certificate is checked against
    the name). No proxy from the environment (a proxy would make the connection for us, to
    wherever it resolves)."""
    import httpx

    class PublicOnly(httpx.BaseTransport):
        def __init__(self) -> None:
            self._inner = httpx.HTTPTransport(trust_env=False, verify=verify)

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            host = request.url.host
            address = _checked_address(host, request.url.port or (443 if request.url.scheme == "https" else 80))
            if address != host:
                request.url = request.url.copy_with(host=address)  # the Host header keeps the name
                request.extensions = {**request.extensions, "sni_hostname": host}
            return self._inner.handle_request(request)

        def close(self) -> None:
            self._inner.close()

    return PublicOnly()


def _checked_address(host: str, port: int) -> str:
    """The address to connect to for host: its first one, once all are public (or allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise InvalidInput(f"cannot find the host {host}") from e
    if not get_settings().allow_private_urls:
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%")[0])
            if not is_public(address):
                raise InvalidInput(f"{host} points into a private network ({address}); the server only fetches public "
                                   "addresses (LABELKIT_ALLOW_PRIVATE_URLS=true allows private ones)")
    return infos[0][4][0]


def fetch_bytes(url: str, max_bytes: int, timeout: float = 20) -> bytes:
    """The body of a public URL, following redirects that stay public; InvalidInput when it
    cannot be fetched or is larger than max_bytes."""
    import httpx

    with httpx.Client(timeout=timeout, follow_redirects=False, transport=public_transport()) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_public(url)
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect and response.headers.get("location"):
                        url = urljoin(url, response.headers["location"])
                        continue
                    response.raise_for_status()
                    chunks, size = [], 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise InvalidInput(f"{url} is larger than {max_bytes // 2**20} MB")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.HTTPError as e:
                raise InvalidInput(f"cannot fetch {url}: {e}") from e
    raise InvalidInput(f"{url} redirects more than {MAX_REDIRECTS} times")
