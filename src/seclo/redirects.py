"""HTTP redirects that never carry credentials to another origin, for every HTTP client seclo runs for a user.

urllib's default redirect handler copies a request's headers to wherever a 3xx points, `Authorization` included,
so a server (or anyone who can make it answer 302) could collect the token a playbook or an experiment sends.
Here a redirect to another origin (scheme, host and port, RFC 6454) keeps only the headers that describe the
body (Content-Type, Accept) and the User-Agent. Callers that must not follow redirects at all (a playbook's POST
that was not delivered) pass `follow=False`: the 3xx then comes back as the answer.
"""

from __future__ import annotations

import http.client
import urllib.request
from typing import IO
from urllib.parse import urlsplit

__all__ = ["CredentialSafeRedirects", "opener", "origin"]

# Headers that may follow a redirect to another origin: they describe the body, never who is asking.
_CROSS_ORIGIN_HEADERS = frozenset({"content-type", "accept", "user-agent"})


def origin(url: str) -> tuple[str, str, int | None]:
    """The URL's origin: scheme, host and port (the scheme's default port when none is given)."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


class CredentialSafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects (when `follow`) without taking credentials to another origin."""

    def __init__(self, follow: bool = True) -> None:
        self.follow = follow

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        """The request to send to `newurl`, or None (not followed: urllib raises HTTPError with the 3xx)."""
        if not self.follow:
            return None
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and origin(newurl) != origin(req.full_url):
            for name in list(new.headers):
                if name.lower() not in _CROSS_ORIGIN_HEADERS:
                    del new.headers[name]
            new.unredirected_hdrs.clear()
        return new


def opener(*, follow: bool = True) -> urllib.request.OpenerDirector:
    """A urllib opener whose redirects are CredentialSafeRedirects."""
    return urllib.request.build_opener(CredentialSafeRedirects(follow))
