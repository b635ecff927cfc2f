"""Chromium opens the API's documentation as a visitor would on the public host: no request
leaves for another host (issue 19: ReDoc asked cdn.redoc.ly for a logo; Swagger UI would
ask validator.swagger.io for a badge off localhost if its layout drew one).

The pages are answered from the live server under a public name, and without their CSP
so that a request the policy would refuse is made and seen here; the same pages with their
CSP must report no violation either."""

from __future__ import annotations

import pytest

PUBLIC = "http://docs.example.test"
PAGES = {
    "/api/redoc/": "text=API docs by Redocly",
    "/api/docs/": ".swagger-ui .info .title",
}


def _open(browser, live_server, path: str, ready: str, *, keep_csp: bool):
    context = browser.new_context(base_url=PUBLIC)
    outside: list[str] = []

    def answer(route):
        url = route.request.url
        if not url.startswith(PUBLIC + "/"):
            outside.append(url)
            route.abort()
            return
        response = route.fetch(url=live_server.url + url[len(PUBLIC) :])
        headers = dict(response.headers)
        if not keep_csp:
            headers.pop("content-security-policy", None)
        route.fulfill(response=response, headers=headers)

    context.route("**/*", answer)
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(path, wait_until="networkidle")
    page.wait_for_selector(ready)
    # Rendered: the images it drew have been asked for (and answered or refused).
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => Array.from(document.images).every((image) => image.complete)")
    context.close()
    return outside, refused


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", PAGES)
def test_the_docs_ask_no_other_host(browser, live_server, path):
    outside, _ = _open(browser, live_server, path, PAGES[path], keep_csp=False)
    assert outside == []
    _, refused = _open(browser, live_server, path, PAGES[path], keep_csp=True)
    assert refused == []
