"""Hostile input anywhere in a request is a 4xx, never a 5xx (issue 19).

The walk resolves every URL pattern of the site from the URLconf and sends it hostile values
(NUL, invalid UTF-8, lone surrogates, 10 kB strings, wrong types, deep nesting, unknown slugs
and ids, negative and huge numbers) in path segments, query parameters, form fields, JSON
fields and headers, with every method, as an anonymous visitor, a maintainer and staff.
Parameter and field names come from the pages themselves (links, form inputs, JSON keys), so
an admin changelist's filters and a new form's fields are walked without being listed here.
Every failure is collected and reported at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from api.models import ApiToken
from projects.models import Project

pytestmark = pytest.mark.django_db

SECRET = "walk-secret"

# Refused by RequestInputMiddleware wherever they appear: each must be a 400.
REFUSED = {"NUL": "%00", "invalid UTF-8": "%FF%FE", "lone surrogate": "%ED%A0%80"}
# Values a view must judge itself (raw, percent-encoded where sent in a URL or a form).
VIEW_VALUES = [
    "x" * 10_000,
    "-1",
    "99999999999999999999999",
    "0",
    "nonexistent-slug",
    "1.5",
    "true",
    "[]",
    "../../etc/passwd",
    "",
]
JSON_VALUES = [
    "x" * 10_000,
    -1,
    10**30,
    0,
    "nonexistent-slug",
    1.5,
    True,
    None,
    [],
    {},
    [[[[["deep"]]]]],
    {"a": {"b": {"c": 1}}},
    "2024-13-40",
]
# Query parameter names every route gets, besides those its page links to or asks for.
COMMON_QUERY = [
    "q",
    "category",
    "page",
    "page_size",
    "ordering",
    "cursor",
    "format",
    "next",
    "o",
    "p",
    "e",
    "_to_field",
    "_popup",
    "_changelist_filters",
    "view",
]
HEADERS = [
    "Authorization",
    "Accept",
    "If-None-Match",
    "If-Modified-Since",
    "HX-Request",
    "Origin",
    "Cookie",
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "Accept-Language",
    "Range",
    "X-Forwarded-For",
]
ACTORS = ["anonymous", "maintainer", "staff"]


# --- The cases of the issue, one by one -----------------------------------------------------


def anonymous() -> Client:
    return Client(raise_request_exception=False)


def test_an_unknown_category_on_the_landscape_is_a_400_naming_it(world):
    response = anonymous().get("/?category=nonexistent")
    assert response.status_code == 400
    assert "'category' names no category" in response.content.decode()
    assert anonymous().get("/?category=training").status_code == 200


def test_the_landscape_selector_takes_a_category_without_entries(world):
    from projects.selectors import ListParams, landscape_top

    tiles, _ = landscape_top(ListParams(category="nonexistent"))
    assert tiles == []


@pytest.mark.parametrize("method", ["get", "head"])
def test_nul_in_an_api_slug_is_a_400(world, method):
    response = getattr(anonymous(), method)("/api/v1/projects/a%00b/")
    assert response.status_code == 400
    if method == "get":
        assert response.json() == {"detail": "the path contains a NUL character"}


def test_a_deeply_nested_api_body_is_a_400(world, settings):
    token = world["actors"]["owner"].auth
    response = anonymous().post(
        "/api/v1/projects/", data="[" * 50_000, content_type="application/json", **token
    )
    assert response.status_code == 400
    limit = settings.REQUEST_JSON_MAX_DEPTH
    assert response.json() == {"detail": f"the JSON body is nested deeper than {limit} levels"}
    within = "[" * limit + "]" * limit
    response = anonymous().post(
        "/api/v1/projects/", data=within, content_type="application/json", **token
    )
    assert response.status_code == 400
    assert "nested" not in response.content.decode()  # the serializer's own answer


@pytest.mark.parametrize(
    ("text", "problem"), [("a\\u0000b", "a NUL character"), ("\\udc00", "a lone surrogate")]
)
def test_nul_or_a_lone_surrogate_in_a_json_field_is_a_400_naming_it(world, text, problem):
    body = '{"name": "Ok", "links": [{"url": "%s"}]}' % text  # noqa: UP031 - raw JSON escapes
    response = anonymous().post(
        "/api/v1/projects/",
        data=body,
        content_type="application/json",
        **world["actors"]["owner"].auth,
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"the JSON field 'links[0].url' contains {problem}")


def test_nul_in_an_admin_filter_is_a_400_naming_it(world):
    staff = anonymous()
    staff.force_login(world["actors"]["staff"].user)
    response = staff.get("/admin/projects/project/?publication__exact=%00")
    assert response.status_code == 400
    assert "'publication__exact' contains a NUL character" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "named"),
    [("q=%FF", "'q' is not valid UTF-8"), ("q=%ED%A0%80", "'q' is not valid UTF-8"),
     ("%00=1", "name contains a NUL character")],
)  # fmt: skip
def test_a_bad_query_parameter_is_a_400_naming_it(world, query, named):
    response = anonymous().get(f"/?{query}")
    assert response.status_code == 400
    assert named in response.content.decode()


def test_a_bad_header_is_a_400_naming_it(world):
    response = anonymous().get("/api/v1/projects/", headers={"Authorization": "Token a\x00b"})
    assert response.json() == {"detail": "the header Authorization contains a NUL character"}
    response = anonymous().get("/", headers={"Accept-Language": "\xff\xfe"})
    assert response.status_code == 400


def test_a_bad_form_field_is_a_400_naming_it(world):
    response = anonymous().post(
        "/projects/alpha/report/",
        data="reason=other&message=a%C0b",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "the form field 'message' is not valid UTF-8" in response.content.decode()


def test_a_path_that_is_not_utf8_is_a_400(world):
    response = anonymous().get("/media/logos/a%FF.png")
    assert response.status_code == 400
    assert "the path is not valid UTF-8" in response.content.decode()


def test_utf8_text_passes_everywhere(world):
    client = anonymous()
    assert client.get("/?q=caf%C3%A9").status_code == 200
    utf8_header = "café".encode().decode("latin-1")  # how WSGI hands over UTF-8 bytes
    assert client.get("/", headers={"Accept-Language": utf8_header}).status_code == 200
    response = client.get("/projects/caf%C3%A9/")
    assert response.status_code == 404  # no such entry: the path itself was fine


def test_json_parse_takes_the_depth_limit_and_refuses_one_more_level():
    from landscape.request_input import InputError, json_parse

    assert json_parse(b"[" * 5 + b"]" * 5, max_depth=5) == [[[[[]]]]]
    with pytest.raises(InputError, match="nested deeper than 5 levels"):
        json_parse(b'{"a":' * 6 + b"1" + b"}" * 6, max_depth=5)
    with pytest.raises(InputError, match="NaN, which is not a JSON number"):
        json_parse(b'{"stars": NaN}')
    with pytest.raises(InputError, match="not valid UTF-8"):
        json_parse(b'{"name": "\xff"}')


# --- The routes, from the URLconf ----------------------------------------------------------


@dataclass
class Route:
    template: str  # "/projects/{slug}/"
    params: list[str]
    name: str
    callback: object

    @property
    def destructive(self) -> bool:
        return self.name.endswith(("_delete", "revoke", "logout"))


def _regex_template(regex: str, start: int) -> tuple[str, list[str]]:
    """A regex route as a template: each group (named or not) becomes a placeholder."""
    regex = regex.removeprefix("^").removesuffix("$").removesuffix("\\Z")
    out, params, i, depth, name = [], [], 0, 0, ""
    while i < len(regex):
        char = regex[i]
        if char == "\\" and depth == 0:
            out.append(regex[i + 1])
            i += 2
            continue
        if char == "\\":
            i += 2
            continue
        if char == "(":
            if depth == 0:
                match = re.match(r"\(\?P<(\w+)>", regex[i:])
                name = match.group(1) if match else f"_{start + len(params)}"
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                out.append("{" + name + "}")
                params.append(name)
        elif depth == 0:
            out.append(char)
        i += 1
    return "".join(out), params


def _template(pattern) -> tuple[str, list[str]]:
    if isinstance(pattern, RegexPattern):
        return _regex_template(str(pattern), 0)
    route = str(pattern)
    params = re.findall(r"<(?:\w+:)?(\w+)>", route)
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route), params


def site_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns, prefix: str, params: list[str]):
        for pattern in patterns:
            text, own = _template(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + text, params + own)
            else:
                assert isinstance(pattern, URLPattern)
                routes.append(
                    Route("/" + prefix + text, params + own, pattern.name or "", pattern.callback)
                )

    walk(get_resolver().url_patterns, "", [])
    return routes


# --- Names a page asks for ---------------------------------------------------------------


class _Names(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: set[str] = set()
        self.query: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("name"):
            self.fields.add(attrs["name"])
        href = attrs.get("href") or ""
        if href.startswith("?"):
            self.query.update(name for name, _ in parse_qsl(href[1:], keep_blank_values=True))


@dataclass
class Names:
    query: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    json: list[str] = field(default_factory=list)


def names_from(response) -> Names:
    """The names a page (a 200; None for any other answer) links to or asks for."""
    content_type = response.get("Content-Type", "") if response is not None else ""
    streamed = response is None or getattr(response, "streaming", False)
    body = b"" if streamed else response.content
    names = Names(query=list(COMMON_QUERY), json=["name", "slug", "category", "repository"])
    if "html" in content_type:
        parser = _Names()
        parser.feed(body.decode("utf-8", "replace"))
        names.query += sorted(parser.query | parser.fields)
        names.fields = sorted(parser.fields)
    elif "json" in content_type and body:
        data = json.loads(body)
        if isinstance(data, dict) and isinstance(data.get("results"), list) and data["results"]:
            data = data["results"][0]
        if isinstance(data, dict):
            names.json += sorted(data)
            names.query += sorted(data)
    names.query = list(dict.fromkeys(names.query))[:40]
    names.fields = names.fields[:60] or ["name", "email", "message"]
    names.json = list(dict.fromkeys(names.json))[:40]
    return names


# --- The walk -----------------------------------------------------------------------------


@dataclass
class Walk:
    world: dict
    actor: str
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    def client(self) -> Client:
        client = Client(raise_request_exception=False)
        if self.actor != "anonymous":
            client.force_login(self.user)
        return client

    @property
    def user(self):
        return self.world["actors"]["owner" if self.actor == "maintainer" else "staff"].user

    def auth_headers(self, path: str) -> dict:
        if self.actor == "anonymous" or not path.startswith("/api/"):
            return {}
        key = self.world["actors"]["owner" if self.actor == "maintainer" else "staff"].key
        return {"Authorization": f"Token {key}"}

    def valid(self, route: Route, name: str) -> str:
        model_admin = getattr(route.callback, "model_admin", None)
        alpha = self.world["alpha"]
        if name == "object_id" and model_admin is not None:
            obj = model_admin.model._default_manager.order_by("pk").first()
            return str(obj.pk if obj else 1)
        history = alpha.history.order_by("history_id").first()
        return {
            "slug": alpha.slug,
            "content_type_id": str(ContentType.objects.get_for_model(Project).pk),
            "object_id": str(alpha.pk),
            "token_id": str(ApiToken.objects.filter(user=self.user).values_list("pk", flat=True)[0])
            if self.actor != "anonymous"
            else "1",
            "finding_id": str(self.world["related"]["finding"].pk),
            "app_label": "projects",
            "url": "nonexistent/",
            "key": "abc",
            "uidb36": "1",
            "path": "logos/none.png",
            "id": str(self.world["actors"]["staff"].user.pk),
            "_0": str(alpha.pk),
            "_1": str(history.history_id if history else 1),
        }.get(name, "1")

    def path(self, route: Route, **override: str) -> str:
        path = route.template
        for name in route.params:
            value = override.get(name) or quote(self.valid(route, name), safe="")
            path = path.replace("{" + name + "}", value, 1)
        return path

    def send(
        self,
        client: Client,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes | None = None,
        content_type: str = "",
        headers: dict | None = None,
        expect_400: str = "",
    ):
        headers = {**self.auth_headers(path), **(headers or {})}
        extra = {}
        if body is not None:
            extra = {"data": body, "content_type": content_type}
            signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers.setdefault("X-Hub-Signature-256", f"sha256={signature}")
            headers.setdefault("X-GitHub-Event", "push")
        url = path + (f"?{query}" if query else "")
        response = getattr(client, method.lower())(url, headers=headers, **extra)
        self.sent += 1
        what = f"{self.actor} {method} {url[:160]!r} {content_type} {expect_400}"
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code}: {what}")
        elif expect_400 and response.status_code != 400:
            self.failures.append(f"{response.status_code}, not 400: {what}")
        return response

    # -- the parts of the walk --

    def discover(self, route: Route) -> Names:
        response = self.send(self.client(), "GET", self.path(route))
        return names_from(response if response.status_code == 200 else None)

    def refused_values(self, client: Client, route: Route, names: Names) -> None:
        """NUL, invalid UTF-8, a lone surrogate: a 400 in the path, a query parameter, a
        header, a form field; in a JSON field the API and the webhook say 400 too."""
        path = self.path(route)
        for label, escaped in REFUSED.items():
            for param in route.params:
                self.send(client, "GET", self.path(route, **{param: "a" + escaped}),
                          expect_400=f"{label} in path {param}")  # fmt: skip
            self.send(client, "GET", path, query=f"{names.query[0]}=a{escaped}",
                      expect_400=f"{label} in query")  # fmt: skip
            self.send(client, "HEAD", path, query=f"{escaped}=1", expect_400=f"{label} in a name")
            raw_header = bytes.fromhex(escaped.replace("%", "")).decode("latin-1")
            self.send(client, "GET", path, headers={"Accept-Language": "a" + raw_header},
                      expect_400=f"{label} in header")  # fmt: skip
            form = f"{names.fields[0]}=a{escaped}".encode()
            self.send(client, "POST", path, body=form,
                      content_type="application/x-www-form-urlencoded",
                      expect_400=f"{label} in form field")  # fmt: skip
        # NUL in every parameter and field the page names at once: a view reached without
        # the middleware meets all of them (an admin filter, a search, a form field).
        everywhere = "&".join(f"{quote(n)}=a%00" for n in names.query)
        self.send(client, "GET", path, query=everywhere, expect_400="NUL in every parameter")
        everywhere = "&".join(f"{quote(n)}=a%00" for n in names.fields)
        self.send(client, "POST", path, body=everywhere.encode(),
                  content_type="application/x-www-form-urlencoded",
                  expect_400="NUL in every form field")  # fmt: skip
        boundary = "hostile"
        multipart = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{names.fields[0]}"\r\n\r\n'
            f"a\x00b\r\n--{boundary}--\r\n"
        ).encode()
        self.send(client, "POST", path, body=multipart,
                  content_type=f"multipart/form-data; boundary={boundary}",
                  expect_400="NUL in multipart field")  # fmt: skip
        # Where a JSON body is read (the signed webhook, the API's create for a user), it
        # is a 400; elsewhere it is not read, and only must not fail.
        reads_json = path == "/hooks/github/" or (
            path == "/api/v1/projects/" and self.actor != "anonymous"
        )
        for label, text in (("NUL", '"a\\u0000b"'), ("lone surrogate", '"\\ud800"')):
            body = f'{{"repository": {{"full_name": {text}}}, "{names.json[0]}": {text}}}'
            self.send(client, "POST", path, body=body.encode(), content_type="application/json",
                      expect_400=f"{label} in JSON" if reads_json else "")  # fmt: skip
        for depth in (50_000, 100_000):
            self.send(client, "POST", path, body=b"[" * depth, content_type="application/json",
                      expect_400="deep JSON" if reads_json else "")  # fmt: skip
            self.send(client, "PUT", path, body=b'{"a":' * depth, content_type="application/json")

    def view_values(self, client: Client, route: Route, names: Names, methods, turn: int) -> None:
        """Values each view judges itself, a different one in each parameter and field and
        at each turn, so that every name meets every value over the turns."""
        path = self.path(route)
        for m, method in enumerate(methods):
            shift = turn * len(methods) + m

            def pick(values, i, shift=shift):
                return values[(i + shift) % len(values)]

            query = "&".join(
                f"{quote(n)}={quote(pick(VIEW_VALUES, i))}" for i, n in enumerate(names.query)
            )
            headers = {h: pick(VIEW_VALUES, i)[:4000] for i, h in enumerate(HEADERS)}
            if self.actor != "anonymous":
                headers.pop("Authorization")
                headers.pop("Cookie")
            body, content_type = None, ""
            if method == "POST-form":
                body = "&".join(
                    f"{quote(n)}={quote(pick(VIEW_VALUES, i))}" for i, n in enumerate(names.fields)
                ).encode()
                content_type = "application/x-www-form-urlencoded"
            elif method in ("POST", "PUT", "PATCH"):
                payload = {n: pick(JSON_VALUES, i) for i, n in enumerate(names.json)}
                payload["repository"] = {"full_name": pick(JSON_VALUES, 3)}
                body, content_type = json.dumps(payload).encode(), "application/json"
            self.send(client, method.removesuffix("-form"), path, query=query, body=body,
                      content_type=content_type, headers=headers)  # fmt: skip

    def path_values(self, client: Client, route: Route) -> None:
        for param in route.params:
            for value in VIEW_VALUES[:-1]:
                path = self.path(route, **{param: quote(value, safe="")})
                for method in ("GET", "POST"):
                    self.send(client, method, path)


SAFE_METHODS = ["GET", "HEAD", "POST-form", "POST", "PUT", "PATCH"]


@pytest.mark.parametrize("actor", ACTORS)
def test_every_url_answers_hostile_input_without_a_server_error(world, settings, actor):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    walk = Walk(world=world, actor=actor)
    routes = site_routes()
    assert len(routes) > 150  # the admin, the API, the pages, the accounts, the webhook
    client = walk.client()
    plan = []
    for route in routes:
        names = walk.discover(route)
        plan.append((route, names))
        if route.name == "projects_project_changelist" and actor == "staff":
            # The filters come from the page: the walk reaches the admin's lookups.
            assert "publication__exact" in names.query, names.query
        walk.refused_values(client, route, names)
    for route, _ in plan:
        if not route.destructive:
            walk.path_values(client, route)
    for turn in range(2):
        for route, names in plan:
            if not route.destructive:
                walk.view_values(client, route, names, SAFE_METHODS, turn)
    # Last, what may delete, revoke or log out: each route with a fresh session.
    for route, names in plan:
        methods = ["DELETE", *(SAFE_METHODS if route.destructive else [])]
        walk.view_values(walk.client(), route, names, methods, 0)
    assert not walk.failures, f"{len(walk.failures)} of {walk.sent} requests:\n" + "\n".join(
        walk.failures
    )
