"""PostgreSQL functions and triggers that keep ``projects_listing`` and
``projects_facetcount`` exact.

Why triggers rather than Python: every path that writes entries (the admin, the API,
imports with bulk writes, the workers' ``update()`` calls, history reverts, moderation)
would have to remember to adjust them; the database sees all of them, inside the
writing transaction, so neither can drift from the entries.

A published entry has one Listing row per category it is listed in: its own category
(``via_primary``), that category's pillar, each second_path category and its pillar,
and category 0 (the whole directory), each with the entry's health, maturity, license,
open-findings flag, stars and name. FacetCount holds those rows counted by key, and once
more with license '' in the ``all_licenses`` rows (what counts that ignore licenses read).

The Listing rows are also the record of what an entry contributed: when entries change,
their old rows are counted out and deleted, new rows are written and counted in. Every
trigger is statement-level, so a bulk write of 100,000 entries or second_path rows costs a
few set-based statements, not one per row.
"""

from __future__ import annotations

from landscape.postgresql import drop_triggers, statement_triggers

FACET_KEY = "category_id, via_primary, health, maturity, license, has_findings, all_licenses"
LISTING_COLUMNS = (
    "category_id, via_primary, project_id, health, maturity, license, has_findings,"
    " stars_rank, name_key"
)
# The entry columns that decide where it is listed and how it is counted: an UPDATE that
# changes one of them takes its Listing rows out and puts them back, counted again.
_FACETED = ["category_id", "publication", "health", "maturity", "license", "has_open_findings"]
# The columns Listing rows only sort by: a change to these alone (a refresh's new star count,
# the most frequent write) updates the rows in place and leaves FacetCount alone, whose few
# rows (the directory's, each pillar's) every entry shares.
_ORDERED = ["name", "stars"]


def _distinct(columns: list[str]) -> str:
    return "({}) IS DISTINCT FROM ({})".format(
        ", ".join(f"o.{c}" for c in columns), ", ".join(f"n.{c}" for c in columns)
    )


# Lists of entries by stars through the ORM (staff, searches, other filters).
STARS_INDEX = """
CREATE INDEX IF NOT EXISTS project_stars_order ON projects_project
    (stars DESC NULLS LAST, lower(name), id) WHERE publication = 'published'
"""

FUNCTIONS = f"""
-- Count the Listing rows of these entries into FacetCount (sign 1) or out of it (-1).
-- plpgsql, not sql: a plpgsql function keeps its statements' plans for the session, where
-- an sql function plans them again on every call (milliseconds per written entry).
CREATE OR REPLACE FUNCTION projects_facets_count(ids bigint[], sign int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO projects_facetcount AS f ({FACET_KEY}, n)
    SELECT l.category_id, l.via_primary, l.health, l.maturity,
           CASE WHEN a.all_licenses THEN '' ELSE l.license END,
           l.has_findings, a.all_licenses, sign * count(*)::int
      FROM projects_listing l
      JOIN unnest(ids) AS x (id) ON l.project_id = x.id
     CROSS JOIN (VALUES (FALSE), (TRUE)) AS a (all_licenses)
     GROUP BY 1, 2, 3, 4, 5, 6, 7
     ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ({FACET_KEY}) DO UPDATE SET n = f.n + EXCLUDED.n;
END
$$;

-- Take these entries out: their rows counted out, then deleted.
CREATE OR REPLACE FUNCTION projects_listing_retract(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM projects_facets_count(ids, -1);
    DELETE FROM projects_listing l USING unnest(ids) AS x (id) WHERE l.project_id = x.id;
END
$$;

-- Put these entries in as they are now (published ones only), and count them.
CREATE OR REPLACE FUNCTION projects_listing_add(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO projects_listing ({LISTING_COLUMNS})
    WITH p AS (
        SELECT e.* FROM projects_project e JOIN unnest(ids) AS x (id) ON e.id = x.id
         WHERE e.publication = 'published'
    ), m AS (
        SELECT p.id, p.category_id AS c, TRUE AS v FROM p
        UNION ALL
        SELECT p.id, cat.parent_id, FALSE FROM p
          JOIN projects_category cat ON cat.id = p.category_id
         WHERE cat.parent_id IS NOT NULL
        UNION ALL
        SELECT sc.project_id, sc.category_id, FALSE FROM projects_secondarycategory sc
          JOIN p ON p.id = sc.project_id
        UNION ALL
        SELECT sc.project_id, cat.parent_id, FALSE FROM projects_secondarycategory sc
          JOIN p ON p.id = sc.project_id
          JOIN projects_category cat ON cat.id = sc.category_id
         WHERE cat.parent_id IS NOT NULL
        UNION ALL
        SELECT p.id, 0, FALSE FROM p
    ), memberships AS (
        SELECT id, c, bool_or(v) AS v FROM m GROUP BY id, c
    )
    SELECT mm.c, mm.v, p.id, p.health, p.maturity, p.license, p.has_open_findings,
           COALESCE(p.stars, -1), lower(p.name)
      FROM memberships mm JOIN p ON p.id = mm.id;
    PERFORM projects_facets_count(ids, 1);
END
$$;

CREATE OR REPLACE FUNCTION projects_facets_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM projects_facetcount;
    DELETE FROM projects_listing;
    PERFORM projects_listing_add(ARRAY(SELECT id FROM projects_project));
END
$$;

CREATE OR REPLACE FUNCTION projects_listing_on_project() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM projects_listing_add(ARRAY(SELECT id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM projects_listing_retract(ARRAY(SELECT id FROM old_rows));
    ELSE
        ids := ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE {_distinct(_FACETED)}
        );
        IF cardinality(ids) > 0 THEN
            PERFORM projects_listing_retract(ids);
            PERFORM projects_listing_add(ids);
        END IF;
        UPDATE projects_listing l
           SET stars_rank = COALESCE(n.stars, -1), name_key = lower(n.name)
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE l.project_id = n.id AND {_distinct(_ORDERED)} AND NOT n.id = ANY(ids);
    END IF;
    RETURN NULL;
END
$$;

-- second_path rows: the entries they belong to are listed again.
CREATE OR REPLACE FUNCTION projects_listing_on_secondary() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT DISTINCT project_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT DISTINCT project_id FROM old_rows);
    ELSE
        ids := ARRAY(
            SELECT project_id FROM new_rows UNION SELECT project_id FROM old_rows
        );
    END IF;
    PERFORM projects_listing_retract(ids);
    PERFORM projects_listing_add(ids);
    RETURN NULL;
END
$$;

-- A subcategory moved to another pillar changes many entries' pillar: list all again.
CREATE OR REPLACE FUNCTION projects_listing_on_category() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM projects_facets_rebuild();
    RETURN NULL;
END
$$;

"""  # noqa: S608 - fixed table and column names: no input reaches this SQL

TRIGGERS = (
    statement_triggers("projects_project", "projects_listing_on_project", "projects_listing")
    + statement_triggers(
        "projects_secondarycategory", "projects_listing_on_secondary", "projects_listing_secondary"
    )
    + "CREATE TRIGGER projects_listing_category AFTER UPDATE OF parent_id ON projects_category"
    " FOR EACH STATEMENT EXECUTE FUNCTION projects_listing_on_category();\n"
)

INSTALL = f"""
{FUNCTIONS}
{TRIGGERS}
SELECT projects_facets_rebuild();
{STARS_INDEX};
"""

UNINSTALL = (
    "DROP INDEX IF EXISTS project_stars_order;\n"
    + drop_triggers("projects_project", "projects_listing")
    + drop_triggers("projects_secondarycategory", "projects_listing_secondary")
    + """DROP TRIGGER IF EXISTS projects_listing_category ON projects_category;
DROP FUNCTION IF EXISTS projects_listing_on_category();
DROP FUNCTION IF EXISTS projects_listing_on_secondary();
DROP FUNCTION IF EXISTS projects_listing_on_project();
DROP FUNCTION IF EXISTS projects_facets_rebuild();
DROP FUNCTION IF EXISTS projects_listing_add(bigint[]);
DROP FUNCTION IF EXISTS projects_listing_retract(bigint[]);
DROP FUNCTION IF EXISTS projects_facets_count(bigint[], int);
"""
)
