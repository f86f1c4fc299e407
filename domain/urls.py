"""URL validation and normalisation, shared by the API and the importer so both agree on duplicates.

Two spellings of one address must become one bookmark, so the canonical form follows RFC 3986's
normalisations, done by libraries: yarl parses, removes dot segments and normalises percent-encoding
(unreserved characters decoded, hex digits upper-cased); hosts go through IDNA UTS-46 (`idna`), so a
full-width, upper-case or Unicode host and its `xn--` form are one host, stored in ASCII.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import idna
from yarl import URL

from common.errors import BadRequest
from domain.values import URL_MAX

ALLOWED_SCHEMES = {"http", "https", "ftp", "ftps", "file", "gemini", "gopher", "ipfs", "ipns", "magnet"}
DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ftps": 990, "gemini": 1965, "gopher": 70}
# Schemes without an authority: RFC 3986's generic normalisation (scheme case, percent-encoding)
# is all they get; `magnet:` is a query only, whose parameters are opaque to us.
HOSTLESS_SCHEMES = {"magnet"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# RFC 3986 reg-name: unreserved and sub-delims (percent-encoding is decoded before this check).
_REG_NAME = re.compile(r"[a-z0-9\-._~!$&'()*+,;=]+")


class InvalidURL(BadRequest):
    code = "invalid_url"


def normalize_url(raw: str) -> str:
    """Return the canonical form of a bookmarkable URL or raise InvalidURL saying why.

    Scheme and host are lower-cased (the host IDNA-encoded), a default port, an empty query and an
    empty fragment are dropped, an empty path becomes "/", dot segments are removed and
    percent-encoding is normalised; letters in the path, query and fragment keep their case, since
    servers may treat them case-sensitively.
    """
    value = (raw or "").strip()
    if not value:
        raise InvalidURL("url is empty")
    if len(value) > URL_MAX:
        raise InvalidURL(f"url is longer than {URL_MAX} characters")
    if CONTROL.search(value):
        raise InvalidURL("url contains a control character (such as a line break or NUL)")
    try:
        url = URL(value)
    except (ValueError, TypeError) as exc:
        raise InvalidURL(f"url is malformed: {exc}") from None
    scheme = url.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidURL(f"url scheme {url.scheme or '(none)'!r} is not bookmarkable")
    tail = _path_query_fragment(url, scheme)
    if scheme in HOSTLESS_SCHEMES:
        return f"{scheme}:{tail}"
    if not url.raw_host and scheme != "file":
        raise InvalidURL("url has no host")
    return f"{scheme}://{_authority(url, scheme)}{tail}"


def _authority(url: URL, scheme: str) -> str:
    host = normalize_host(url.raw_host or "")
    netloc = f"[{host}]" if ":" in host else host
    if url.raw_user is not None:
        password = f":{url.raw_password}" if url.raw_password is not None else ""
        netloc = f"{url.raw_user}{password}@{netloc}"
    port = url.explicit_port
    if port is not None and DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    return netloc


def _path_query_fragment(url: URL, scheme: str) -> str:
    path = url.raw_path or ("/" if scheme in DEFAULT_PORTS else "")
    query = f"?{url.raw_query_string}" if url.raw_query_string else ""
    fragment = f"#{url.raw_fragment}" if url.raw_fragment else ""
    return f"{path}{query}{fragment}"


def normalize_host(raw: str) -> str:
    """The host in ASCII: percent-decoded, then IDNA UTS-46 (which also folds case and full-width
    forms); an IPv6 literal is only lower-cased."""
    if not raw or ":" in raw:
        return raw.lower()
    host = unquote(raw)
    if host.isascii():
        host = host.lower()
    else:
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            # Registries still hold IDNA 2003 names (symbols, emoji) that IDNA 2008 refuses.
            try:
                host = host.encode("idna").decode("ascii").lower()
            except UnicodeError:
                raise InvalidURL(f"url host {raw[:80]!r} is not a valid domain name") from None
    if not _REG_NAME.fullmatch(host) or "" in host.removesuffix(".").split("."):
        raise InvalidURL(f"url host {raw[:80]!r} is not a host name (a character it cannot have, or an empty label)")
    return host
