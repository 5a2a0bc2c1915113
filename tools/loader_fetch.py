"""Fetching spec documents over HTTP: one deadline, a size cap, redirects checked hop by hop.

Owns ``fetch_url``, used for spec URLs, remote ``$ref`` documents and Arazzo source
descriptions. Spec URLs often come from someone else (a workflow's ``sourceDescriptions``, a
service loading the specs its users name), so a fetch must not become a way to reach this
machine's network neighbourhood (SSRF):

- link-local targets (``169.254.169.254``, the cloud metadata services) are never fetched,
  neither directly nor through a redirect;
- when the first URL is public, a redirect (or a remote ``$ref``, see ``origin``) to a
  loopback, private or otherwise non-public address is refused; a spec served from
  127.0.0.1 may redirect within the private network, which it is already part of.

Addresses are classified by ``tools.policy.address_risk`` (the executor's rule); names are
resolved once here and every address they resolve to is classified. The resolution is not
pinned for the connection (the DNS-rebinding limitation of the executor applies too).
Redirects are followed manually (at most ``MAX_REDIRECTS``) so each hop is checked before
it is sent. ``timeout`` bounds the whole fetch, redirects and a server dripping bytes
included, not each read.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit

import httpx2

from tools.errors import SpecError
from tools.policy import address_risk

MAX_REDIRECTS = 5


def fetch_url(url: str, *, timeout: float, max_bytes: int, origin: str | None = None) -> bytes:
    """GET a document; ``origin`` is the URL whose publicness sets the rule (default ``url``).

    SpecError (naming ``url``) on a refused address, an HTTP error status, more than
    ``max_bytes`` bytes, more than ``timeout`` seconds in all, or a transport failure.
    """
    deadline = time.monotonic() + timeout
    origin_public = _risk(_host(origin or url)) is None
    current, hops = url, 0
    try:
        with httpx2.Client(follow_redirects=False) as client:
            while True:
                refusal = hop_refusal(current, origin_public=origin_public)
                if refusal:
                    what = "fetching" if current == url else "redirect to"
                    raise SpecError(f"{what} {refusal}", source=url)
                with client.stream(
                    "GET",
                    current,
                    headers={"Accept": "application/json, */*"},
                    timeout=_remaining(deadline, timeout, url),
                ) as response:
                    if not response.is_redirect:
                        return _body(response, url, deadline, timeout, max_bytes)
                    location = response.headers.get("location", "")
                hops += 1
                if hops > MAX_REDIRECTS:
                    raise SpecError(f"more than {MAX_REDIRECTS} redirects", source=url)
                current = urljoin(current, location)
    except httpx2.TimeoutException:
        raise SpecError(f"fetching the spec timed out after {timeout:g}s", source=url) from None
    except httpx2.HTTPError as exc:
        raise SpecError(f"fetching the spec failed: {exc}", source=url) from None


def hop_refusal(url: str, *, origin_public: bool) -> str | None:
    """Why ``url`` must not be fetched (``"HOST refused (REASON)"``), or None when it may."""
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    except ValueError:
        return f"{url} refused (not a valid URL)"
    if scheme not in ("http", "https"):
        return f"{url} refused (only http and https URLs are fetched)"
    found = _risk(host)
    if found is None:
        return None
    kind, detail = found
    if kind == "link-local":
        return f"{host} refused ({detail})"
    if origin_public:
        return f"{host} refused ({detail}, reached from a public URL)"
    return None


def _risk(host: str) -> tuple[str, str] | None:
    """``address_risk`` of a literal, else of every address the name resolves to.

    Returns (kind, description), e.g. ``("link-local", "link-local address")``.
    """
    if not host:
        return None
    kind = address_risk(host)
    if kind:
        return kind, f"{kind} address"
    try:
        ipaddress.ip_address(host)
        return None  # a public literal
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None  # unresolvable: the fetch itself fails with a clear message
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        kind = address_risk(address)
        if kind:
            return kind, f"resolves to {kind} address {address}"
    return None


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def _remaining(deadline: float, timeout: float, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise SpecError(f"fetching the spec timed out after {timeout:g}s", source=url)
    return left


def _body(
    response: httpx2.Response, url: str, deadline: float, timeout: float, max_bytes: int
) -> bytes:
    if response.status_code >= 400:
        raise SpecError(f"fetching the spec failed: HTTP {response.status_code}", source=url)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise SpecError(f"spec is larger than {max_bytes} bytes", source=url)
        chunks.append(chunk)
        _remaining(deadline, timeout, url)  # a server dripping bytes never trips a read timeout
    return b"".join(chunks)
