"""PostgreSQL triggers that keep ``api_entrybody``: every entry's JSON as the API's list
shows it to the public, written when the entry or anything it shows changes.

Why: a page of the public list by stars is then its Listing rows' ids and these stored
bodies joined with commas (api.public_list); nothing is built per entry on a read. The
bodies are kept the way projects_listing is kept (projects/facet_sql.py): statement-level
triggers on every table the representation reads, so no write path (admin, API, imports,
workers' ``update()`` calls, history reverts) can leave a body stale.

A body is ProjectSerializer's JSON for the entry, compact, with one thing left open: the
start of its URLs, SITE_URL (landscape.site; never the request's Host), which a deployment
may change without writing the bodies again. Each URL is stored as the ``ORIGIN`` marker
followed by its path, and the reader puts SITE_URL in its place. The paths around the
slug (the API's, the page's, the badge's, MEDIA_URL) are the ones reverse() gave when this
was installed (``api_entry_body_paths()``); the reader checks them against today's and
serves nothing from bodies if one differs. JSON escapes every control character inside
strings, so a marker byte can only come from here.
``plain`` is false for an entry whose body could not be written that way (a slug or logo
path that a URL would escape, links or tags of another shape than the serializer's plain
case): its pages are served by the serializer.
The migration api/0003 installs this; a change here needs a migration that installs it
again.
"""

from __future__ import annotations

import re

from api.entry_sql import _iso_utc
from landscape.postgresql import ALL_EVENTS, drop_triggers, statement_triggers

# Where a stored body's URLs start: the reader puts SITE_URL there.
ORIGIN = b"\x01"
# Paths (and an absolute MEDIA_URL) whose characters need no escaping in SQL, in JSON or in
# a URL; anything else is not baked into bodies (none is served from them).
_PLAIN_PATH = re.compile(r"[-a-zA-Z0-9_./~:]*")


def _text(expr: str) -> str:
    return f"COALESCE(to_json({expr})::text, 'null')"


def _int(expr: str) -> str:
    return f"COALESCE(({expr})::text, 'null')"


def _bool(expr: str) -> str:
    return f"CASE WHEN {expr} IS NULL THEN 'null' WHEN {expr} THEN 'true' ELSE 'false' END"


def _time(expr: str) -> str:
    return f"COALESCE('\"' || {_iso_utc(expr)} || '\"', 'null')"


def _url(start: int, expr: str) -> str:
    # The origin marker, the path before the slug, the slug, the path after it.
    return (
        f"'\"' || chr(1) || (api_entry_body_paths())[{start}] || {expr}"
        f" || (api_entry_body_paths())[{start + 1}] || '\"'"
    )


def _object(fields: list[tuple[str, str]]) -> str:
    """A compact JSON object from (key, SQL expression giving JSON text) pairs."""
    parts = [
        f"'{'{' if i == 0 else ','}\"{key}\":' || {expr}" for i, (key, expr) in enumerate(fields)
    ]
    return "(" + " || ".join(parts) + " || '}')"


def _array(element: str, source: str, order: str) -> str:
    aggregate = f"(SELECT string_agg({element}, ',' ORDER BY {order}) {source})"
    return f"('[' || COALESCE({aggregate}, '') || ']')"


def _category_ref(slug: str, name: str, pillar: str, primary: str) -> str:
    path = (
        f"CASE WHEN COALESCE({pillar}, '') <> '' THEN {pillar} || ' / ' || {name} ELSE {name} END"
    )
    return _object(
        [("slug", _text(slug)), ("name", _text(name)), ("path", _text(path)), ("primary", primary)]
    )


_REPOSITORY = _object(
    [
        ("url", _text("r.url")),
        ("stars", _int("r.stars")),
        ("forks", _int("r.forks")),
        ("open_issues", _int("r.open_issues")),
        ("pushed_at", _time("r.pushed_at")),
        ("last_release_at", _time("r.last_release_at")),
        ("archived", _bool("r.archived")),
        ("license", _text("r.license")),
        ("health", _text("r.health")),
        ("checked_at", _time("r.checked_at")),
    ]
)

_FINDING = _object(
    [
        ("id", _int("f.id")),
        ("kind", _text("f.kind")),
        ("subject", _text("f.subject")),
        ("state", _text("f.state")),
        ("evidence", "api_json_compact(f.evidence)"),
        ("suggestion", "api_json_compact(f.suggestion)"),
        ("first_seen", _time("f.first_seen")),
        ("last_seen", _time("f.last_seen")),
    ]
)

# Every character Python's str.strip() removes (Django's get_full_name() strips).
_WHITESPACE = (
    "U&'" + "".join(f"\\{ord(c):04x}" for c in map(chr, range(0x10000)) if c.isspace()) + "'"
)
_MAINTAINER_NAME = (
    f"COALESCE(NULLIF(btrim(u.first_name || ' ' || u.last_name, {_WHITESPACE}), ''), u.username)"
)

_LINKS = (
    "CASE WHEN p.other_links IS NULL OR jsonb_typeof(p.other_links) <> 'array' THEN 'null' ELSE "
    + _array(
        _object(
            [
                ("name", "COALESCE((l.value -> 'name')::text, 'null')"),
                ("url", "COALESCE((l.value -> 'url')::text, 'null')"),
            ]
        ),
        "FROM jsonb_array_elements(p.other_links) WITH ORDINALITY AS l(value, n)",
        "l.n",
    )
    + " END"
)

_TAGS = (
    "CASE WHEN p.tags IS NULL OR jsonb_typeof(p.tags) <> 'array' THEN 'null' ELSE "
    + _array(
        "t.value::text", "FROM jsonb_array_elements(p.tags) WITH ORDINALITY AS t(value, n)", "t.n"
    )
    + " END"
)

_ODD_NUMBER = """'$.** ? (@.type() == "number" && (@ != @.floor() || @.abs() >= 1e15))'"""

# The serializer's plain case; anything else is served by the serializer itself.
_PLAIN = f"""(
    p.slug ~ '^[-a-zA-Z0-9_]+$'
    AND (p.logo = '' OR p.logo ~ '^[A-Za-z0-9_][-A-Za-z0-9_.]*(/[A-Za-z0-9_][-A-Za-z0-9_.]*)*$')
    AND (p.tags IS NULL OR jsonb_typeof(p.tags) = 'null' OR (jsonb_typeof(p.tags) = 'array'
         AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p.tags) t(value)
                         WHERE jsonb_typeof(t.value) NOT IN ('string', 'null'))))
    AND (p.other_links IS NULL OR jsonb_typeof(p.other_links) = 'null'
         OR (jsonb_typeof(p.other_links) = 'array'
         AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p.other_links) l(value)
                         WHERE jsonb_typeof(l.value) <> 'object'
                            OR NOT (l.value ? 'name' AND l.value ? 'url')
                            OR jsonb_typeof(l.value -> 'name') NOT IN ('string', 'null')
                            OR jsonb_typeof(l.value -> 'url') NOT IN ('string', 'null'))))
    -- Numbers in findings that Python would write otherwise than jsonb keeps them (a
    -- fraction: 0.00000015 is 1.5e-07 once read as a float; very large values).
    AND NOT EXISTS (SELECT 1 FROM projects_finding f
                     WHERE f.project_id = p.id AND f.state = 'open'
                       AND (jsonb_path_exists(f.evidence, {_ODD_NUMBER})
                            OR jsonb_path_exists(f.suggestion, {_ODD_NUMBER})))
)"""

_BODY = _object(
    [
        ("slug", _text("p.slug")),
        ("name", _text("p.name")),
        ("url", _url(1, "p.slug")),
        ("html_url", _url(3, "p.slug")),
        ("description", _text("p.description")),
        ("homepage_url", _text("NULLIF(p.homepage_url, '')")),
        ("repo_url", _text("NULLIF(p.repo_url, '')")),
        ("documentation_url", _text("NULLIF(p.documentation_url, '')")),
        ("other_links", _LINKS),
        ("tags", _TAGS),
        ("twitter_url", _text("NULLIF(p.twitter_url, '')")),
        ("category", _text("c.slug")),
        (
            "categories",
            "('[' || "
            + _category_ref("c.slug", "c.name", "pc.name", "'true'")
            + " || COALESCE((SELECT string_agg(',' || "
            + _category_ref("sc_c.slug", "sc_c.name", "sc_p.name", "'false'")
            + ", '' ORDER BY sc.position, sc.id) FROM projects_secondarycategory sc"
            " JOIN projects_category sc_c ON sc_c.id = sc.category_id"
            " LEFT JOIN projects_category sc_p ON sc_p.id = sc_c.parent_id"
            " WHERE sc.project_id = p.id), '') || ']')",
        ),
        ("maturity", _text("NULLIF(p.maturity, '')")),
        ("health", _text("p.health")),
        ("publication", _text("p.publication")),
        (
            "repository",
            f"COALESCE((SELECT {_REPOSITORY} FROM projects_repositorystatus r"
            " WHERE r.project_id = p.id AND r.is_primary ORDER BY r.id LIMIT 1), 'null')",
        ),
        (
            "findings",
            _array(
                _FINDING,
                "FROM projects_finding f WHERE f.project_id = p.id AND f.state = 'open'",
                "f.last_seen DESC, f.id",
            ),
        ),
        (
            "maintainers",
            _array(
                _object([("name", _text(_MAINTAINER_NAME)), ("role", _text("m.role"))]),
                "FROM projects_maintainer m JOIN auth_user u ON u.id = m.user_id"
                " WHERE m.project_id = p.id",
                "m.id",
            ),
        ),
        (
            "logo_url",
            # MEDIA_URL, after the origin when it is a path (not when it names a host).
            "CASE WHEN COALESCE(p.logo, '') = '' THEN 'null' ELSE '\"'"
            " || CASE WHEN left((api_entry_body_paths())[7], 1) = '/' THEN chr(1) ELSE '' END"
            " || (api_entry_body_paths())[7] || p.logo || '\"' END",
        ),
        ("badge_url", _url(5, "p.slug")),
        ("created", _time("p.created")),
        ("updated", _time("p.updated")),
    ]
)


# An entry (p), its category (c) and that category's pillar (pc), as a body reads them.
_ENTRY = """projects_project p
          JOIN projects_category c ON c.id = p.category_id
          LEFT JOIN projects_category pc ON pc.id = c.parent_id"""

# The entry columns a body shows, read off the SQL that writes it (so that the two cannot
# drift apart): an UPDATE that changes none of them (a refresh's copy of stars or last
# activity) leaves the body alone.
_SHOWN = sorted(set(re.findall(r"\bp\.(\w+)", _ENTRY + _PLAIN + _BODY)) - {"id"})


def _changed(columns: list[str]) -> str:
    return "({}) IS DISTINCT FROM ({})".format(
        ", ".join(f"o.{c}" for c in columns), ", ".join(f"n.{c}" for c in columns)
    )


FUNCTIONS = f"""
-- jsonb as Python's json.dumps(..., separators=(",", ":")) writes what psycopg reads from it
-- (jsonb's own text has spaces after ',' and ':'); keys in jsonb's order, as psycopg reads them.
CREATE OR REPLACE FUNCTION api_json_compact(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'object' THEN '{{' || COALESCE((
            SELECT string_agg(to_json(e.key)::text || ':' || api_json_compact(e.value), ','
                              ORDER BY e.n)
              FROM jsonb_each(value) WITH ORDINALITY AS e(key, value, n)), '') || '}}'
        WHEN 'array' THEN '[' || COALESCE((
            SELECT string_agg(api_json_compact(e.value), ',' ORDER BY e.n)
              FROM jsonb_array_elements(value) WITH ORDINALITY AS e(value, n)), '') || ']'
        ELSE COALESCE(value::text, 'null')
    END
$$;

-- Write (or drop) the bodies of these entries. plpgsql: the session keeps the plan.
CREATE OR REPLACE FUNCTION api_entry_bodies_write(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO api_entrybody (project_id, plain, body)
    -- A body that came out NULL (a shape this SQL did not foresee) is never served.
    SELECT id, plain AND body IS NOT NULL, COALESCE(body, 'null') FROM (
        SELECT p.id, {_PLAIN} AS plain,
               -- DRF's JSONRenderer escapes these two (they end a line in JavaScript).
               replace(replace({_BODY}, U&'\\2028', '\\u2028'), U&'\\2029', '\\u2029') AS body
          FROM {_ENTRY}
         WHERE p.id = ANY(ids)
    ) written
    ON CONFLICT (project_id) DO UPDATE SET plain = EXCLUDED.plain, body = EXCLUDED.body
     WHERE (api_entrybody.plain, api_entrybody.body)
           IS DISTINCT FROM (EXCLUDED.plain, EXCLUDED.body);
    DELETE FROM api_entrybody b
     WHERE b.project_id = ANY(ids)
       AND NOT EXISTS (SELECT 1 FROM projects_project p WHERE p.id = b.project_id);
END
$$;

CREATE OR REPLACE FUNCTION api_entry_bodies_on_project() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM api_entry_bodies_write(ARRAY(SELECT id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM api_entrybody WHERE project_id IN (SELECT id FROM old_rows);
    ELSE
        PERFORM api_entry_bodies_write(ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {_changed(_SHOWN)}
        ));
    END IF;
    RETURN NULL;
END
$$;

-- Rows that belong to an entry (second_path rows, repositories, findings, maintainers).
CREATE OR REPLACE FUNCTION api_entry_bodies_on_part() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM api_entry_bodies_write(ARRAY(SELECT DISTINCT project_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM api_entry_bodies_write(ARRAY(SELECT DISTINCT project_id FROM old_rows));
    ELSE
        PERFORM api_entry_bodies_write(ARRAY(
            SELECT project_id FROM new_rows UNION SELECT project_id FROM old_rows
        ));
    END IF;
    RETURN NULL;
END
$$;

-- A category renamed, given another slug or moved: the entries listed in it or below it.
CREATE OR REPLACE FUNCTION api_entry_bodies_on_category() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM api_entry_bodies_write(ARRAY(
        WITH changed AS (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE {_changed(["slug", "name", "parent_id"])}
        ), shown AS (
            SELECT id FROM changed
            UNION SELECT c.id FROM projects_category c WHERE c.parent_id IN (SELECT id FROM changed)
        )
        SELECT p.id FROM projects_project p WHERE p.category_id IN (SELECT id FROM shown)
        UNION
        SELECT s.project_id FROM projects_secondarycategory s
         WHERE s.category_id IN (SELECT id FROM shown)
    ));
    RETURN NULL;
END
$$;

-- A page of the public list by stars (api.selectors.stored_page): a first row with the
-- count (FacetCount rows), then the page's bodies in order; no row at all when the category
-- slug names no category. ``healths`` filters (comma-separated; '': no filter); ``ranges``
-- are the health values (comma-separated) whose index ranges of Listing rows are merged,
-- each read no deeper than the page's end (as projects.selectors.listing_page_ids does).
CREATE OR REPLACE FUNCTION api_public_page(
    category text, healths text, ranges text, page_offset int, page_limit int
) RETURNS TABLE (total bigint, plain boolean, body text)
-- One plan for every call: left to choose, PostgreSQL plans these statements again on
-- each call (a custom plan for the values), which costs more than running them.
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    listed_in bigint := 0;
    kept text[] := string_to_array(NULLIF(healths, ''), ',');
BEGIN
    IF category <> '' THEN
        SELECT c.id INTO listed_in FROM projects_category c WHERE c.slug = category;
        IF NOT FOUND THEN
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
    SELECT COALESCE(SUM(f.n), 0)::bigint, NULL::boolean, NULL::text
      FROM projects_facetcount f
     WHERE f.category_id = listed_in AND f.all_licenses
       AND (kept IS NULL OR f.health = ANY(kept));
    RETURN QUERY
    SELECT NULL::bigint, b.plain, b.body
      FROM (
        SELECT r.project_id, r.stars_rank, r.name_key
          FROM unnest(string_to_array(ranges, ',')) AS h(health)
         CROSS JOIN LATERAL (
            SELECT l.project_id, l.stars_rank, l.name_key FROM projects_listing l
             WHERE l.category_id = listed_in AND l.health = h.health
             ORDER BY l.stars_rank DESC, l.name_key, l.project_id
             LIMIT page_offset + page_limit
         ) r
         ORDER BY r.stars_rank DESC, r.name_key, r.project_id
         LIMIT page_limit OFFSET page_offset
      ) page
      JOIN api_entrybody b ON b.project_id = page.project_id
     ORDER BY page.stars_rank DESC, page.name_key, page.project_id;
END
$$;

-- A maintainer's name changed: the entries they maintain.
CREATE OR REPLACE FUNCTION api_entry_bodies_on_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM api_entry_bodies_write(ARRAY(
        SELECT DISTINCT m.project_id FROM projects_maintainer m
          JOIN new_rows n ON n.id = m.user_id JOIN old_rows o ON o.id = n.id
         WHERE {_changed(["first_name", "last_name", "username"])}
    ));
    RETURN NULL;
END
$$;
"""

_PARTS = [
    "projects_secondarycategory",
    "projects_repositorystatus",
    "projects_finding",
    "projects_maintainer",
]


# (table, trigger function, trigger name prefix, events)
_TRIGGERS = [
    ("projects_project", "api_entry_bodies_on_project", "api_body_projects_project", ALL_EVENTS),
    *((table, "api_entry_bodies_on_part", f"api_body_{table}", ALL_EVENTS) for table in _PARTS),
    ("projects_category", "api_entry_bodies_on_category", "api_body_category", ("UPDATE",)),
    ("auth_user", "api_entry_bodies_on_user", "api_body_user", ("UPDATE",)),
]
TRIGGERS = "".join(statement_triggers(*trigger) for trigger in _TRIGGERS)


def url_paths() -> list[str] | None:
    """What an entry's URLs hold around its slug today, as absolute URLs put them after
    SITE_URL: the API's before and after, the page's, the badge's,
    then MEDIA_URL (before a logo's name). None when one is not a plain path."""
    from api.serializers import _LOGO_STORAGE, _SLUG_PLACEHOLDER, ProjectRepresentation

    urls = ProjectRepresentation(None)  # no request: relative URLs
    parts = (urls.url_parts, urls.html_url_parts, urls.badge_url_parts)
    media, found, after = _LOGO_STORAGE.url(_SLUG_PLACEHOLDER).rpartition(_SLUG_PLACEHOLDER)
    if None in parts or not found or after:
        return None
    paths = [*parts[0], *parts[1], *parts[2], media]
    return paths if all(_PLAIN_PATH.fullmatch(p) for p in paths) else None


def install_sql() -> str:
    """Everything, with today's URL paths baked in (NULL when they are not plain: every
    body is then not ``plain``), and the bodies of the entries already there."""
    paths = url_paths()
    baked = ", ".join(f"'{p}'" for p in paths) if paths else ", ".join(["NULL"] * 7)
    return f"""
CREATE OR REPLACE FUNCTION api_entry_body_paths() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[{baked}]::text[] $$;
{FUNCTIONS}
{TRIGGERS}
SELECT api_entry_bodies_write(ARRAY(SELECT id FROM projects_project));
"""


UNINSTALL = (
    "".join(drop_triggers(table, prefix, events) for table, _, prefix, events in _TRIGGERS)
    + """
DROP FUNCTION IF EXISTS api_entry_bodies_on_user();
DROP FUNCTION IF EXISTS api_entry_bodies_on_category();
DROP FUNCTION IF EXISTS api_entry_bodies_on_part();
DROP FUNCTION IF EXISTS api_entry_bodies_on_project();
DROP FUNCTION IF EXISTS api_entry_bodies_write(bigint[]);
DROP FUNCTION IF EXISTS api_json_compact(jsonb);
DROP FUNCTION IF EXISTS api_public_page(text, text, text, int, int);
DROP FUNCTION IF EXISTS api_entry_body_paths();
"""
)
