"""The PostgreSQL function behind a page of the API's list (api.selectors.entry_rows).

``api_entry_rows(ids)`` gives one JSON array per entry: its own columns, its categories,
its primary repository, its open findings and its maintainers, everything
ProjectSerializer shows, in one statement instead of model instances and four prefetch
queries. It is plpgsql so that each database session plans the statement once: planning
it costs more than running it for a page of 50. Timestamps are written as DRF writes them
when the current time zone is UTC (api.serializers.representations_from_rows checks it).
The migration api/0002 installs it; a change here needs a migration that installs it again.
"""


def _iso_utc(column: str) -> str:
    """``datetime.isoformat()`` in UTC with ``Z`` (microseconds only when there are some)."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE"
        f" to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN mod(date_part('microseconds', {column})::bigint, 1000000) = 0"
        f" THEN '' ELSE to_char({column} AT TIME ZONE 'UTC', '.US') END || 'Z' END"
    )


INSTALL = f"""
CREATE OR REPLACE FUNCTION api_entry_rows(ids bigint[]) RETURNS SETOF json
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  RETURN QUERY
  SELECT json_build_array(
    p.id, p.slug, p.name, p.description, p.homepage_url, p.repo_url, p.documentation_url,
    p.other_links, p.tags, p.twitter_url, c.slug, p.maturity, p.health, p.publication,
    p.logo, {_iso_utc("p.created")}, {_iso_utc("p.updated")}, c.name, pc.name,
    COALESCE((
      SELECT json_agg(json_build_array(sc_c.slug, sc_c.name, sc_p.name)
        ORDER BY sc.position, sc.id)
      FROM projects_secondarycategory sc
      JOIN projects_category sc_c ON sc_c.id = sc.category_id
      LEFT JOIN projects_category sc_p ON sc_p.id = sc_c.parent_id
      WHERE sc.project_id = p.id), '[]'::json),
    (SELECT json_build_array(r.url, r.stars, r.forks, r.open_issues,
            {_iso_utc("r.pushed_at")}, {_iso_utc("r.last_release_at")}, r.archived,
            r.license, r.health, {_iso_utc("r.checked_at")})
       FROM projects_repositorystatus r WHERE r.project_id = p.id AND r.is_primary
       ORDER BY r.id LIMIT 1),
    COALESCE((
      SELECT json_agg(json_build_array(f.id, f.kind, f.subject, f.state, f.evidence,
          f.suggestion, {_iso_utc("f.first_seen")}, {_iso_utc("f.last_seen")})
        ORDER BY f.last_seen DESC, f.id)
      FROM projects_finding f WHERE f.project_id = p.id AND f.state = 'open'), '[]'::json),
    COALESCE((
      SELECT json_agg(json_build_array(u.first_name, u.last_name, u.username, m.role)
        ORDER BY m.id)
      FROM projects_maintainer m JOIN auth_user u ON u.id = m.user_id
      WHERE m.project_id = p.id), '[]'::json))
  FROM projects_project p
  JOIN projects_category c ON c.id = p.category_id
  LEFT JOIN projects_category pc ON pc.id = c.parent_id
  WHERE p.id = ANY(ids);
END
$fn$;
"""  # noqa: S608 - formatted from constants only

UNINSTALL = "DROP FUNCTION IF EXISTS api_entry_rows(bigint[]);"
