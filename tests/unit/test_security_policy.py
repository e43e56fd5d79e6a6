"""The Content-Security-Policy builder: tile hosts, websockets, nonces (console/security.py)."""

from __future__ import annotations

import pytest

from console.security import content_security_policy, https_configured, tile_source


@pytest.mark.parametrize(("template", "source"), [
    ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
    ("https://tiles-{s}.example.org/{z}/{x}/{y}.png", "https://*.example.org"),
    ("HTTPS://Tiles.Example.org:8443/{z}/{x}/{y}.png", "https://Tiles.Example.org:8443"),
    ("http://127.0.0.1:8080/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
    ("/tiles/{z}/{x}/{y}.png", None),  # same origin: 'self' already allows it
    ("https://{s}.com/{z}.png", None),  # a wildcard over a whole top-level domain
    ("https://evil.example.org;script-src */{z}.png", None),
    ("javascript:alert(1)", None),
])
def test_tile_source(template, source):
    assert tile_source(template) == source


def test_policy_names_the_nonce_only_when_a_page_used_one():
    plain = content_security_policy(nonce=None, tile_url="", host="console.example", secure=True)
    assert "'nonce-" not in plain and "'unsafe-inline'" not in plain
    assert "connect-src 'self' wss://console.example;" in plain  # no plain ws behind https
    nonced = content_security_policy(nonce="abc", tile_url="", host="console.example",
                                     secure=False)
    assert "script-src 'self' 'nonce-abc';" in nonced and "style-src 'self' 'nonce-abc';" in nonced
    assert "connect-src 'self' ws://console.example wss://console.example;" in nonced


def test_a_strange_host_header_is_never_written_into_the_policy():
    policy = content_security_policy(nonce=None, tile_url="", host="a.example; script-src *",
                                     secure=False)
    assert "connect-src 'self';" in policy and "script-src 'self';" in policy


def test_https_configured():
    assert https_configured({"PUBLIC_BASE_URL": "https://hotline.example.org"})
    assert not https_configured({"PUBLIC_BASE_URL": "http://hotline.example.org"})
    assert not https_configured({"PUBLIC_BASE_URL": ""})
