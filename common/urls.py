"""URL validation and normalisation, shared by the API and the importer so both agree on duplicates."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from common.errors import BadRequest
from common.models import URL_MAX

ALLOWED_SCHEMES = {"http", "https", "ftp", "ftps", "file", "gemini", "gopher", "ipfs", "ipns", "magnet"}
DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


class InvalidURL(BadRequest):
    code = "invalid_url"


def normalize_url(raw: str) -> str:
    """Return the canonical form of a bookmarkable URL or raise InvalidURL saying why.

    Scheme and host are lower-cased, a default port and an empty fragment are dropped, an empty path
    becomes "/"; the path, query and fragment are otherwise kept as written, since servers may treat
    them case-sensitively.
    """
    value = (raw or "").strip()
    if not value:
        raise InvalidURL("url is empty")
    if len(value) > URL_MAX:
        raise InvalidURL(f"url is longer than {URL_MAX} characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"url is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidURL(f"url scheme {parts.scheme or '(none)'!r} is not bookmarkable")
    if scheme == "magnet":
        return value
    host = (parts.hostname or "").lower()
    if not host and scheme != "file":
        raise InvalidURL("url has no host")
    netloc = host if ":" not in host else f"[{host}]"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    if port is not None and DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    path = parts.path or ("/" if scheme in DEFAULT_PORTS else "")
    return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))
