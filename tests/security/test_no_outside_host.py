"""No page makes the browser ask another host for anything (issue 19: /api/redoc/ asked a
CDN for a logo): the documentation pages, the admin's, allauth's and our own, with the
stylesheets and scripts they load; and the Content-Security-Policy would refuse it anyway.
The browser's side of the same promise is tests/browser/test_no_outside_requests.py."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

HOST = "testserver"
PAGES = [
    "/",
    "/projects/alpha/",
    "/projects/alpha/report/",
    "/stats/",
    "/api/docs/",
    "/api/redoc/",
    "/admin/login/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
]
STAFF_PAGES = ["/admin/", "/admin/projects/project/"]

# What a browser fetches on its own: src, srcset, poster and data attributes, the href of a
# <link> (stylesheets, icons, preconnect), CSS url() and @import.
_FETCHED_ATTRIBUTE = re.compile(r"""\s(?:src|srcset|poster|data)\s*=\s*["']([^"']*)["']""", re.I)
_LINK = re.compile(r"<link\b[^>]*>", re.I)
_HREF = re.compile(r"""\shref\s*=\s*["']([^"']*)["']""", re.I)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)""", re.I)
# In a script: an element's source set to an absolute URL (React's src:"https://...").
_SCRIPT_SRC = re.compile(r"""\bsrc\s*[:=]\s*[`"'](https?:)?//[^`"']+""", re.I)


def _outside(url: str) -> bool:
    url = unescape(url).strip()
    for candidate in url.split(","):  # srcset lists several
        parts = urlsplit(candidate.strip().split(" ")[0])
        if parts.scheme in ("data", "blob", ""):
            if parts.netloc and parts.netloc != HOST:  # //cdn.example/x.js
                return True
            continue
        if parts.scheme not in ("http", "https") or parts.netloc != HOST:
            return True
    return False


def _fetched_by_html(html: str) -> list[str]:
    urls = [m[1] for m in _FETCHED_ATTRIBUTE.finditer(html)]
    urls += [h[1] for link in _LINK.findall(html) if (h := _HREF.search(link))]
    urls += [a or b for a, b in _CSS_URL.findall(html)]
    return urls


def _static_file(url: str) -> Path | None:
    path = urlsplit(url).path
    if not path.startswith(settings.STATIC_URL):
        return None
    found = finders.find(path[len(settings.STATIC_URL) :])
    return Path(found) if found else None


@pytest.fixture
def pages(client, world):
    seen = {url: client.get(url) for url in PAGES}
    client.force_login(world["actors"]["staff"].user)
    seen.update({url: client.get(url) for url in STAFF_PAGES})
    client.logout()
    return seen


def test_no_page_nor_what_it_loads_asks_another_host(client, pages):
    offending = []
    for page, response in pages.items():
        assert response.status_code == 200, page
        html = response.content.decode()
        for url in _fetched_by_html(html):
            if _outside(url):
                offending.append((page, url))
            if (static := _static_file(url)) and static.suffix == ".css":
                text = static.read_text(errors="replace")
                offending += [(url, a or b) for a, b in _CSS_URL.findall(text) if _outside(a or b)]
        for script in re.findall(r"<script\b[^>]*\ssrc=\"([^\"]+)\"", html):
            path = unescape(script)
            static = _static_file(path)
            body = static.read_text(errors="replace") if static else client.get(path).text
            offending += [(path, m[0][:120]) for m in _SCRIPT_SRC.finditer(body)]
    assert not offending


def test_redoc_is_served_its_bundle_without_the_cdn_logo(client, pages):
    html = pages["/api/redoc/"].content.decode()
    bundle_url = unescape(re.search(r'<script src="([^"]+)"', html)[1])
    assert not bundle_url.startswith(settings.STATIC_URL)  # ours, not the sidecar's as is
    plain = client.get(bundle_url)
    assert plain.status_code == 200
    assert plain["Content-Type"].startswith("text/javascript")
    assert b"Redoc" in plain.content and b"cdn.redoc.ly" not in plain.content
    zipped = client.get(bundle_url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert zipped["Content-Encoding"] == "gzip"
    assert "immutable" in zipped["Cache-Control"] and "Accept-Encoding" in zipped["Vary"]
    # The schema names no logo of its own (ReDoc's x-logo) from elsewhere either.
    schema = client.get("/api/schema/?format=json").json()
    assert "x-logo" not in json.dumps(schema)


# Directives for what is fetched (navigation ones, form-action and base-uri, are not).
FETCH_DIRECTIVES = {
    "default-src", "script-src", "style-src", "img-src", "font-src", "connect-src",
    "worker-src", "media-src", "object-src", "frame-src", "child-src", "manifest-src",
}  # fmt: skip


def test_the_csp_would_refuse_another_host_anyway(pages):
    for page, response in pages.items():
        policy = response.headers["Content-Security-Policy"]
        directives = {
            name: sources
            for name, *sources in (part.split() for part in policy.split(";") if part.strip())
        }
        assert directives["default-src"] == ["'self'"], page
        for name in FETCH_DIRECTIVES & directives.keys():
            for source in directives[name]:
                assert source.startswith("'") or source in ("data:", "blob:"), (page, name)
