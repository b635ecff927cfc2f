"""Read and write the landscape2 data format (pure: YAML text <-> plain data, no ORM).

landscape2 writes each level as a mapping with a null key naming the level
(``- category:`` followed by ``name:`` and ``subcategories:``); this module reads
that shape, validates it item by item with the item's path and line in every
message, and writes it back in the same shape.

An item is split into *fields* (what the ``Project`` model has columns for) and
*extra* (every other key, kept verbatim so a round trip loses nothing). Keys that
the source gives with a null value are kept in *extra* too, so that they come
back as they were.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

MATURITIES = ("foundation", "graduated", "incubating", "sandbox", "archived")

# landscape2's documented item keys, in the order its data.yml lists them; the export
# writes items in this order, then any keys it does not know in the order first seen.
ITEM_KEY_ORDER = (
    "name",
    "description",
    "homepage_url",
    "logo",
    "second_path",
    "project",
    "joined",
    "repo_url",
    "branch",
    "additional_repos",
    "crunchbase",
    "twitter",
    "organization",
    "url_for_bestpractices",
    "enduser",
    "extra",
)
_URL_KEYS = ("homepage_url", "repo_url", "twitter", "crunchbase", "url_for_bestpractices")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class LandscapeFormatError(ValueError):
    """A malformed landscape file; the message names the item path and the line."""

    def __init__(self, message: str, *, path: str = "", line: int | None = None) -> None:
        # A huge offending value must not make a huge message.
        message = message if len(message) <= 500 else message[:500] + "…"
        self.path = path
        self.line = line
        where = " › ".join(p for p in [path] if p)
        location = f" (line {line})" if line else ""
        super().__init__(f"{where}{location}: {message}" if where else f"{message}{location}")


@dataclass
class ItemData:
    path: str  # "Category › Subcategory › Item"
    line: int | None
    fields: dict[str, Any]
    extra: dict[str, Any]
    second_path: list[tuple[str, str]]


@dataclass
class SubcategoryData:
    name: str
    line: int | None
    items: list[ItemData] = field(default_factory=list)


@dataclass
class CategoryData:
    name: str
    line: int | None
    subcategories: list[SubcategoryData] = field(default_factory=list)


# --- YAML loading with line numbers ---------------------------------------------------


class _LineDict(dict):
    line: int | None = None


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that remembers each mapping's line and refuses duplicate keys (libyaml's
    parser where PyYAML has it: a 100,000-entry file parses in seconds, not minutes)."""


# Dates stay strings: landscape2 writes them as 'YYYY-MM-DD' and so must we.
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise LandscapeFormatError(
                f"keys must be text, found {key!r}", line=key_node.start_mark.line + 1
            )
        if key in result:
            raise LandscapeFormatError(f"duplicate key {key!r}", line=key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> str:
    """Text the database can hold: no NUL character, no lone surrogate (YAML's escapes
    "\\0" and "\\uD800" produce both; PostgreSQL refuses them)."""
    value = loader.construct_scalar(node)
    if "\x00" in value:
        raise LandscapeFormatError(
            "text must not contain NUL characters", line=node.start_mark.line + 1
        )
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise LandscapeFormatError(
            "text must be valid Unicode (a lone surrogate was found)", line=node.start_mark.line + 1
        )
    return value


_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def _line(obj: Any) -> int | None:
    return getattr(obj, "line", None)


# --- URL helpers -------------------------------------------------------------------------


def url_problem(value: Any) -> str | None:
    """Why ``value`` is no URL an entry may link to (the model fields' rule), or None."""
    from django.core.exceptions import ValidationError

    from projects.validators import validate_public_url

    if not isinstance(value, str) or not value.strip():
        return "an http(s) URL is required"
    try:
        validate_public_url(value.strip())
    except ValidationError as exc:
        return exc.messages[0]
    return None


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an entry (the model field's rule), or None."""
    from django.core.exceptions import ValidationError

    from projects.validators import validate_entry_name

    try:
        validate_entry_name(name)
    except ValidationError as exc:
        return exc.messages[0]
    return None


def is_http_url(value: Any) -> bool:
    return url_problem(value) is None


def normalize_repo_url(url: str) -> str:
    """The canonical form of a repository URL: lower-case scheme and host, no .git or slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def repository_key(url: str) -> str:
    """What every URL of one repository shares: its normal form without case, ``www.``
    or the difference between http and https (forges answer both, and GitHub and GitLab
    read owner and name without case). Two entries with one key list one repository."""
    rest = normalize_repo_url(url).lower().partition("://")[2]
    return "https://" + rest.removeprefix("www.")


# --- Parsing -------------------------------------------------------------------------------


def parse_landscape(text: str) -> list[CategoryData]:
    """Parse and validate a landscape2 data file; raise LandscapeFormatError on any fault."""
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except LandscapeFormatError:
        raise
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise LandscapeFormatError(f"YAML syntax error: {exc.problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise LandscapeFormatError(f"YAML error: {exc}") from exc
    if not isinstance(doc, dict):
        raise LandscapeFormatError("the file must be a mapping with a 'landscape' list", line=1)
    top = doc.get("landscape", doc.get("categories"))
    if not isinstance(top, list):
        raise LandscapeFormatError(
            "the file must have a 'landscape' (or 'categories') list", line=_line(doc)
        )

    categories: list[CategoryData] = []
    seen_categories: set[str] = set()
    for raw_cat in top:
        cat_name = _level_name(raw_cat, "category", "")
        if cat_name in seen_categories:
            raise LandscapeFormatError("category listed twice", path=cat_name, line=_line(raw_cat))
        seen_categories.add(cat_name)
        cat = CategoryData(name=cat_name, line=_line(raw_cat))
        subs = raw_cat.get("subcategories")
        if not isinstance(subs, list):
            raise LandscapeFormatError(
                "'subcategories' must be a list", path=cat_name, line=_line(raw_cat)
            )
        seen_subs: set[str] = set()
        for raw_sub in subs:
            sub_name = _level_name(raw_sub, "subcategory", cat_name)
            sub_path = f"{cat_name} › {sub_name}"
            if sub_name in seen_subs:
                raise LandscapeFormatError(
                    "subcategory listed twice", path=sub_path, line=_line(raw_sub)
                )
            seen_subs.add(sub_name)
            sub = SubcategoryData(name=sub_name, line=_line(raw_sub))
            items = raw_sub.get("items")
            if items is None:
                items = []
            if not isinstance(items, list):
                raise LandscapeFormatError(
                    "'items' must be a list", path=sub_path, line=_line(raw_sub)
                )
            for raw_item in items:
                sub.items.append(_parse_item(raw_item, sub_path, _line(raw_sub)))
            cat.subcategories.append(sub)
        categories.append(cat)

    _check_across_items(categories)
    return categories


def _level_name(raw: Any, level: str, parent_path: str) -> str:
    if not isinstance(raw, dict):
        raise LandscapeFormatError(
            f"each {level} must be a mapping, found {type(raw).__name__}", path=parent_path
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LandscapeFormatError(f"{level} without a name", path=parent_path, line=_line(raw))
    if "/" in name:
        raise LandscapeFormatError(
            f"{level} name must not contain '/'", path=parent_path, line=_line(raw)
        )
    if len(name.strip()) > 200:
        raise LandscapeFormatError(
            f"{level} name is longer than 200 characters", path=parent_path, line=_line(raw)
        )
    return name.strip()


def _parse_item(raw: Any, sub_path: str, sub_line: int | None) -> ItemData:
    if not isinstance(raw, dict):
        raise LandscapeFormatError(
            f"each item must be a mapping, found {type(raw).__name__}", path=sub_path, line=sub_line
        )
    line = _line(raw)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LandscapeFormatError("item without a name", path=sub_path, line=line)
    path = f"{sub_path} › {name if len(name) <= 200 else name[:80] + '…'}"

    def fail(message: str) -> LandscapeFormatError:
        return LandscapeFormatError(message, path=path, line=line)

    if len(name) > 200:
        raise fail("name is longer than 200 characters")
    if problem := name_problem(name):
        raise fail(problem)
    if (where := _non_finite_number(raw)) is not None:
        # YAML's .inf and .nan: JSON (and so PostgreSQL's jsonb) has no such numbers.
        raise fail(f"{where} is .inf or .nan, which a landscape value cannot be")
    if "homepage_url" not in raw or raw["homepage_url"] in (None, ""):
        raise fail("homepage_url is required")
    for key in _URL_KEYS:
        value = raw.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise fail(f"{key} must be text, found {type(value).__name__}")
        if problem := url_problem(value):
            raise fail(
                f"{key} must be an http(s) URL without credentials to a public host, found "
                f"{value!r} ({problem})"
            )
        if len(value.strip()) > 500:
            raise fail(f"{key} is longer than 500 characters")

    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise fail(f"description must be text, found {type(description).__name__}")
    maturity = raw.get("project")
    if maturity is not None and maturity not in MATURITIES:
        raise fail(f"project (maturity) must be one of {', '.join(MATURITIES)}, found {maturity!r}")
    logo = raw.get("logo")
    if logo is not None and (not isinstance(logo, str) or "/" in logo or logo.startswith(".")):
        raise fail(f"logo must be a plain file name, found {logo!r}")
    for key in ("branch", "joined"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise fail(f"{key} must be text, found {type(raw[key]).__name__}")
    if raw.get("joined") and not _DATE_RE.match(raw["joined"]):
        raise fail(f"joined must be a date as YYYY-MM-DD, found {raw['joined']!r}")
    if "enduser" in raw and raw["enduser"] is not None and not isinstance(raw["enduser"], bool):
        raise fail("enduser must be true or false")

    second_path = _parse_second_path(raw.get("second_path"), fail)
    additional_repos = raw.get("additional_repos")
    if additional_repos is not None:
        if not isinstance(additional_repos, list):
            raise fail("additional_repos must be a list")
        for repo in additional_repos:
            if not isinstance(repo, dict) or not is_http_url(repo.get("repo_url")):
                raise fail("each additional_repos entry needs an http(s) repo_url on a public host")

    organization = raw.get("organization")
    if "organization" in raw and (
        not isinstance(organization, dict) or not isinstance(organization.get("name"), str)
    ):
        raise fail("organization must be a mapping with a name")
    if len(organization["name"] if organization else "") > 200:
        raise fail("organization name is longer than 200 characters")
    if len(raw.get("branch") or "") > 200:
        raise fail("branch is longer than 200 characters")

    item_extra = raw.get("extra")
    if item_extra is not None and not isinstance(item_extra, dict):
        raise fail(f"extra must be a mapping, found {type(item_extra).__name__}")
    item_extra = dict(item_extra or {})
    for key in ("accepted", "archived", "graduated", "incubating"):
        value = item_extra.get(key)
        if value is not None and (not isinstance(value, str) or not _DATE_RE.match(value)):
            raise fail(f"extra.{key} must be a date as YYYY-MM-DD, found {value!r}")
    if item_extra.get("accepted"):
        _check_date(item_extra["accepted"], fail, "extra.accepted")
    if raw.get("joined"):
        _check_date(raw["joined"], fail, "joined")
    other_links = item_extra.get("other_links")
    links_ok = isinstance(other_links, list) and all(
        isinstance(o, dict) and is_http_url(o.get("url")) for o in other_links
    )
    if other_links is not None and not links_ok:
        raise fail(
            "extra.other_links must be a list of {name, url} with http(s) URLs to public hosts"
        )
    for key, value in item_extra.items():
        if key.endswith("_url") and value not in (None, "") and (problem := url_problem(value)):
            raise fail(
                f"extra.{key} must be an http(s) URL without credentials to a public host, "
                f"found {value!r} ({problem})"
            )
    if len(str(item_extra.get("documentation_url") or "")) > 500:
        raise fail("extra.documentation_url is longer than 500 characters")
    if isinstance(logo, str) and len(logo) > 90:
        raise fail("logo file name is longer than 90 characters")
    tags = item_extra.get("summary_tags")
    if tags is not None and not isinstance(tags, str):
        raise fail("extra.summary_tags must be comma-separated text")

    fields, extra = split_item(raw)
    return ItemData(path=path, line=line, fields=fields, extra=extra, second_path=second_path)


def _non_finite_number(value: Any, where: str = "") -> str | None:
    """The key path of the first infinite or not-a-number float in ``value``, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "a value"
    if isinstance(value, dict):
        children = ((f"{where}.{key}" if where else str(key), v) for key, v in value.items())
    elif isinstance(value, list):
        children = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for path, child in children:
        if (found := _non_finite_number(child, path)) is not None:
            return found
    return None


def _check_date(value: str, fail: Any, key: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise fail(f"{key} is not a real date: {value!r}") from None


def _parse_second_path(value: Any, fail: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail("second_path must be a list of 'Category / Subcategory'")
    result = []
    for entry in value:
        if not isinstance(entry, str) or entry.count("/") != 1:
            raise fail(f"second_path entry must read 'Category / Subcategory', found {entry!r}")
        cat, sub = (part.strip() for part in entry.split("/"))
        result.append((cat, sub))
    return result


def _check_across_items(categories: list[CategoryData]) -> None:
    known = {(c.name, s.name) for c in categories for s in c.subcategories}
    names: dict[str, str] = {}
    repos: dict[str, str] = {}
    for cat in categories:
        for sub in cat.subcategories:
            for item in sub.items:
                name = item.fields["name"]
                if name.casefold() in names:
                    raise LandscapeFormatError(
                        f"the name {name!r} is already used by {names[name.casefold()]}",
                        path=item.path,
                        line=item.line,
                    )
                names[name.casefold()] = item.path
                repo = item.fields.get("repo_url")
                if repo:
                    if repo in repos:
                        raise LandscapeFormatError(
                            f"repo_url {repo} is already used by {repos[repo]}",
                            path=item.path,
                            line=item.line,
                        )
                    repos[repo] = item.path
                for pair in item.second_path:
                    if pair not in known:
                        raise LandscapeFormatError(
                            f"second_path names an unknown category {' / '.join(pair)!r}",
                            path=item.path,
                            line=item.line,
                        )


# --- Item <-> model fields -------------------------------------------------------------------


def split_item(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split one raw item into model field values and the keys kept verbatim."""
    item = {k: v for k, v in raw.items() if k != "item"}
    extra: dict[str, Any] = {}
    fields: dict[str, Any] = {
        "name": item.pop("name").strip(),
        "description": "",
        "homepage_url": item.pop("homepage_url").strip(),
        "repo_url": None,
        "repo_branch": "",
        "additional_repos": [],
        "documentation_url": "",
        "other_links": [],
        "tags": [],
        "maturity": "",
        "accepted_at": None,
        "joined_at": None,
        "organization": "",
        "twitter_url": "",
        "crunchbase_url": "",
        "logo_name": "",
    }

    def take(key: str, field_name: str, transform: Any = None) -> None:
        if key not in item:
            return
        value = item.pop(key)
        if value is None or value == "" or value == []:
            extra[key] = value  # keep "present but empty" for the round trip
            return
        fields[field_name] = transform(value) if transform else value

    take("description", "description")
    take("repo_url", "repo_url", normalize_repo_url)
    take("branch", "repo_branch")
    take("additional_repos", "additional_repos")
    take("project", "maturity")
    take("joined", "joined_at")
    take("twitter", "twitter_url", str.strip)
    take("crunchbase", "crunchbase_url", str.strip)
    take("logo", "logo_name")
    if "organization" in item:
        org = dict(item.pop("organization"))
        fields["organization"] = org.pop("name")
        if org:
            extra["organization"] = org
    item.pop("second_path", None)  # resolved to categories by the caller

    item_extra = dict(item.pop("extra", None) or {})
    had_extra = "extra" in raw
    if item_extra.get("accepted"):
        fields["accepted_at"] = item_extra.pop("accepted")
    if item_extra.get("documentation_url"):
        fields["documentation_url"] = item_extra.pop("documentation_url")
    if item_extra.get("other_links"):
        fields["other_links"] = item_extra.pop("other_links")
    if item_extra.get("summary_tags"):
        fields["tags"] = [t.strip() for t in item_extra.pop("summary_tags").split(",") if t.strip()]
    if item_extra or (had_extra and not raw.get("extra")):
        extra["extra"] = item_extra
    # Whatever else the item carries is kept as it came.
    extra.update(item)
    return fields, extra


def join_item(
    fields: dict[str, Any], extra: dict[str, Any], second_path: list[str]
) -> dict[str, Any]:
    """The inverse of split_item: one landscape2 item from field values and kept keys."""
    out: dict[str, Any] = {}
    kept = dict(extra)

    def put(key: str, value: Any) -> None:
        if value not in (None, "", []):
            out[key] = value
        elif key in kept:
            out[key] = kept[key]
        kept.pop(key, None)

    put("name", fields["name"])
    put("description", fields.get("description"))
    put("homepage_url", fields["homepage_url"])
    put("logo", fields.get("logo_name"))
    put("second_path", second_path)
    put("project", fields.get("maturity"))
    put("joined", _iso(fields.get("joined_at")))
    put("repo_url", fields.get("repo_url"))
    put("branch", fields.get("repo_branch"))
    put("additional_repos", fields.get("additional_repos"))
    put("crunchbase", fields.get("crunchbase_url"))
    put("twitter", fields.get("twitter_url"))
    if fields.get("organization"):
        out["organization"] = {"name": fields["organization"], **kept.pop("organization", {})}
    item_extra = dict(kept.pop("extra", None) or {})
    if fields.get("accepted_at"):
        item_extra["accepted"] = _iso(fields["accepted_at"])
    if fields.get("documentation_url"):
        item_extra["documentation_url"] = fields["documentation_url"]
    if fields.get("other_links"):
        item_extra["other_links"] = fields["other_links"]
    if fields.get("tags"):
        item_extra["summary_tags"] = ", ".join(fields["tags"])
    if item_extra or "extra" in extra:
        out["extra"] = _sorted_extra(item_extra)
    out.update(kept)
    order = {key: i for i, key in enumerate(ITEM_KEY_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


def _sorted_extra(extra: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(extra.items()))


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


# --- Writing --------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent lists under their key, as landscape2's files are written.
        return super().increase_indent(flow, False)


def _represent_none(dumper: yaml.SafeDumper, _: None) -> yaml.ScalarNode:
    # landscape2 writes "category:" with nothing after it; an empty scalar is null too.
    return dumper.represent_scalar("tag:yaml.org,2002:null", "")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(type(None), _represent_none)
_Dumper.add_representer(str, _represent_str)


def _with_level_key(level: str, body: dict[str, Any]) -> dict[str, Any]:
    return {level: None, **body}


def dump_landscape(categories: list[dict[str, Any]]) -> str:
    """Write landscape2 YAML. ``categories``: [{name, subcategories: [{name, items: [item]}]}]."""
    doc = {
        "landscape": [
            _with_level_key(
                "category",
                {
                    "name": cat["name"],
                    "subcategories": [
                        _with_level_key(
                            "subcategory",
                            {
                                "name": sub["name"],
                                "items": [_with_level_key("item", item) for item in sub["items"]],
                            },
                        )
                        for sub in cat["subcategories"]
                    ],
                },
            )
            for cat in categories
        ]
    }
    return yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=10_000,
        indent=2,
    )


# --- Guide ------------------------------------------------------------------------------------


def parse_guide(text: str) -> dict[tuple[str, str | None], str]:
    """landscape2's guide.yml: {(category, None): text, (category, subcategory): text}."""
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise LandscapeFormatError(f"guide: YAML syntax error: {exc.problem}", line=line) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("categories"), list):
        raise LandscapeFormatError("guide: the file must have a 'categories' list")
    guide: dict[tuple[str, str | None], str] = {}
    for cat in doc["categories"]:
        if not isinstance(cat, dict) or not isinstance(cat.get("category"), str):
            raise LandscapeFormatError("guide: each entry needs a 'category' name", line=_line(cat))
        if isinstance(cat.get("content"), str):
            guide[(cat["category"], None)] = cat["content"].strip()
        for sub in cat.get("subcategories") or []:
            if isinstance(sub, dict) and isinstance(sub.get("subcategory"), str):
                guide[(cat["category"], sub["subcategory"])] = str(sub.get("content") or "").strip()
    return guide
