"""Hostile data: what a task file, a pasted config, an uploaded file or a URL can try, and
that each gets a clear refusal that changes nothing (or comes out harmless).

- HTML from tasks, against the classic XSS filter-evasion vectors: what survives the
  sanitizer is only allowed tags, no event handlers, no script-capable URLs, no loading styles.
- Label configs with DTDs and entities (billion laughs, quadratic blow-up, external and
  parameter entities) are refused wherever a config comes in: the parser, the project
  service, `labelkit config check` and POST /api/projects.
- Addresses the server must not fetch (loopback, private, link-local/metadata, IPv6 forms of
  them, decimal/octal/hex IPv4, names resolving there, redirects there).
- Uploads: the size limit on the REST API, files whose content is not what their extension
  says, decompression-bomb images (also inside a ZIP).
- CSV/TSV exports: every cell a spreadsheet would run as a formula is quoted, the header too."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import socket
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlmodel import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from labelkit import exporters, importers
from labelkit.auth import sessions
from labelkit.cli import main
from labelkit.config import parse_config, task_config
from labelkit.db import session_scope
from labelkit.errors import InvalidInput
from labelkit.exporters import table
from labelkit.labeling import submissions
from labelkit.media import fetch
from labelkit.media.html_safe import _STYLE_PROPERTIES, _TAGS, sanitize
from labelkit.models import Project, Role, Task
from labelkit.projects.crud import ProjectFields, create_project
from labelkit.server import routes

# --- HTML ------------------------------------------------------------------------------

# From the OWASP XSS filter evasion cheat sheet and the html5sec.org list.
CLASSIC_XSS = [
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert(&quot;XSS&quot;)>",
    '<IMG SRC=`javascript:alert("RSnake says, XSS")`>',
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">',
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#39;&#41;>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x27&#x29>",
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="jav\tascript:alert(1)">x</a>',
    '<a href="&#14;  javascript:alert(1)">x</a>',
    '<a href="javas&#99;ript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<SCRIPT/XSS SRC="http://xss.rocks/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<<SCRIPT>alert("XSS");//<</SCRIPT>',
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    '<STYLE>li {list-style-image: url("javascript:alert(1)");}</STYLE><UL><LI>XSS</br>',
    "<svg/onload=alert(1)>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TD BACKGROUND=\"javascript:alert('XSS')\">x</TD></TABLE>",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">x</DIV>",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">x</DIV>",
    '<p style="behavior: url(xss.htc); color: red">x</p>',
    '<p style="color: red; -moz-binding: url(http://evil.example/x.xml#xss)">x</p>',
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    '<xss onafterscriptexecute=alert(1)><script>1</script>',
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<template><script>alert(1)</script></template>",
    '<object type="text/x-scriptlet" data="http://evil.example/scriptlet.html"></object>',
    "<isindex action=javascript:alert(1) type=image>",
    '<form><button formaction="javascript:alert(1)">x</button></form>',
    '<math href="javascript:alert(1)">x</math>',
    '<a href="http://example.org/" target="_blank" onclick="alert(1)">ok</a>',
    '<div><a xlink:href="javascript:alert(1)">x</a></div>',
    '<img src="/data/upload/a.png" onload="alert(1)" style="background:url(x)">',
    '<p title="&quot; onmouseover=alert(1) &quot;">x</p>',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<a href="javascript&colon;alert(1)">x</a>',
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    '<img src="/data/upload/a.png"/onerror=alert(1)>',
    "<details/open/ontoggle=alert(1)>",
    '<marquee onstart="alert(1)">x</marquee>',
    "<select><noembed></select><script>alert(1)</script>",
]
SAFE_SCHEMES = ("http:", "https:", "mailto:")


class _Markup(HTMLParser):
    """Every tag and attribute of an HTML fragment, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


@pytest.mark.parametrize("html", CLASSIC_XSS)
def test_classic_xss_vectors_come_out_harmless(html: str) -> None:
    cleaned = sanitize(html)
    markup = _Markup()
    markup.feed(cleaned)
    for tag, attrs in markup.found:
        assert tag in _TAGS, cleaned
        for name, value in attrs:
            value = "".join((value or "").split()).lower()
            assert not name.startswith("on"), cleaned
            if name in ("href", "src", "action", "formaction", "background", "dynsrc", "xlink:href"):
                assert value.startswith((*SAFE_SCHEMES, "/data/upload/")), cleaned
            if name == "style":
                assert not any(word in value for word in ("url(", "expression(", "behavior", "binding", "javascript")), cleaned
                assert {d.split(":")[0] for d in value.split(";") if d} <= _STYLE_PROPERTIES, cleaned
    assert "script" not in cleaned.lower() or "<script" not in cleaned.lower()


# --- Label configs with DTDs and entities ---------------------------------------------------

BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
                  + ']><View><Text name="t" value="$t"/><Header value="&lol9;"/>'
                  '<Choices name="c" toName="t"><Choice value="a"/></Choices></View>')
QUADRATIC = (f'<!DOCTYPE v [<!ENTITY a "{"x" * 50_000}">]><View><Text name="t" value="$t"/><Header value="'
             + "&a;" * 200 + '"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>')
EXTERNAL = ('<!DOCTYPE v [<!ENTITY x SYSTEM "file:///etc/passwd">]><View><Text name="t" value="$t"/>'
            '<Header value="&x;"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>')
PARAMETER = ('<!DOCTYPE v [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><View><Text name="t" value="$t"/>'
             '<Choices name="c" toName="t"><Choice value="a"/></Choices></View>')
DTD_ONLY = ('<!DOCTYPE View SYSTEM "http://127.0.0.1:9/x.dtd"><View><Text name="t" value="$t"/>'
            '<Choices name="c" toName="t"><Choice value="a"/></Choices></View>')
ENTITY_CONFIGS = {"billion laughs": BILLION_LAUGHS, "quadratic": QUADRATIC, "external": EXTERNAL,
                  "parameter": PARAMETER, "doctype": DTD_ONLY}
REFUSED = "DTD or entities, which are not allowed"


@pytest.mark.parametrize("xml", ENTITY_CONFIGS.values(), ids=ENTITY_CONFIGS.keys())
def test_entity_configs_are_refused_by_the_parser(xml: str) -> None:
    with pytest.raises(InvalidInput, match=REFUSED):
        parse_config(xml)


def test_xinclude_is_not_followed() -> None:
    xml = ('<View xmlns:xi="http://www.w3.org/2001/XInclude"><Text name="t" value="$t"/>'
           '<xi:include href="file:///etc/passwd" parse="text"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>')
    with pytest.raises(InvalidInput) as refused:
        parse_config(xml)
    assert "root:" not in str(refused.value) + " ".join(refused.value.args[1] if len(refused.value.args) > 1 else [])


def _projects() -> int:
    with session_scope(write=False) as s:
        return s.exec(select(func.count(Project.id))).one()


@pytest.mark.parametrize("name", ["billion laughs", "external", "parameter"])
def test_entity_configs_create_no_project(factory, name: str) -> None:
    admin = factory.user(Role.ADMIN)
    before = _projects()
    with session_scope() as s, pytest.raises(InvalidInput, match=REFUSED):
        create_project(s, admin, ProjectFields(title="Bomb", label_config=ENTITY_CONFIGS[name]))
    client = TestClient(Starlette(routes=routes), base_url="http://localhost")
    with session_scope() as s:
        token = sessions.create_api_token(s, admin)
    answer = client.post("/api/projects", json={"title": "Bomb", "label_config": ENTITY_CONFIGS[name]},
                         headers={"Authorization": f"Token {token}"})
    assert answer.status_code == 400 and REFUSED in answer.text
    assert _projects() == before


@pytest.mark.parametrize("name", ["billion laughs", "quadratic", "external"])
def test_config_check_refuses_entity_configs(tmp_path, name: str) -> None:
    path = tmp_path / "config.xml"
    path.write_text(ENTITY_CONFIGS[name])
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code != 0 and REFUSED in result.output
    assert "Traceback" not in result.output


# --- Label configs nested too deep ----------------------------------------------------------

CONTROLS = '<Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/></Choices>'
DEEP = "<View>" * 1000 + CONTROLS + "</View>" * 1000
DEEP_REPEATER = "<View>" * 1000 + '<Repeater on="$pages"><Text name="t_{{idx}}" value="$pages[{{idx}}].t"/></Repeater>' + "</View>" * 1000
TOO_DEEP = "nests tags more than 100 levels deep"


def test_a_deeply_nested_config_is_refused_naming_the_depth_limit() -> None:
    """Our walkers recurse: 1,000 nested <View>s were a RecursionError (a 500); now a clear error."""
    with pytest.raises(InvalidInput, match=TOO_DEEP):
        parse_config(DEEP)
    with pytest.raises(InvalidInput, match=TOO_DEEP):
        task_config(DEEP_REPEATER, {"pages": [{"t": "one"}]})
    assert parse_config("<View>" * 20 + CONTROLS + "</View>" * 20).controls  # deep as real configs go: fine


def test_a_deeply_nested_config_creates_no_project_from_the_service_the_api_or_the_cli(factory, tmp_path) -> None:
    admin = factory.user(Role.ADMIN)
    before = _projects()
    with session_scope() as s, pytest.raises(InvalidInput, match=TOO_DEEP):
        create_project(s, admin, ProjectFields(title="Deep", label_config=DEEP))
    client = TestClient(Starlette(routes=routes), base_url="http://localhost")
    with session_scope() as s:
        token = sessions.create_api_token(s, admin)
    answer = client.post("/api/projects", json={"title": "Deep", "label_config": DEEP},
                         headers={"Authorization": f"Token {token}"})
    assert answer.status_code == 400 and TOO_DEEP in answer.json()["detail"]
    path = tmp_path / "deep.xml"
    path.write_text(DEEP)
    for args in (["config", "check", str(path)], ["config", "check", "--json", str(path)],
                 ["project", "create", "--title", "Deep", "--config", str(path), "--as", admin.email]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code != 0 and TOO_DEEP in result.output, (args, result.output)
        assert "Traceback" not in result.output and "RecursionError" not in repr(result.exception)
    assert _projects() == before


# --- Addresses the server must not fetch ----------------------------------------------------


def _allow_private(monkeypatch: pytest.MonkeyPatch, allowed: bool) -> None:
    monkeypatch.setattr(fetch, "get_settings", lambda: SimpleNamespace(allow_private_urls=allowed))


@pytest.mark.parametrize("url", [
    "http://0.0.0.0/", "http://0/", "http://[::]/", "http://[::1]:8080/", "http://[fd00::1]/", "http://[fd12:3456::1]/",
    "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/",  # IPv4-mapped loopback and metadata
    "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::1]/",  # NAT64 and 6to4 forms of 169.254.169.254
    "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://127.1/",  # decimal, octal, hex, short
    "http://2852039166/latest/meta-data/", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
    "http://100.64.0.1/", "http://172.16.0.1/", "http://224.0.0.1/", "http://[ff02::1]/",
    "http://LOCALHOST/", "https://user:pw@127.0.0.1:443/",
])
def test_private_link_local_and_metadata_addresses_in_any_form_are_refused(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _allow_private(monkeypatch, False)
    with pytest.raises(InvalidInput, match="private network"):
        fetch.fetch_bytes(url, 1024)


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "2002:808:808::1"])
def test_public_addresses_stay_public(address: str) -> None:
    assert fetch.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("url", ["http://[::1/", "http://example.org:99999/", "http://example.org:port/"])
def test_malformed_urls_are_a_clear_error(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _allow_private(monkeypatch, False)
    with pytest.raises(InvalidInput, match="not a valid URL"):
        fetch.fetch_bytes(url, 1024)


def test_a_name_with_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DNS name is checked by every address it resolves to (one private one is enough)."""
    _allow_private(monkeypatch, False)
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(InvalidInput, match=r"private network \(10\.0\.0\.7\)"):
        fetch.fetch_bytes("http://rebind.example/tasks.json", 1024)


class _Redirect(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        target = {"/to-metadata": "http://169.254.169.254/latest/meta-data/",
                  "/to-loopback": f"http://127.0.0.1:{self.server.server_port}/secret"}.get(self.path)
        if target:
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"secret")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def rebinding(redirector: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """rebind.example answers a public address the first time it is looked up and 127.0.0.1
    (where the redirector listens) after that; the redirector's port."""
    _allow_private(monkeypatch, False)
    answers = iter(["93.184.216.34"])
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "127.0.0.1"), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return int(redirector.rsplit(":", 1)[1])


def test_a_name_that_rebinds_to_loopback_after_the_check_is_not_connected_to(
        rebinding: int) -> None:
    """DNS rebinding: the name is public when checked and loopback when connected; the
    connection goes only to an address that was checked."""
    port = rebinding
    with pytest.raises(InvalidInput, match=r"private network \(127\.0\.0\.1\)"):
        fetch.fetch_bytes(f"http://rebind.example:{port}/secret", 1024)


@pytest.mark.parametrize("path", ["/to-metadata", "/to-loopback"])
def test_a_public_url_that_redirects_into_the_private_network_is_refused(
        redirector: str, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first URL stands for a public site (only it is let through); where it redirects is checked again."""
    _allow_private(monkeypatch, False)
    start, real = redirector + path, fetch.check_public
    monkeypatch.setattr(fetch, "check_public", lambda url: None if url == start else real(url))
    with pytest.raises(InvalidInput, match="private network"):
        fetch.fetch_bytes(start, 1024)


# --- Uploads ----------------------------------------------------------------------------------

IMAGE_CONFIG = """<View><Image name="image" value="$image"/>
<Choices name="c" toName="image"><Choice value="a"/></Choices></View>"""


def _png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (the pixels are never there: a bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _import(user, project, files: dict[str, bytes]):
    with session_scope() as s:
        return importers.import_sources(s, user, project.id, [(n, io.BytesIO(c), len(c)) for n, c in files.items()])


def _task_count(project) -> int:
    with session_scope(write=False) as s:
        return s.exec(select(func.count(Task.id)).where(Task.project_id == project.id)).one()


@pytest.mark.parametrize(("files", "expected"), [
    ({"bomb.png": _png(30_000, 30_000)}, "more pixels than this portal accepts"),  # past Pillow's own bomb limit
    ({"big.png": _png(11_000, 10_000)}, "than this portal accepts"),  # past labelkit's 100 million pixels
    ({"photo.png": b"<html><script>alert(1)</script></html>"}, "photo.png: not a readable image"),
    ({"photo.jpg": b"GIF89a" + b"\x00" * 30}, "photo.jpg: not a readable image"),
    ({"clip.mp4": b"#!/bin/sh\nrm -rf /\n"}, "clip.mp4: not a readable video file"),
    ({"doc.pdf": b"<svg onload=alert(1)>"}, "doc.pdf: not a readable pdf file"),
    ({"pack.zip": _zip({"ok.png": _png(8, 8), "bomb.png": _png(30_000, 30_000)})}, "bomb.png: has more pixels"),
])
def test_media_that_is_not_what_it_says_or_explodes_is_refused(factory, files: dict, expected: str) -> None:
    admin = factory.user(Role.ADMIN)
    config = IMAGE_CONFIG if not any(n.endswith((".mp4", ".pdf")) for n in files) else (
        '<View><Video name="image" value="$image"/><Choices name="c" toName="image"><Choice value="a"/></Choices></View>'
        if "clip.mp4" in files else
        '<View><Pdf name="image" value="$image"/><Choices name="c" toName="image"><Choice value="a"/></Choices></View>')
    project = factory.project(admin, config=config)
    with pytest.raises(InvalidInput, match=expected):
        _import(admin, project, files)
    assert _task_count(project) == 0


def test_the_api_refuses_an_upload_past_the_size_limit(factory, settings, monkeypatch) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin)
    monkeypatch.setattr(settings, "max_upload_mb", 1)
    with session_scope() as s:
        token = sessions.create_api_token(s, admin)
    client = TestClient(Starlette(routes=routes), base_url="http://localhost")
    big = b"".join(json.dumps({"text": f"task {i}"}).encode() + b"\n" for i in range(70_000))
    assert len(big) > 1024 * 1024
    answer = client.post(f"/api/projects/{project.id}/import", files={"file": ("big.jsonl", big)},
                         headers={"Authorization": f"Token {token}"})
    assert answer.status_code == 400 and "upload limit" in answer.text
    assert _task_count(project) == 0


# --- CSV/TSV exports ------------------------------------------------------------------------

FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://evil.example","x")',
            "=cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "fine\r=cmd|' /C calc'!A0",  # a CR ends a row in Excel
            "\r\n=1+1", "\n=1+1", "\tplain",
            # full-width forms, which spreadsheets in East Asian locales read as = + - @
            "\uff1d1+1", "\uff0b1+1", "\uff0d1+1", "\uff20SUM(A1:A2)", "\uff1dHYPERLINK(\"http://evil.example\")",
            # behind spaces or invisible characters a spreadsheet may skip
            " =1+1", "   @SUM(A1:A2)", "\u00a0=1+1", "\u3000=1+1", "\ufeff=1+1", "\u200b+1+1", " \uff1d1+1",
            "\u200e=1+1", "\u202e=1+1", "\u2066@SUM(A1:A2)"]  # direction marks and isolates
FORMULA_FORMS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _starts_formula(value: str) -> bool:
    return value.lstrip(" \t\r\n\u00a0\u3000\ufeff\u200b\u200e\u202e\u2066").startswith(FORMULA_FORMS) or value.startswith(FORMULA_FORMS)
CONFIG = """<View><Text name="text" value="$text"/><TextArea name="note" toName="text"/>
<Choices name="c" toName="text"><Choice value="a"/></Choices></View>"""


@pytest.mark.parametrize("fmt", ["CSV", "TSV"])
def test_csv_and_tsv_exports_neutralize_formulas_in_every_cell(factory, fmt: str) -> None:
    admin = factory.user(Role.ADMIN)
    project = factory.project(admin, config=CONFIG)
    rows = [{"text": f, "=evil_key": f, "n": "-5", "when": "+1"} for f in FORMULAS]
    factory.tasks(project, admin, rows)
    with session_scope(write=False) as s:
        ids = s.exec(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).all()
    with session_scope() as s:
        for task_id, formula in zip(ids, FORMULAS, strict=True):
            submissions.submit(s, admin, task_id, [
                {"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": [formula]}},
                {"from_name": "c", "to_name": "text", "type": "choices", "value": {"choices": ["a"]}},
            ])
    out = io.BytesIO()
    with session_scope(write=False) as s:
        exporters.export_project(s, admin, project.id, fmt, out, "all")
    table = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"), newline=""), delimiter="," if fmt == "CSV" else "\t"))
    header, body = table[0], table[1:]
    assert "'=evil_key" in header and "=evil_key" not in header
    assert len(body) == len(FORMULAS)
    for row in body:
        for value in row:
            assert not _starts_formula(value) or value in ("+1", "-5"), row
    texts = [dict(zip(header, row, strict=True))["text"] for row in body]
    expected = [f if f.startswith("fine") else "'" + f for f in FORMULAS]
    assert texts == expected  # the text itself is kept, behind a quote
    notes = [dict(zip(header, row, strict=True))["note"] for row in body]
    assert notes == expected


@pytest.mark.parametrize("text", FORMULAS)
def test_every_formula_form_is_quoted_as_a_cell(text: str) -> None:
    assert table.cell(text) == ("'" + text if not text.startswith("fine") else text)


@pytest.mark.parametrize("text", ["-5", "+1", "3.5e-2", " -5", "a=b", "fine", "e-mail", "\uff11\uff12", "x\uff1d1"])
def test_numbers_and_text_that_start_no_formula_stay_as_they_are(text: str) -> None:
    assert table.cell(text) == text


def test_a_model_server_name_that_rebinds_to_loopback_is_not_called(rebinding: int) -> None:
    """The model-server client checks the address it connects to, not only the one it looked up first."""
    from labelkit.ml.client import Connection, ModelServerClient, ModelServerError

    port = rebinding
    client = ModelServerClient(Connection(url=f"http://rebind.example:{port}", timeout=5))
    with pytest.raises(ModelServerError, match=r"does not call the model server.*127\.0\.0\.1"):
        client.health()


# --- Files named by task data: a task shows only its own project's files -----------------

HTML_CONFIG = ('<View><HyperText name="page" value="$page" valueType="url"/>'
               '<Choices name="c" toName="page"><Choice value="a"/></Choices></View>')
CHAT_CONFIG = ('<View><Paragraphs name="chat" value="$chat" valueType="url" nameKey="role" textKey="content"/>'
               '<ParagraphLabels name="l" toName="chat"><Label value="Ask"/></ParagraphLabels></View>')
SERIES_CONFIG = ('<View><TimeSeries name="ts" value="$csv" valueType="url" timeColumn="t"><Channel column="v"/></TimeSeries>'
                 '<TimeSeriesLabels name="l" toName="ts"><Label value="Run"/></TimeSeriesLabels></View>')


@pytest.fixture
def two_projects(factory, settings, monkeypatch):
    """Project "mine" and project "theirs" with an HTML page, a chat and a CSV only theirs
    may show; the server folder is the data dir, so ?d= paths can name uploads too."""
    from labelkit.settings import get_settings
    from labelkit.storage import local

    admin = factory.user(Role.ADMIN)
    mine, theirs = factory.project(admin, title="Mine"), factory.project(admin, title="Theirs")
    files = {
        "page": local.save_upload(theirs.id, "secret.html", b"<p>SECRET-HTML</p>"),
        "chat": local.save_upload(theirs.id, "secret.json", json.dumps([{"role": "user", "content": "SECRET-CHAT"}]).encode()),
        "csv": local.save_upload(theirs.id, "secret.csv", b"t,v\n0,1\n1,2\n2,3\n"),
    }
    monkeypatch.setenv("LABELKIT_LOCAL_FILES_ROOT", str(settings.data_dir))
    get_settings.cache_clear()
    return SimpleNamespace(admin=admin, mine=mine, theirs=theirs, files=files)


def _spellings(path: str, mine_id: int) -> list[str]:
    """The ways a task can name another project's upload."""
    rest = path.removeprefix("/data/upload/")
    return [
        path,
        f"/data/upload/samples/../{rest}",
        f"/data/upload/{mine_id}/../{rest}",
        f"/data/upload/{mine_id}/%2e%2e/{rest}",
        f"/data/local-files/?d=media/upload/{rest}",
        f"/data/local-files/?d=media/upload/{mine_id}/%2E%2E/{rest}",
    ]


def test_an_import_that_names_another_projects_file_is_refused_whole(two_projects) -> None:
    from labelkit.storage import local

    p = two_projects
    project = None
    for n, value in enumerate(_spellings(p.files["page"], p.mine.id)):
        with session_scope() as s:
            project = create_project(s, p.admin, ProjectFields(title=f"Import {n}", label_config=HTML_CONFIG))
        rows = [{"page": "/data/upload/samples/sample.html"}, {"page": value}]
        with pytest.raises(InvalidInput) as refused:
            _import(p.admin, project, {"tasks.json": json.dumps(rows).encode()})
        assert "tasks.json, task 2" in str(refused.value.issues) and value in str(refused.value.issues), value
        assert _task_count(project) == 0
        nested = [{"page": "/data/upload/samples/sample.html", "more": {"pages": ["x", value]}}]  # at any depth
        with pytest.raises(InvalidInput):
            _import(p.admin, project, {"tasks.json": json.dumps(nested).encode()})
        assert _task_count(project) == 0
    own = local.save_upload(project.id, "own.html", b"<p>own</p>")
    assert _import(p.admin, project, {"tasks.json": json.dumps([{"page": own}]).encode()}).created == 1


def test_a_task_shows_nothing_of_another_projects_file(two_projects) -> None:
    """Tasks stored before imports were checked (or written to the database directly): the
    labeling page reads no file of another project for them, however it is spelled."""
    from streamlit.testing.v1 import AppTest

    p = two_projects

    def page(project_id: int, configs: tuple, spellings: dict) -> None:
        import streamlit as st

        from labelkit.config import check_config
        from labelkit.ui import dialogue, hypertext
        from labelkit.ui import timeseries as ui_series

        st.session_state["lk_project"] = project_id
        html, chat, series = (check_config(c) for c in configs)
        for n, (page_path, chat_path, csv_path) in enumerate(zip(*spellings.values(), strict=True)):
            st.text(f"html: {hypertext._html(html.objects['page'], {'page': page_path})}")
            st.text(f"chat: {dialogue.DialogueEditor(chat, chat.objects['chat'], {'chat': chat_path}, f'c{n}', True).turns}")
            found = ui_series.load(series.objects["ts"], {"csv": csv_path})
            st.text(f"series: {found.values if found is not None else None}")

    spellings = {key: _spellings(path, p.mine.id) for key, path in p.files.items()}
    configs = (HTML_CONFIG, CHAT_CONFIG, SERIES_CONFIG)
    at = AppTest.from_function(page, args=(p.mine.id, configs, spellings), default_timeout=30)
    at.run()
    assert not at.exception
    shown = " ".join(t.value for t in at.text)
    assert "SECRET" not in shown and "series: {" not in shown
    at = AppTest.from_function(page, args=(p.theirs.id, configs, {k: v[:1] for k, v in spellings.items()}), default_timeout=30)
    at.run()  # the project that owns them shows them
    shown = " ".join(t.value for t in at.text)
    assert "SECRET-HTML" in shown and "SECRET-CHAT" in shown and "series: None" not in shown
