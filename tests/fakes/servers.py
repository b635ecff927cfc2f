"""Fake GitHub (REST + GraphQL), GitLab, PyPI and link servers on 127.0.0.1.

Each is a real HTTP server on an ephemeral port, answering the way the real
service documents it: status codes, rate-limit headers, ETags, redirects and
JSON shapes. Tests configure repository states, inject faults and count the
requests each server saw.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

JSON_TYPE = "application/json; charset=utf-8"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Generic server machinery -------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # raw path including the query string, exactly as received
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # An endless body, for proving that clients stop reading at their limit.
    stream: Iterable[bytes] | None = None
    delay: float = 0.0

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        merged = {"Content-Type": JSON_TYPE, **(headers or {})}
        return cls(status, merged, json.dumps(payload).encode())

    @classmethod
    def text(cls, status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
        merged = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
        return cls(status, merged, text.encode())


@dataclass(frozen=True)
class Fault:
    """A one-off misbehaviour for the next matching request.

    kind: "status" (answer ``status`` with a plain body), "malformed" (200 with a
    truncated JSON body), "delay" (answer normally after ``seconds``), "drop"
    (close the connection without answering). It applies to the next request whose
    path starts with ``path_prefix`` and ends with ``path_suffix``.
    """

    kind: str
    status: int = 500
    seconds: float = 0.0
    path_prefix: str = ""
    path_suffix: str = ""

    @classmethod
    def server_error(
        cls, status: int = 500, *, path_prefix: str = "", path_suffix: str = ""
    ) -> Fault:
        return cls("status", status=status, path_prefix=path_prefix, path_suffix=path_suffix)

    def matches(self, request: RecordedRequest) -> bool:
        return request.route.startswith(self.path_prefix) and request.route.endswith(
            self.path_suffix
        )

    @classmethod
    def malformed(cls, *, path_prefix: str = "") -> Fault:
        return cls("malformed", path_prefix=path_prefix)

    @classmethod
    def slow(cls, seconds: float, *, path_prefix: str = "") -> Fault:
        return cls("delay", seconds=seconds, path_prefix=path_prefix)

    @classmethod
    def drop(cls, *, path_prefix: str = "") -> Fault:
        return cls("drop", path_prefix=path_prefix)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply = fake.dispatch(request)
        if reply is None:  # "drop": hang up without a word
            self.close_connection = True
            return
        if reply.delay and fake.wait(reply.delay):
            self.close_connection = True
            return
        self.send_response(reply.status)
        headers = dict(reply.headers)
        headers.setdefault("Date", format_datetime(datetime.now(UTC), usegmt=True))
        if reply.stream is not None:
            headers["Connection"] = "close"
            self.close_connection = True
        else:
            headers["Content-Length"] = str(len(reply.body))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD" or reply.status in (204, 304):
            return
        try:
            if reply.stream is not None:
                for chunk in reply.stream:
                    if fake.stopping:
                        break
                    self.wfile.write(chunk)
                    self.wfile.flush()
            else:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeServer


class FakeServer:
    """Base class: a threaded HTTP server on 127.0.0.1 with request recording and faults."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.latency = 0.0  # added before every answer (benchmarks: 0.05)
        self._faults: deque[Fault] = deque()
        self._every: tuple[int, Fault] | None = None  # (n, fault): every n-th matching request
        self._every_seen = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._port: int | None = None
        self._scheme = "http"
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self, *, tls: ssl.SSLContext | None = None) -> Self:
        """Listen on an ephemeral port; with ``tls`` (a server context) speak HTTPS."""
        server = _Server(("127.0.0.1", 0), _Handler)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
            self._scheme = "https"
        server.fake = self
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        # ``with FakeX().start(tls=...) as x`` must not start a second, plain server.
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep on the server side; returns True when the server is stopping."""
        return self._stop.wait(seconds)

    @property
    def port(self) -> int:
        assert self._port is not None, "server not started"
        return self._port

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}"

    # faults and counting
    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def fail_every(self, n: int, fault: Fault | None) -> None:
        """Answer every ``n``-th request that ``fault`` matches with it, until called
        with None (a flaky upstream, rather than a queue of one-off faults)."""
        with self._lock:
            self._every = (n, fault) if fault is not None else None
            self._every_seen = 0

    def _take_fault(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            for fault in list(self._faults):
                if fault.matches(request):
                    self._faults.remove(fault)
                    return fault
            if self._every is not None and self._every[1].matches(request):
                self._every_seen += 1
                if self._every_seen % self._every[0] == 0:
                    return self._every[1]
        return None

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def count(self, *, path_prefix: str = "", method: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if r.route.startswith(path_prefix) and (method is None or r.method == method)
            )

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def dispatch(self, request: RecordedRequest) -> Reply | None:
        with self._lock:
            self.requests.append(request)
        if self.latency:
            self.wait(self.latency)
        fault = self._take_fault(request)
        if fault is not None:
            if fault.kind == "drop":
                return None
            if fault.kind == "status":
                return self.error_reply(fault.status)
            if fault.kind == "malformed":
                return Reply(200, {"Content-Type": JSON_TYPE}, b'{"truncated": [1, 2')
            if fault.kind == "delay":
                reply = self._handle_locked(request)
                reply.delay = fault.seconds
                return reply
        return self._handle_locked(request)

    def _handle_locked(self, request: RecordedRequest) -> Reply:
        # Handlers run on many threads; quotas and repository state are shared.
        # Latency and delays are spent outside the lock.
        with self._lock:
            return self.handle(request)

    def error_reply(self, status: int) -> Reply:
        bodies = {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        return Reply.text(status, bodies.get(status, f"Error {status}"))

    def handle(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError


# A 1x1 PNG: what the fake forges serve as avatars.
FAKE_AVATAR_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


# --- Rate limits -----------------------------------------------------------------------------


@dataclass
class Quota:
    """One rate-limit bucket, reported like GitHub's x-ratelimit-* headers."""

    limit: int = 5000
    remaining: int = 5000
    reset_at: datetime = field(default_factory=lambda: utcnow() + timedelta(hours=1))
    resource: str = "core"

    @property
    def used(self) -> int:
        return self.limit - self.remaining

    def exhaust_after(self, requests: int, *, reset_in: timedelta = timedelta(minutes=30)) -> None:
        """Allow ``requests`` more requests, then answer as rate limited."""
        self.remaining = requests
        self.reset_at = utcnow() + reset_in

    def refill(self) -> None:
        """What happens at ``reset_at`` upstream."""
        self.remaining = self.limit
        self.reset_at = utcnow() + timedelta(hours=1)

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(max(self.remaining, 0)),
            "x-ratelimit-reset": str(int(self.reset_at.timestamp())),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": self.resource,
        }


# --- GitHub ------------------------------------------------------------------------------------


@dataclass
class FakeRepo:
    owner: str
    name: str
    id: int = 0
    archived: bool = False
    pushed_at: datetime | None = field(default_factory=lambda: utcnow() - timedelta(days=3))
    last_commit_at: datetime | None = None  # defaults to pushed_at
    created_at: datetime = field(default_factory=lambda: datetime(2019, 5, 1, tzinfo=UTC))
    release_at: datetime | None = None
    stars: int = 1234
    forks: int = 56
    open_issues: int = 7
    open_pull_requests: int = 3
    license_spdx: str | None = "BSD-3-Clause"
    license_name: str | None = 'BSD 3-Clause "New" or "Revised" License'
    description: str = "A fake repository"
    default_branch: str = "main"
    files: dict[str, str] = field(default_factory=dict)
    avatar: str | None = None  # a URL a test serves itself; default: the fake's /avatars/

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def avatar_url(self, base_url: str) -> str:
        # GitHub serves avatars from its own host; the fake serves them itself so that no
        # test ever resolves a real name.
        return self.avatar or f"{base_url}/avatars/u/{1000 + self.id}?v=4"


_ALIAS = re.compile(
    r"(\w+)\s*:\s*repository\s*\(\s*owner\s*:\s*(\$\w+|\"[^\"]*\")\s*,\s*name\s*:\s*(\$\w+|\"[^\"]*\")"
)


_NODE_ERROR_MESSAGES = {
    "FORBIDDEN": "Resource protected by organization SAML enforcement. You must grant your "
    "Personal Access token access to this organization.",
}


class FakeGitHub(FakeServer):
    """GitHub's REST API (``/repos/...``) and GraphQL API (``/graphql``) on one origin.

    REST and GraphQL have separate quotas, as on github.com. ``token``: when set,
    GraphQL demands it and REST rejects any other token (no token is allowed on
    REST, like anonymous access).
    """

    def __init__(self, *, token: str | None = None) -> None:
        super().__init__()
        self.token = token
        self.repos: dict[str, FakeRepo] = {}
        self.renamed: dict[str, int] = {}  # lower-cased old full name -> repo id
        self.rest_quota = Quota(resource="core")
        self.graphql_quota = Quota(resource="graphql")
        self.graphql_limited_status = 200  # GitHub answers 200 + errors; some proxies 403
        self._secondary: deque[int] = deque()  # retry-after seconds for upcoming requests
        # GitHub stops a query it cannot finish in ten seconds; here, one naming more
        # repositories than this (None: any size finishes).
        self.graphql_timeout_above: int | None = None
        # lower-cased full name -> the error type GraphQL answers for that node alone
        self.graphql_node_errors: dict[str, str] = {}
        self._next_id = 1

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    # repository states
    def add_repo(self, full_name: str, **fields: Any) -> FakeRepo:
        owner, name = full_name.split("/")
        repo = FakeRepo(owner=owner, name=name, id=self._next_id, **fields)
        self._next_id += 1
        with self._lock:
            self.repos[full_name.lower()] = repo
        return repo

    def active(self, full_name: str, *, days_ago: int = 3, **fields: Any) -> FakeRepo:
        pushed = utcnow() - timedelta(days=days_ago)
        return self.add_repo(full_name, pushed_at=pushed, **fields)

    def archived(self, full_name: str, *, days_ago: int = 700, **fields: Any) -> FakeRepo:
        pushed = utcnow() - timedelta(days=days_ago)
        return self.add_repo(full_name, archived=True, pushed_at=pushed, **fields)

    def inactive(self, full_name: str, *, days_ago: int = 500, **fields: Any) -> FakeRepo:
        pushed = utcnow() - timedelta(days=days_ago)
        return self.add_repo(full_name, pushed_at=pushed, **fields)

    def rename(self, old_full_name: str, new_full_name: str) -> FakeRepo:
        """Rename or transfer: the old name answers 301 on REST and resolves on GraphQL."""
        with self._lock:
            repo = self.repos.pop(old_full_name.lower())
            repo.owner, repo.name = new_full_name.split("/")
            self.repos[new_full_name.lower()] = repo
            self.renamed[old_full_name.lower()] = repo.id
        return repo

    def delete(self, full_name: str) -> None:
        with self._lock:
            self.repos.pop(full_name.lower(), None)

    def secondary_limit(self, *, times: int = 1, retry_after: int = 60) -> None:
        """The next ``times`` requests, REST or GraphQL, hit a secondary rate limit."""
        with self._lock:
            self._secondary.extend([retry_after] * times)

    def _lookup(self, full_name: str) -> tuple[FakeRepo | None, bool]:
        """(repo, was_renamed) for a requested owner/name."""
        key = full_name.lower()
        with self._lock:
            if key in self.repos:
                return self.repos[key], False
            repo_id = self.renamed.get(key)
            if repo_id is not None:
                repo = self._by_id(repo_id)
                return repo, repo is not None
        return None, False

    def _by_id(self, repo_id: int) -> FakeRepo | None:
        return next((r for r in self.repos.values() if r.id == repo_id), None)

    # HTTP
    def handle(self, request: RecordedRequest) -> Reply:
        if request.route == "/graphql":
            return self._graphql(request)
        if request.route.startswith("/avatars/"):
            return Reply(200, {"Content-Type": "image/png"}, FAKE_AVATAR_PNG)
        return self._rest(request)

    def _rest_headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Content-Type": JSON_TYPE,
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": f"FAKE:{len(self.requests):08X}",
            "Access-Control-Expose-Headers": "ETag, Link, Location, Retry-After, "
            "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, "
            "X-RateLimit-Resource, X-RateLimit-Reset",
            **self.rest_quota.headers(),
        }
        headers.update(extra or {})
        return headers

    def _authorized(self, request: RecordedRequest, *, required: bool) -> bool:
        given = request.header("authorization")
        if not given:
            return not required
        scheme, _, value = given.partition(" ")
        return scheme.lower() in {"bearer", "token"} and (self.token is None or value == self.token)

    def _rest(self, request: RecordedRequest) -> Reply:
        if not self._authorized(request, required=False):
            return Reply.json(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
                self._rest_headers(),
            )
        secondary = self._secondary_reply(self._rest_headers)
        if secondary is not None:
            return secondary
        if self.rest_quota.remaining <= 0:
            who = "user ID 1" if request.header("authorization") else "127.0.0.1"
            return Reply.json(
                403,
                {
                    "message": f"API rate limit exceeded for {who}. (But here's the good news: "
                    "Authenticated requests get a higher rate limit. Check out the "
                    "documentation for more details.)",
                    "documentation_url": "https://docs.github.com/rest/overview/"
                    "rate-limits-for-the-rest-api#about-primary-rate-limits",
                    "status": "403",
                },
                self._rest_headers(),
            )
        reply = self._rest_route(request)
        # A 304 does not count against the primary rate limit.
        if reply.status != 304:
            self.rest_quota.remaining -= 1
            reply.headers.update(self.rest_quota.headers())
        return reply

    def _secondary_reply(self, headers) -> Reply | None:
        with self._lock:
            retry_after = self._secondary.popleft() if self._secondary else None
        if retry_after is None:
            return None
        return Reply.json(
            403,
            {
                "message": "You have exceeded a secondary rate limit. Please wait a few "
                "minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/"
                "rate-limits-for-the-rest-api#about-secondary-rate-limits",
                "status": "403",
            },
            headers({"retry-after": str(retry_after)}),
        )

    def _not_found(self, doc: str) -> Reply:
        return Reply.json(
            404,
            {
                "message": "Not Found",
                "documentation_url": f"https://docs.github.com/rest/{doc}",
                "status": "404",
            },
            self._rest_headers(),
        )

    def _rest_route(self, request: RecordedRequest) -> Reply:
        if request.method not in ("GET", "HEAD"):
            return self._not_found("")
        parts = [unquote(p) for p in request.route.strip("/").split("/")]
        if parts[:1] == ["rate_limit"]:
            return Reply.json(
                200,
                {
                    "resources": {
                        "core": self._quota_json(self.rest_quota),
                        "graphql": self._quota_json(self.graphql_quota),
                    },
                    "rate": self._quota_json(self.rest_quota),
                },
                self._rest_headers(),
            )
        if len(parts) >= 2 and parts[0] == "repositories" and parts[1].isdigit():
            # Where GitHub's Location points after a rename or transfer.
            with self._lock:
                repo = self._by_id(int(parts[1]))
            rest = parts[2:]
            if repo is None:
                return self._not_found("repos/repos#get-a-repository")
        else:
            if len(parts) < 3 or parts[0] != "repos":
                return self._not_found("")
            repo, renamed = self._lookup(f"{parts[1]}/{parts[2]}")
            rest = parts[3:]
            if repo is None:
                return self._not_found("repos/repos#get-a-repository")
            if renamed:
                tail = "/".join(rest)
                location = f"{self.url}/repositories/{repo.id}" + (f"/{tail}" if tail else "")
                return Reply.json(
                    301,
                    {
                        "message": "Moved Permanently",
                        "url": location,
                        "documentation_url": "https://docs.github.com/v3/#http-redirects",
                    },
                    self._rest_headers({"Location": location}),
                )
        if not rest:
            return self._repo_reply(request, repo)
        if rest == ["releases", "latest"]:
            if repo.release_at is None:
                return self._not_found("releases/releases#get-the-latest-release")
            return self._json_with_etag(request, self._release_json(repo))
        if rest[0] == "contents" and len(rest) > 1:
            path = "/".join(rest[1:])
            content = repo.files.get(path)
            if content is None:
                return self._not_found("repos/contents#get-repository-content")
            accept = request.header("accept") or ""
            if "application/vnd.github.raw" in accept:
                return Reply(
                    200,
                    self._rest_headers(
                        {"Content-Type": "application/vnd.github.raw; charset=utf-8"}
                    ),
                    content.encode(),
                )
            return self._not_found("repos/contents#get-repository-content")
        return self._not_found("")

    def _quota_json(self, quota: Quota) -> dict[str, int]:
        return {
            "limit": quota.limit,
            "used": quota.used,
            "remaining": quota.remaining,
            "reset": int(quota.reset_at.timestamp()),
        }

    def _json_with_etag(self, request: RecordedRequest, payload: dict[str, Any]) -> Reply:
        body = json.dumps(payload).encode()
        etag = f'W/"{hashlib.sha256(body).hexdigest()[:40]}"'
        headers = self._rest_headers(
            {
                "ETag": etag,
                "Cache-Control": "private, max-age=60, s-maxage=60",
                "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
                "Last-Modified": format_datetime(datetime.now(UTC), usegmt=True),
            }
        )
        sent = request.header("if-none-match")
        if sent and etag.removeprefix("W/") in {
            t.strip().removeprefix("W/") for t in sent.split(",")
        }:
            headers.pop("Content-Type", None)
            return Reply(304, headers)
        return Reply(200, headers, body)

    def _repo_reply(self, request: RecordedRequest, repo: FakeRepo) -> Reply:
        return self._json_with_etag(request, self.repo_json(repo))

    def repo_json(self, repo: FakeRepo) -> dict[str, Any]:
        api = f"{self.url}/repos/{repo.full_name}"
        license_json = (
            {
                "key": (repo.license_spdx or "other").lower(),
                "name": repo.license_name,
                "spdx_id": repo.license_spdx or "NOASSERTION",
                "url": f"{self.url}/licenses/{(repo.license_spdx or 'other').lower()}",
                "node_id": "MDc6TGljZW5zZTU=",
            }
            if repo.license_name
            else None
        )
        issues_and_prs = repo.open_issues + repo.open_pull_requests
        return {
            "id": repo.id,
            "node_id": f"R_fake{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
            "owner": {
                "login": repo.owner,
                "id": 1000 + repo.id,
                "avatar_url": repo.avatar_url(self.url),
                "html_url": f"https://github.com/{repo.owner}",
                "type": "Organization",
            },
            "html_url": f"https://github.com/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": api,
            "releases_url": f"{api}/releases{{/id}}",
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.pushed_at or repo.created_at),
            "pushed_at": iso(repo.pushed_at),
            "homepage": None,
            "size": 2048,
            "stargazers_count": repo.stars,
            "watchers_count": repo.stars,
            "language": "Python",
            "has_issues": True,
            "forks_count": repo.forks,
            "archived": repo.archived,
            "disabled": False,
            "open_issues_count": issues_and_prs,
            "license": license_json,
            "topics": ["pytorch"],
            "visibility": "public",
            "forks": repo.forks,
            "open_issues": issues_and_prs,
            "watchers": repo.stars,
            "default_branch": repo.default_branch,
        }

    def _release_json(self, repo: FakeRepo) -> dict[str, Any]:
        return {
            "url": f"{self.url}/repos/{repo.full_name}/releases/1",
            "html_url": f"https://github.com/{repo.full_name}/releases/tag/v1.0.0",
            "id": 1,
            "tag_name": "v1.0.0",
            "target_commitish": repo.default_branch,
            "name": "v1.0.0",
            "draft": False,
            "prerelease": False,
            "created_at": iso(repo.release_at),
            "published_at": iso(repo.release_at),
            "assets": [],
            "body": "",
        }

    # GraphQL
    def _graphql_headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Content-Type": JSON_TYPE, **self.graphql_quota.headers()}
        headers.update(extra or {})
        return headers

    def _graphql(self, request: RecordedRequest) -> Reply:
        if request.method != "POST":
            return Reply.json(404, {"message": "Not Found"}, self._graphql_headers())
        if not request.header("authorization"):
            return Reply.json(
                401,
                {
                    "message": "This endpoint requires you to be authenticated.",
                    "documentation_url": "https://docs.github.com/graphql/guides/"
                    "forming-calls-with-graphql#authenticating-with-graphql",
                },
                self._graphql_headers(),
            )
        if not self._authorized(request, required=True):
            return Reply.json(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/graphql",
                },
                self._graphql_headers(),
            )
        secondary = self._secondary_reply(self._graphql_headers)
        if secondary is not None:
            return secondary
        if self.graphql_quota.remaining <= 0:
            return Reply.json(
                self.graphql_limited_status,
                {
                    "errors": [
                        {
                            "type": "RATE_LIMITED",
                            "code": "graphql_rate_limit",
                            "message": "API rate limit exceeded for user ID 1.",
                        }
                    ]
                },
                self._graphql_headers(),
            )
        try:
            payload = request.json()
            query = str(payload["query"])
            variables = payload.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return Reply.json(
                400,
                {
                    "message": "Problems parsing JSON",
                    "documentation_url": "https://docs.github.com/graphql",
                },
                self._graphql_headers(),
            )
        self.graphql_quota.remaining -= 1
        if self.graphql_timeout_above is not None and (
            len(_ALIAS.findall(query)) > self.graphql_timeout_above
        ):
            return Reply.json(
                502,
                {
                    "data": None,
                    "errors": [
                        {
                            "message": "Something went wrong while executing your query. "
                            "This may be the result of a timeout, or it could be a GitHub "
                            f"bug. Please include `FAKE:{len(self.requests):08X}` when "
                            "reporting this issue."
                        }
                    ],
                },
                self._graphql_headers(),
            )
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        if "rateLimit" in query:
            data["rateLimit"] = {
                "limit": self.graphql_quota.limit,
                "cost": 1,
                "remaining": self.graphql_quota.remaining,
                "used": self.graphql_quota.used,
                "resetAt": iso(self.graphql_quota.reset_at),
            }

        def value(token: str) -> str:
            if token.startswith("$"):
                return str(variables.get(token[1:], ""))
            return token.strip('"')

        for line_no, line in enumerate(query.splitlines(), start=1):
            for match in _ALIAS.finditer(line):
                alias, owner, name = match.group(1), value(match.group(2)), value(match.group(3))
                repo, _ = self._lookup(f"{owner}/{name}")
                node_error = self.graphql_node_errors.get(f"{owner}/{name}".lower())
                if node_error is not None:
                    data[alias] = None
                    errors.append(
                        {
                            "type": node_error,
                            "path": [alias],
                            "locations": [{"line": line_no, "column": match.start() + 1}],
                            "message": _NODE_ERROR_MESSAGES.get(
                                node_error, f"{node_error} for this repository"
                            ),
                        }
                    )
                elif repo is None:
                    data[alias] = None
                    errors.append(
                        {
                            "type": "NOT_FOUND",
                            "path": [alias],
                            "locations": [{"line": line_no, "column": match.start() + 1}],
                            "message": f"Could not resolve to a Repository with the name "
                            f"'{owner}/{name}'.",
                        }
                    )
                else:
                    data[alias] = self.repo_node(repo)
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = errors
        return Reply.json(200, body, self._graphql_headers())

    def repo_node(self, repo: FakeRepo) -> dict[str, Any]:
        committed = repo.last_commit_at or repo.pushed_at
        return {
            "nameWithOwner": repo.full_name,
            "url": f"https://github.com/{repo.full_name}",
            "description": repo.description,
            "isArchived": repo.archived,
            "pushedAt": iso(repo.pushed_at),
            "stargazerCount": repo.stars,
            "forkCount": repo.forks,
            "licenseInfo": {"spdxId": repo.license_spdx or "NOASSERTION", "name": repo.license_name}
            if repo.license_name
            else None,
            "latestRelease": {"publishedAt": iso(repo.release_at)} if repo.release_at else None,
            "defaultBranchRef": {"target": {"committedDate": iso(committed)}}
            if committed
            else None,
            "issues": {"totalCount": repo.open_issues},
            "owner": {"avatarUrl": repo.avatar_url(self.url)},
        }


# --- GitLab ------------------------------------------------------------------------------------


@dataclass
class FakeProject:
    path_with_namespace: str
    id: int = 0
    archived: bool = False
    last_activity_at: datetime = field(default_factory=lambda: utcnow() - timedelta(days=2))
    star_count: int = 42
    forks_count: int = 5
    open_issues_count: int | None = 3
    description: str = "A fake GitLab project"
    license_name: str | None = "MIT License"
    avatar_url: str | None = None


class FakeGitLab(FakeServer):
    """GitLab's ``GET /api/v4/projects/:id`` with RateLimit-* headers."""

    def __init__(self) -> None:
        super().__init__()
        self.projects: dict[str, FakeProject] = {}
        self.redirect_routes: dict[str, int] = {}
        self.quota = Quota(limit=2000, remaining=2000, resource="gitlab")
        self._next_id = 100

    def add_project(self, path: str, **fields: Any) -> FakeProject:
        project = FakeProject(path_with_namespace=path, id=self._next_id, **fields)
        self._next_id += 1
        with self._lock:
            self.projects[path.lower()] = project
        return project

    def rename(self, old: str, new: str) -> FakeProject:
        with self._lock:
            project = self.projects.pop(old.lower())
            project.path_with_namespace = new
            self.projects[new.lower()] = project
            self.redirect_routes[old.lower()] = project.id
        return project

    def delete(self, path: str) -> None:
        with self._lock:
            self.projects.pop(path.lower(), None)

    def _headers(self) -> dict[str, str]:
        reset = int(self.quota.reset_at.timestamp())
        return {
            "RateLimit-Limit": str(self.quota.limit),
            "RateLimit-Observed": str(self.quota.used),
            "RateLimit-Remaining": str(max(self.quota.remaining, 0)),
            "RateLimit-Reset": str(reset),
            "RateLimit-ResetTime": format_datetime(self.quota.reset_at, usegmt=True),
        }

    def handle(self, request: RecordedRequest) -> Reply:
        if self.quota.remaining <= 0:
            seconds = max(1, int((self.quota.reset_at - utcnow()).total_seconds()))
            return Reply.text(
                429, "Retry later\n", {**self._headers(), "Retry-After": str(seconds)}
            )
        self.quota.remaining -= 1
        prefix = "/api/v4/projects/"
        route = request.route
        # The project path must arrive as one URL-encoded segment ("group%2Fproject").
        if not route.startswith(prefix) or "/" in route[len(prefix) :]:
            return Reply.json(404, {"error": "404 Not Found"}, self._headers())
        key = unquote(route[len(prefix) :]).lower()
        with self._lock:
            project = self.projects.get(key)
            if project is None and key in self.redirect_routes:
                wanted = self.redirect_routes[key]
                project = next((p for p in self.projects.values() if p.id == wanted), None)
        if project is None:
            return Reply.json(404, {"message": "404 Project Not Found"}, self._headers())
        return Reply.json(200, self.project_json(project, request), self._headers())

    def project_json(self, project: FakeProject, request: RecordedRequest) -> dict[str, Any]:
        namespace, _, path = project.path_with_namespace.rpartition("/")
        body: dict[str, Any] = {
            "id": project.id,
            "description": project.description,
            "name": path,
            "name_with_namespace": project.path_with_namespace.replace("/", " / "),
            "path": path,
            "path_with_namespace": project.path_with_namespace,
            "created_at": "2020-01-01T00:00:00.000Z",
            "default_branch": "main",
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@gitlab.com:{project.path_with_namespace}.git",
            "http_url_to_repo": f"https://gitlab.com/{project.path_with_namespace}.git",
            "web_url": f"https://gitlab.com/{project.path_with_namespace}",
            "readme_url": None,
            "forks_count": project.forks_count,
            "avatar_url": project.avatar_url,
            "star_count": project.star_count,
            "last_activity_at": project.last_activity_at.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "namespace": {
                "id": 7,
                "name": namespace,
                "path": namespace.rsplit("/", 1)[-1],
                "kind": "group",
                "full_path": namespace,
                "parent_id": None,
                "avatar_url": f"{self.url}/uploads/-/system/group/avatar/7/{namespace}.png",
                "web_url": f"https://gitlab.com/groups/{namespace}",
            },
            "archived": project.archived,
            "visibility": "public",
        }
        if project.open_issues_count is not None:
            body["open_issues_count"] = project.open_issues_count
        if request.query.get("license") == ["true"]:
            body["license"] = (
                {
                    "key": "mit",
                    "name": project.license_name,
                    "nickname": None,
                    "html_url": "https://opensource.org/licenses/MIT",
                    "source_url": None,
                }
                if project.license_name
                else None
            )
        return body


# --- PyPI --------------------------------------------------------------------------------------


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class FakePackage:
    name: str
    # version -> [(uploaded_at, yanked)]
    releases: dict[str, list[tuple[datetime, bool]]] = field(default_factory=dict)


class FakePyPI(FakeServer):
    """PyPI's ``GET /pypi/<project>/json``, redirecting non-canonical names like PyPI does."""

    def __init__(self) -> None:
        super().__init__()
        self.packages: dict[str, FakePackage] = {}

    def add_package(
        self,
        name: str,
        releases: dict[str, datetime | list[datetime]],
        *,
        yanked: Iterable[str] = (),
    ) -> FakePackage:
        yanked_versions = set(yanked)
        files: dict[str, list[tuple[datetime, bool]]] = {}
        for version, uploaded in releases.items():
            times = uploaded if isinstance(uploaded, list) else [uploaded]
            files[version] = [(t, version in yanked_versions) for t in times]
        package = FakePackage(name=name, releases=files)
        with self._lock:
            self.packages[normalize(name)] = package
        return package

    def handle(self, request: RecordedRequest) -> Reply:
        match = re.fullmatch(r"/pypi/([^/]+)/json/?", request.route)
        if not match:
            return Reply.json(404, {"message": "Not Found"})
        requested = unquote(match.group(1))
        canonical = normalize(requested)
        if requested != canonical:
            return Reply(
                301,
                {"Location": f"{self.url}/pypi/{canonical}/json", "Content-Type": "text/html"},
                b"",
            )
        with self._lock:
            package = self.packages.get(canonical)
        if package is None:
            return Reply.json(404, {"message": "Not Found"})
        return Reply.json(
            200,
            self.project_json(package),
            {"X-PyPI-Last-Serial": "123456", "Cache-Control": "max-age=900, public"},
        )

    def project_json(self, package: FakePackage) -> dict[str, Any]:
        def file_json(version: str, uploaded: datetime, yanked: bool, n: int) -> dict[str, Any]:
            filename = f"{package.name.replace('-', '_')}-{version}-py3-none-any.whl"
            digest = hashlib.sha256(f"{filename}{n}".encode()).hexdigest()
            naive = uploaded.astimezone(UTC).replace(tzinfo=None)
            return {
                "comment_text": "",
                "digests": {"blake2b_256": digest, "md5": digest[:32], "sha256": digest},
                "downloads": -1,
                "filename": filename,
                "has_sig": False,
                "md5_digest": digest[:32],
                "packagetype": "bdist_wheel",
                "python_version": "py3",
                "requires_python": ">=3.9",
                "size": 12345,
                "upload_time": naive.strftime("%Y-%m-%dT%H:%M:%S"),
                "upload_time_iso_8601": naive.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "url": f"https://files.pythonhosted.org/packages/{digest[:2]}/{filename}",
                "yanked": yanked,
                "yanked_reason": "broken build" if yanked else None,
            }

        releases = {
            version: [file_json(version, t, y, i) for i, (t, y) in enumerate(files)]
            for version, files in package.releases.items()
        }
        latest = next(reversed(package.releases), None)
        return {
            "info": {
                "name": package.name,
                "version": latest,
                "summary": "A fake package",
                "home_page": None,
                "project_urls": {"Homepage": f"https://example.org/{package.name}"},
                "yanked": False,
                "yanked_reason": None,
            },
            "last_serial": 123456,
            "releases": releases,
            "urls": releases.get(latest, []) if latest else [],
            "vulnerabilities": [],
        }


# --- Links -------------------------------------------------------------------------------------


@dataclass
class Route:
    status: int = 200
    body: bytes = b"<!doctype html><title>ok</title>"
    headers: dict[str, str] = field(default_factory=dict)
    head_status: int | None = None  # e.g. 405 for servers that refuse HEAD
    delay: float = 0.0
    endless: bool = False


def _endless(chunk: bytes = b"x" * 16384) -> Iterator[bytes]:
    while True:
        yield chunk


class FakeLinks(FakeServer):
    """A configurable website: pages, redirects, HEAD refusals, slow and endless bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Route] = {}

    def route(self, path: str, **fields: Any) -> str:
        with self._lock:
            self.routes[path] = Route(**fields)
        return f"{self.url}{path}"

    def page(self, path: str = "/") -> str:
        return self.route(path)

    def redirect(self, path: str, to: str, *, status: int = 301) -> str:
        return self.route(path, status=status, body=b"", headers={"Location": to})

    def handle(self, request: RecordedRequest) -> Reply:
        with self._lock:
            route = self.routes.get(request.route)
        if route is None:
            return Reply(404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>")
        status = route.status
        if request.method == "HEAD" and route.head_status is not None:
            status = route.head_status
        headers = {"Content-Type": "text/html; charset=utf-8", **route.headers}
        return Reply(
            status,
            headers,
            route.body,
            stream=_endless() if route.endless else None,
            delay=route.delay,
        )


# --- Helpers -----------------------------------------------------------------------------------


def unused_port_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


class AcceptRecorder:
    """A listening socket that proves whether anybody connected, without sleeping.

    ``connections()`` makes a sentinel connection of its own and accepts until it
    sees it; since the backlog is FIFO, everything accepted before the sentinel
    is a connection someone else made.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(5)
        self.port: int = self.sock.getsockname()[1]

    def connections(self) -> int:
        family = self.sock.family
        with socket.socket(family, socket.SOCK_STREAM) as sentinel:
            sentinel.connect((self.host, self.port))
            marker = sentinel.getsockname()[:2]
            others = 0
            while True:
                conn, peer = self.sock.accept()
                conn.close()
                if peer[:2] == marker:
                    return others
                others += 1

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> AcceptRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
