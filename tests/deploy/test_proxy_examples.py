"""The reverse-proxy examples in deploy/proxy/ are valid for nginx and Caddy, and work in front of Kura.

`nginx -t` and `caddy validate` check the files as shipped (certificate paths pointed at a throw-away
certificate). Then each example itself, with only its host name, ports, upstream and certificate
changed, serves TLS on a free port in front of a real `kura-api` started with
KURA_TRUSTED_PROXIES=127.0.0.1: clients connect from 127.0.0.2 and 127.0.0.3 (the whole of 127/8 is
loopback), and the failed-login limit must count each of them apart, which it can only do if Kura
believes the proxy's X-Forwarded-For. Caddy's certificate comes from its own local CA (no ACME here).
The programs come from Debian's packages, which `./install.sh --dev` installs where it can.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.live import LiveApi, make_token
from tests.support import free_port, program

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "deploy" / "proxy"
NGINX_SITE, CADDYFILE = EXAMPLES / "nginx-kura.conf", EXAMPLES / "Caddyfile"
CERT_PATHS = ("/etc/letsencrypt/live/bookmarks.example.net/fullchain.pem",
              "/etc/letsencrypt/live/bookmarks.example.net/privkey.pem")
FAIL_LIMIT = 3


def replace(text: str, old: str, new: str) -> str:
    """Replace, insisting the example still says `old` (else this test no longer tests the example)."""
    assert old in text, f"the example no longer contains {old!r}"
    return text.replace(old, new)


@dataclass
class Certificate:
    cert: Path
    key: Path


def make_certificate(tmp_path: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([program("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return Certificate(cert, key)


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return make_certificate(tmp_path)


def nginx_conf(tmp_path: Path, site: str) -> Path:
    """A main nginx.conf around `site` that keeps every file nginx writes in tmp_path."""
    (tmp_path / "site.conf").write_text(site)
    temp = "\n".join(f"    {kind}_temp_path {tmp_path}/{kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                    f"http {{\n    access_log {tmp_path}/access.log;\n{temp}\n    include {tmp_path}/site.conf;\n}}\n")
    return conf


def with_certificate(site: str, certificate: Certificate) -> str:
    site = replace(site, CERT_PATHS[0], str(certificate.cert))
    return replace(site, CERT_PATHS[1], str(certificate.key))


def nginx_t(tmp_path: Path, site: str) -> subprocess.CompletedProcess[str]:
    conf = nginx_conf(tmp_path, site)
    return subprocess.run([program("nginx"), "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                           "-c", str(conf)], capture_output=True, text=True, timeout=60)


def test_the_nginx_example_passes_nginx_t(tmp_path: Path, certificate: Certificate) -> None:
    checked = nginx_t(tmp_path, with_certificate(NGINX_SITE.read_text(), certificate))
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr


def test_a_broken_nginx_site_fails_nginx_t(tmp_path: Path, certificate: Certificate) -> None:
    """The check above can fail: the same site with one directive misspelt does."""
    site = with_certificate(NGINX_SITE.read_text(), certificate)
    checked = nginx_t(tmp_path, replace(site, "proxy_pass", "proxy_pas"))
    assert checked.returncode != 0 and "proxy_pas" in checked.stderr


def caddy_validate(tmp_path: Path, caddyfile: Path) -> subprocess.CompletedProcess[str]:
    home = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([program("caddy"), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **home})


def test_the_caddyfile_passes_caddy_validate(tmp_path: Path) -> None:
    checked = caddy_validate(tmp_path, CADDYFILE)
    assert checked.returncode == 0, checked.stderr
    assert "Valid configuration" in checked.stdout + checked.stderr


def test_a_broken_caddyfile_fails_caddy_validate(tmp_path: Path) -> None:
    broken = tmp_path / "Caddyfile"
    broken.write_text(replace(CADDYFILE.read_text(), "read_timeout", "read_timeuot"))
    assert caddy_validate(tmp_path, broken).returncode != 0


# --- each proxy in front of a real kura-api ----------------------------------------------------------


@dataclass
class Proxied:
    port: int
    context: ssl.SSLContext
    token: str
    api: LiveApi

    def get(self, path: str, *, source: str, token: str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """One HTTPS request through the proxy from the loopback address `source`."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30,
                                           source_address=(source, 0))
        try:
            sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
            conn.request("GET", path, headers=sent)
            answer = conn.getresponse()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        finally:
            conn.close()


def start_nginx(tmp_path: Path, certificate: Certificate, api_port: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    """The nginx example on a free port: the server, its port and the certificate clients trust."""
    port = free_port()
    site = with_certificate(NGINX_SITE.read_text(), certificate)
    site = replace(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{api_port};")
    site = replace(site, "    listen [::]:80;\n", "")
    site = replace(site, "    listen [::]:443 ssl;\n", "")
    site = replace(site, "listen 80;", f"listen 127.0.0.1:{free_port()};")
    site = replace(site, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    conf = nginx_conf(tmp_path, site)
    # In the foreground, one process, as whoever runs the tests: nothing of the host's nginx is used.
    server = subprocess.Popen([program("nginx"), "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                               "-c", str(conf), "-g", "daemon off; master_process off;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, port, certificate.cert


def start_caddy(tmp_path: Path, certificate: Certificate, api_port: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    """The Caddyfile on a free port, its certificate from Caddy's own local CA (no ACME offline)."""
    port, storage = free_port(), tmp_path / "caddy"
    caddyfile = replace(CADDYFILE.read_text(), "bookmarks.example.net {", "127.0.0.1 {")
    caddyfile = replace(caddyfile, "reverse_proxy 127.0.0.1:8000", f"reverse_proxy 127.0.0.1:{api_port}")
    options = (f"{{\n\tadmin off\n\tskip_install_trust\n\thttp_port {free_port()}\n\thttps_port {port}\n"
               f"\tdefault_sni 127.0.0.1\n\tstorage file_system {storage}\n}}\n\n")
    (tmp_path / "Caddyfile").write_text(options + caddyfile)
    home = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path)}
    with (tmp_path / "caddy.log").open("wb") as log:
        server = subprocess.Popen([program("caddy"), "run", "--config", str(tmp_path / "Caddyfile"), "--adapter",
                                   "caddyfile"], env={**os.environ, **home}, stdout=log, stderr=subprocess.STDOUT)
    return server, port, storage / "pki" / "authorities" / "local" / "root.crt"


PROXIES = {"nginx": start_nginx, "caddy": start_caddy}


def proxied_api(tmp_path: Path, proxy: str, **env: str) -> Iterator[Proxied]:
    token = make_token(tmp_path / "data")
    api = LiveApi(tmp_path / "data", tmp_path / "kura-api.log", env={"KURA_AUTH_FAIL_LIMIT": str(FAIL_LIMIT), **env})
    api.start()
    certificate = make_certificate(tmp_path)
    server, port, trusted = PROXIES[proxy](tmp_path, certificate, api.port)
    try:
        deadline = time.monotonic() + 30
        while True:  # until the proxy has its certificate and listens
            assert server.poll() is None and time.monotonic() < deadline, f"{proxy} did not start (see {tmp_path})"
            try:
                proxied = Proxied(port, ssl.create_default_context(cafile=str(trusted)), token, api)
                proxied.get("/readyz", source="127.0.0.1")
                break
            except (OSError, ssl.SSLError):
                time.sleep(0.05)  # polling for a condition, not waiting for a guessed time
        yield proxied
    finally:
        server.terminate()
        server.wait(timeout=30)
        api.stop()


@pytest.fixture(params=sorted(PROXIES))
def trusting(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Proxied]:
    yield from proxied_api(tmp_path, request.param, KURA_TRUSTED_PROXIES="127.0.0.1")


@pytest.fixture(params=sorted(PROXIES))
def distrusting(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Proxied]:
    yield from proxied_api(tmp_path, request.param)


def fail_until_refused(proxied: Proxied, source: str, **headers: str) -> list[int]:
    """Statuses of wrong-token requests from `source` until one answers 429 (at most limit + 1)."""
    statuses = []
    for _ in range(FAIL_LIMIT + 1):
        statuses.append(proxied.get("/api/v1/bookmarks", source=source, token="wrong", headers=headers)[0])
        if statuses[-1] == 429:
            break
    return statuses


@pytest.mark.slow
def test_requests_through_the_proxy_example_reach_kura_over_tls(trusting: Proxied) -> None:
    status, headers, body = trusting.get("/api/v1/tokens", source="127.0.0.2", token=trusting.token)
    assert status == 200 and [t["label"] for t in json.loads(body)] == ["alice"]
    assert headers["strict-transport-security"].startswith("max-age=")
    status, headers, _ = trusting.get("/docs", source="127.0.0.2")
    assert status == 200 and headers["content-type"].startswith("text/html")


@pytest.mark.slow
def test_kura_behind_the_proxy_example_counts_failed_logins_per_real_client(trusting: Proxied) -> None:
    assert fail_until_refused(trusting, "127.0.0.2") == [401] * FAIL_LIMIT + [429]
    # Another client is not refused for the first one's failures, even claiming to be someone else:
    # the proxy replaces the X-Forwarded-For a client sends.
    assert trusting.get("/api/v1/bookmarks", source="127.0.0.3", token="wrong")[0] == 401
    assert fail_until_refused(trusting, "127.0.0.2", **{"X-Forwarded-For": "203.0.113.9"})[-1] == 429
    assert trusting.get("/api/v1/bookmarks", source="127.0.0.2", token=trusting.token)[0] == 200
    log = trusting.api.log_path.read_text()
    assert "from 127.0.0.2" in log and "from 127.0.0.3" in log and "203.0.113.9" not in log


@pytest.mark.slow
def test_without_trusted_proxies_kura_sees_only_the_proxy(distrusting: Proxied) -> None:
    """What KURA_TRUSTED_PROXIES is for: unset, every client behind the proxy is 127.0.0.1 to Kura, so
    one client's failures lock out the others."""
    assert fail_until_refused(distrusting, "127.0.0.2")[-1] == 429
    assert distrusting.get("/api/v1/bookmarks", source="127.0.0.3", token="wrong")[0] == 429
