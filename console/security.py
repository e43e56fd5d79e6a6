"""Security headers on every response: a Content-Security-Policy without inline script, no
framing, a same-origin referrer, and HSTS + Secure cookies when PUBLIC_BASE_URL is https.

Hand-written code lives in static/js; the one piece of inline code left is the map script
folium generates per request (it holds that request's data), which carries this response's
nonce (`csp_nonce()`). A response that used no nonce gets a policy without one.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts are not ours to decide
PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"
_HOST = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_SOURCE = re.compile(r"^(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?$")
_SECURE = re.compile(r";\s*secure\s*(?:;|$)", re.IGNORECASE)


def csp_nonce() -> str:
    """This response's CSP nonce (one per request), for a script or style tag it must inline."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def https_configured(config) -> bool:
    """Whether the console's public address (PUBLIC_BASE_URL) is https."""
    return (config.get("PUBLIC_BASE_URL") or "").lower().startswith("https://")


def tile_source(tile_url: str) -> str | None:
    """The CSP source a tile URL template loads from, or None when it is same-origin or unusable.

    `https://{s}.tile.example.org/{z}/{x}/{y}.png` -> `https://*.tile.example.org`: the labels
    up to the last templated one become a `*.` wildcard (CSP allows it only leftmost).
    """
    parts = urlsplit(tile_url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    labels = parts.netloc.rpartition("@")[2].split(".")
    templated = [i for i, part in enumerate(labels) if "{" in part or "}" in part]
    host = ".".join(labels[templated[-1] + 1:]) if templated else ".".join(labels)
    if templated:
        host = f"*.{host}"
    if not _SOURCE.match(host) or host.startswith("*.") and "." not in host[2:]:
        return None  # NOTE: never let a malformed setting widen (or break) the policy.
    return f"{parts.scheme.lower()}://{host}"


def content_security_policy(*, nonce: str | None, tile_url: str, host: str,
                            secure: bool) -> str:
    """The policy: everything from this origin, scripts only from files or with the nonce."""
    inline = f" 'nonce-{nonce}'" if nonce else ""
    images = "'self' data: blob:"
    tiles = tile_source(tile_url) if tile_url else None
    if tiles:
        images += f" {tiles}"
    # 'self' covers same-origin websockets in current browsers; older ones need them named.
    connect = "'self'"
    if _HOST.match(host):
        connect += f" wss://{host}" if secure else f" ws://{host} wss://{host}"
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self'{inline}",
        f"style-src 'self'{inline}",
        f"img-src {images}",
        f"connect-src {connect}",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _secure_cookies(response: Response) -> None:
    """Mark every cookie the response sets Secure (the language cookie, and any to come)."""
    cookies = response.headers.getlist("Set-Cookie")
    if all(_SECURE.search(cookie) for cookie in cookies):
        return
    del response.headers["Set-Cookie"]
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie if _SECURE.search(cookie) else
                             f"{cookie}; Secure")


def _add_headers(response: Response) -> Response:
    config = current_app.config
    https = https_configured(config)
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(
        nonce=g.get("csp_nonce"), tile_url=config.get("MAP_TILE_URL") or "",
        host=request.host, secure=https or request.is_secure))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if https:
        headers.setdefault("Strict-Transport-Security", HSTS)
        _secure_cookies(response)
    return response


def install(app: Flask) -> None:
    """Add the security headers to every response; Secure cookies behind an https address."""
    if https_configured(app.config):
        # NOTE: the session cookie is written after the after_request hooks (and Flask-Login's
        # remember cookie by a hook that runs after this one), so they are made Secure here.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_add_headers)
