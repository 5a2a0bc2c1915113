"""OAuth2 client-credentials tokens: fetched from the spec's token URL, cached, refreshed.

Owns the token cache of ``tools.credentials.Credentials``. It sends exactly one kind of HTTP
request, the token request (RFC 6749 section 4.4), through the ``httpx2.AsyncClient`` the
executor passes in, so tests inject a transport and the executor's connection pool is reused.

Decisions recorded here:
- The token URL is the one the spec declares (a relative one is resolved against the API's
  server); redirects are not followed, so the client secret goes to that host only. Plain
  ``http`` is refused except on loopback: the secret would travel in clear.
- Client id and secret go in HTTP Basic auth, each form-urlencoded first (RFC 6749 2.3.1).
- A token is refreshed ``margin`` seconds before ``expires_in`` runs out (a tenth of its
  lifetime for short-lived tokens), so a call never leaves with a token about to expire.
- Concurrent calls share one fetch per (scheme, client, scopes): a lock per cache key.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import httpx2

from tools.errors import CredentialsError
from tools.redact import Redactor

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

CacheKey = tuple[str, str, tuple[str, ...]]


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float | None  # clock time after which it must not be used


class TokenCache:
    def __init__(self, *, margin_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.margin_s = margin_s
        self.clock = clock
        self._tokens: dict[CacheKey, Token] = {}
        self._locks: dict[CacheKey, asyncio.Lock] = {}
        self.issued: set[str] = set()  # every token ever fetched, for redaction
        self.fetches = 0

    async def token(
        self,
        scheme: str,
        token_url: str,
        api_url: str,
        client_id: str,
        client_secret: str,
        scopes: list[str],
        client: httpx2.AsyncClient,
    ) -> str:
        key: CacheKey = (scheme, client_id, tuple(sorted(scopes)))
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None and (
                cached.expires_at is None or self.clock() < cached.expires_at
            ):
                return cached.value
            url = _token_endpoint(scheme, token_url, api_url)
            fresh = await self._fetch(scheme, url, client_id, client_secret, scopes, client)
            self._tokens[key] = fresh
            return fresh.value

    def invalidate(self, scheme: str) -> bool:
        """Forget every cached token of ``scheme``; True when there was one."""
        keys = [k for k in self._tokens if k[0] == scheme]
        for key in keys:
            del self._tokens[key]
        return bool(keys)

    async def _fetch(
        self,
        scheme: str,
        url: str,
        client_id: str,
        client_secret: str,
        scopes: list[str],
        client: httpx2.AsyncClient,
    ) -> Token:
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        form = {"grant_type": "client_credentials"}
        if scopes:
            form["scope"] = " ".join(scopes)
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
            "Accept": "application/json",
        }
        try:
            reply = await client.post(url, data=form, headers=headers, follow_redirects=False)
        except httpx2.HTTPError as exc:
            raise CredentialsError(
                f"OAuth2 token request for {scheme} to {url} failed: {type(exc).__name__}",
                scheme=scheme,
            ) from None
        self.fetches += 1
        # The endpoint's error text is shown to people: it may echo what was sent (QA Q25).
        hide = Redactor()
        for secret in (client_secret, f"{client_id}:{client_secret}", pair):
            hide.add(secret)
        return self._parse(scheme, url, reply, hide)

    def _parse(self, scheme: str, url: str, reply: httpx2.Response, hide: Redactor) -> Token:
        try:
            data = reply.json()
        except ValueError:
            data = None
        if reply.status_code != 200 or not isinstance(data, dict):
            reason = data.get("error") if isinstance(data, dict) else None
            if reply.status_code == 200:
                kind = reply.headers.get("content-type", "no Content-Type").split(";")[0]
                reason = f"{kind}, not a JSON token response"
            raise CredentialsError(
                f"OAuth2 token endpoint {url} for {scheme} answered {reply.status_code}"
                + (f" ({hide.redact_text(reason)})" if isinstance(reason, str) else ""),
                scheme=scheme,
            )
        value = data.get("access_token")
        if not isinstance(value, str) or not value:
            raise CredentialsError(
                f"OAuth2 token endpoint {url} sent no access_token", scheme=scheme
            )
        self.issued.add(value)
        expires_in = data.get("expires_in")
        expires_at = None
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            margin = min(self.margin_s, expires_in / 10)
            expires_at = self.clock() + expires_in - margin
        return Token(value, expires_at)


def _token_endpoint(scheme: str, token_url: str, api_url: str) -> str:
    url = urljoin(api_url, token_url)
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return url
    raise CredentialsError(
        f"OAuth2 token URL {url} of {scheme} is not https: the client secret would travel in clear",
        scheme=scheme,
    )
