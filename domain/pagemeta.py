"""A web page's title and description, fetched when /add is given only a URL (issue 14).

fetch_page_meta never raises for network or page trouble: the answer's `problem` says in one line
what went wrong, and the add form simply stays empty. Safety (domain/pagemeta_net.py does the
network part): only http and https, at most MAX_REDIRECTS redirects each checked again, one deadline
(settings.web_fetch_timeout_s) for the whole fetch including DNS, at most settings.web_fetch_max_bytes
read, only HTML parsed, and no private, loopback or link-local address unless
settings.web_fetch_private allows it.

Which text wins: the page's <title> and <meta name="description">, which are what a browser shows and
what the bookmarklet sends (document.title); og:/twitter: tags only fill in when those are missing or
empty, since they are often a marketing variant of the same text.
"""

from __future__ import annotations

import codecs
import re
import ssl
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser

import anyio
import h11
from loguru import logger
from yarl import URL

from domain.models import TEXT_MAX, TITLE_MAX
from domain.pagemeta_net import HTML_TYPES, FetchProblem, get, media_type
from common.settings import Settings
from domain.urls import InvalidURL, normalize_url
from common.version import VERSION

MAX_REDIRECTS = 5
TURNED_OFF = "fetching page details is turned off"
USER_AGENT = f"Kura/{VERSION} (self-hosted bookmarks; fetching a page's title for a user who saves it)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TITLE_KEYS = ("og:title", "twitter:title")
_DESCRIPTION_KEYS = ("description", "og:description", "twitter:description")
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CHARSET_SCAN = 64 * 1024  # where a <meta charset> can still be expected


@dataclass(frozen=True)
class PageMeta:
    title: str | None
    description: str | None
    problem: str | None = None


async def fetch_page_meta(url: str, *, settings: Settings) -> PageMeta:
    """The title and description of the page at `url`, or a `problem` saying why not."""
    if not settings.web_fetch_meta:
        return PageMeta(None, None, TURNED_OFF)
    try:
        with anyio.fail_after(settings.web_fetch_timeout_s):
            body, content_type = await _fetch_html(_target(url), settings=settings)
    except FetchProblem as exc:
        problem = str(exc)
    except TimeoutError:
        problem = f"timed out after {settings.web_fetch_timeout_s:g} s"
    except ssl.SSLError as exc:
        problem = f"TLS failed ({exc.reason or exc})"
    except (OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        problem = f"the connection failed ({getattr(exc, 'strerror', None) or exc or type(exc).__name__})"
    except (h11.ProtocolError, zlib.error) as exc:
        problem = f"the server's answer could not be read ({exc})"
    else:
        return parse_page(body, content_type=content_type)
    logger.debug("page details of {url}: {problem}", url=url[:200], problem=problem)
    return PageMeta(None, None, problem)


def _target(raw: str, *, redirect: bool = False) -> URL:
    """A fetchable URL, or FetchProblem: the API's URL rules (domain/urls.py), then http(s) only."""
    try:
        url = URL(normalize_url(raw))
    except InvalidURL as exc:
        raise FetchProblem(f"refused: a redirect to an unusable address ({exc.message})" if redirect
                           else exc.message) from None
    if url.scheme not in ("http", "https") or not url.raw_host:
        what = "addresses without a host" if url.scheme in ("http", "https") else f"{url.scheme}: addresses"
        raise FetchProblem(f"refused: {'a redirect to ' if redirect else ''}{what} "
                           "(only http and https pages are fetched)")
    return url


def _redirect(url: URL, location: str) -> URL:
    """Where a redirect points, resolved against the page that sent it, and checked like the first."""
    location = location.encode("latin-1").decode("utf-8", "replace")  # bytes on the wire; UTF-8 in practice
    try:
        target = str(url.join(URL(location.strip())))
    except ValueError:
        raise FetchProblem(f"refused: a redirect to a malformed address ({location[:80]})") from None
    return _target(target, redirect=True)


async def _fetch_html(url: URL, *, settings: Settings) -> tuple[bytes, str]:
    """The HTML body (capped) and its Content-Type, following up to MAX_REDIRECTS redirects."""
    for _hop in range(MAX_REDIRECTS + 1):
        answer = await get(url, user_agent=USER_AGENT, max_bytes=settings.web_fetch_max_bytes,
                           allow_private=settings.web_fetch_private)
        location = answer.headers.get("location")
        if answer.status in _REDIRECTS and location:
            url = _redirect(url, location)
            continue
        if not 200 <= answer.status < 300:
            raise FetchProblem(f"{url.host} answered {answer.status}")
        if media_type(answer.headers) not in HTML_TYPES:
            kind = media_type(answer.headers) or "no content type"
            raise FetchProblem(f"{url.host} sent {kind}, not a web page")
        return answer.body, answer.headers.get("content-type", "")
    raise FetchProblem(f"{url.host} redirected more than {MAX_REDIRECTS} times")


def parse_page(body: bytes, *, content_type: str = "") -> PageMeta:
    """Title and description from (the start of) an HTML page, decoded as a browser would."""
    parser = _HeadParser()
    try:
        parser.feed(body.decode(_encoding(body, content_type), "replace"))
        parser.close()
    except (AssertionError, ValueError):  # html.parser on badly broken markup: keep what it found
        pass
    title = _clean(parser.title, TITLE_MAX) or _first(parser.meta, _TITLE_KEYS, TITLE_MAX)
    description = _first(parser.meta, _DESCRIPTION_KEYS, TEXT_MAX)
    return PageMeta(title, description, None)


def _first(meta: dict[str, str], keys: tuple[str, ...], cap: int) -> str | None:
    for key in keys:
        if text := _clean(meta.get(key), cap):
            return text
    return None


def _clean(value: str | None, cap: int) -> str | None:
    """One line: whitespace collapsed, control characters gone, at most `cap` characters."""
    text = " ".join(_CONTROL.sub(" ", value or "").split())
    if len(text) > cap:
        text = text[:cap - 1].rstrip() + "…"
    return text or None


def _encoding(body: bytes, content_type: str) -> str:
    """The page's encoding, in the HTML standard's order: byte order mark, the Content-Type charset,
    a <meta charset> or http-equiv near the start, else UTF-8."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return name
    header = re.search(r"""charset\s*=\s*["']?([^"';\s]+)""", content_type, re.I)
    if header and (name := _codec(header.group(1))):
        return name
    meta = _META_CHARSET.search(body[:_CHARSET_SCAN])
    if meta and (name := _codec(meta.group(1).decode("ascii"))):
        # A page that could read its own <meta> as ASCII is not UTF-16, whatever it says.
        return "utf-8" if name.startswith("utf-16") else name
    return "utf-8"


def _codec(label: str) -> str | None:
    """Python's codec for a charset label; None for unknown labels and non-text codecs (base64...)."""
    try:
        info = codecs.lookup(label.strip().lower())
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in ("undefined",):
        return None
    # Browsers read ISO-8859-1 and ASCII as windows-1252 (WHATWG Encoding), and so do pages' authors.
    return "cp1252" if info.name in ("latin-1", "iso8859-1", "ascii") else info.name


class _HeadParser(HTMLParser):
    """Collects the first <title> (not one inside an <svg>) and the meta tags we use."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities unescaped in text and attributes
        self.title: str | None = None
        self.meta: dict[str, str] = {}
        self._title_parts: list[str] | None = None
        self._svg_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self._svg_depth += 1
        elif tag == "title" and self.title is None and self._title_parts is None and not self._svg_depth:
            self._title_parts = []
        elif tag == "meta":
            values = {name: value or "" for name, value in attrs}
            for key in (values.get("name"), values.get("property")):
                key = (key or "").strip().lower()
                if key in _DESCRIPTION_KEYS + _TITLE_KEYS and "content" in values:
                    self.meta.setdefault(key, values["content"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self._svg_depth:
            self._svg_depth -= 1
        elif tag == "title" and self._title_parts is not None:
            self.title, self._title_parts = "".join(self._title_parts), None

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None:
            self._title_parts.append(data)

    def close(self) -> None:
        super().close()
        if self._title_parts is not None:  # the page was cut off inside its <title>
            self.title = "".join(self._title_parts)
