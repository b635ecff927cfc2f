"""The PostgreSQL function behind an entry's page (projects.selectors.entry_page).

``projects_entry_page(slug, since, related_limit)`` gives, as one JSON object, every row
the page shows: the published entry with this slug, its category and pillar, its
second_path categories, maintainers (their user's id and names only), alternatives,
links, open findings, its primary repository and that repository's star counts since
``since``, and up to ``related_limit`` other entries of its category. NULL when no
published entry has the slug.

It reads what projects.selectors.project_for_page, primary_repository, star_series and
related_entries read with the ORM (nine queries, most of whose time went to compiling
them), in the same orders; tests/web/test_entry_page.py holds the two equal. It is
plpgsql so that each database session plans it once. Migrations projects/0008 and 0009
install it; a change here needs a migration that installs it again.
"""

_TILE = "p.id, p.name, p.slug, p.logo, p.health, p.maturity, p.category_id, p.position, p.stars"

INSTALL = f"""
CREATE OR REPLACE FUNCTION projects_entry_page(entry_slug text, since date, related_limit integer)
RETURNS json LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  e projects_project;
  c projects_category;
  tree bigint[];
  primary_id bigint;
  related jsonb;
  related_count integer;
BEGIN
  SELECT * INTO e FROM projects_project WHERE slug = entry_slug AND publication = 'published';
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT * INTO c FROM projects_category WHERE id = e.category_id;
  -- Related entries: those of the same subcategory, or of a pillar's whole tree when the
  -- entry is filed on the pillar itself, by primary category or through second_path.
  IF c.parent_id IS NULL THEN
    SELECT array_agg(id) INTO tree FROM projects_category WHERE id = c.id OR parent_id = c.id;
  ELSE
    tree := ARRAY[c.id];
  END IF;
  SELECT r.id INTO primary_id FROM projects_repositorystatus r
   WHERE r.project_id = e.id ORDER BY r.is_primary DESC, r.id LIMIT 1;
  -- Related entries, filed in the tree first: each category's first ones through its box
  -- index (project_box_order), rather than one IN list, which PostgreSQL would sort.
  SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.position, t.id), '[]'::jsonb), count(*)
    INTO related, related_count
    FROM (SELECT filed.* FROM unnest(tree) AS k(category_id), LATERAL (
            SELECT {_TILE} FROM projects_project p
             WHERE p.publication = 'published' AND p.category_id = k.category_id
               AND p.id <> e.id
             ORDER BY p.position, p.id LIMIT related_limit) filed
          ORDER BY position, id LIMIT related_limit) t;
  -- Then, only while there is room, those listed in the tree through second_path: a
  -- category can have hundreds of them, each read by id.
  IF related_count < related_limit THEN
    related := related || COALESCE((
      SELECT jsonb_agg(to_jsonb(t) ORDER BY t.position, t.id) FROM (
        SELECT DISTINCT {_TILE} FROM projects_project p
          JOIN projects_secondarycategory s ON s.project_id = p.id
         WHERE s.category_id = ANY(tree) AND p.publication = 'published'
           AND NOT p.category_id = ANY(tree)
         ORDER BY p.position, p.id LIMIT related_limit - related_count) t), '[]'::jsonb);
  END IF;
  RETURN json_build_object(
    'entry', to_jsonb(e) - 'search_vector',
    'category', to_jsonb(c),
    'pillar', (SELECT to_jsonb(pc) FROM projects_category pc WHERE pc.id = c.parent_id),
    'secondary', COALESCE((
      SELECT json_agg(json_build_array(to_jsonb(sc_c), to_jsonb(sc_p)) ORDER BY sc.position, sc.id)
        FROM projects_secondarycategory sc
        JOIN projects_category sc_c ON sc_c.id = sc.category_id
        LEFT JOIN projects_category sc_p ON sc_p.id = sc_c.parent_id
       WHERE sc.project_id = e.id), '[]'::json),
    'maintainers', COALESCE((
      SELECT json_agg(json_build_array(to_jsonb(m), json_build_object(
               'id', u.id, 'username', u.username, 'first_name', u.first_name,
               'last_name', u.last_name)) ORDER BY m.id)
        FROM projects_maintainer m JOIN auth_user u ON u.id = m.user_id
       WHERE m.project_id = e.id), '[]'::json),
    'alternatives', COALESCE((
      SELECT json_agg(to_jsonb(t) ORDER BY t.box_position, t.position, t.id) FROM (
        SELECT {_TILE}, pc.position AS box_position
          FROM projects_project_alternatives a
          JOIN projects_project p ON p.id = a.to_project_id AND p.publication = 'published'
          JOIN projects_category pc ON pc.id = p.category_id
         WHERE a.from_project_id = e.id) t), '[]'::json),
    'links', COALESCE((
      SELECT json_agg(to_jsonb(l) ORDER BY l.kind, l.url, l.id)
        FROM projects_linkstatus l WHERE l.project_id = e.id), '[]'::json),
    'findings', COALESCE((
      SELECT json_agg(to_jsonb(f) ORDER BY f.last_seen DESC, f.id)
        FROM projects_finding f WHERE f.project_id = e.id AND f.state = 'open'), '[]'::json),
    'repository', (SELECT to_jsonb(r) FROM projects_repositorystatus r WHERE r.id = primary_id),
    'stars', COALESCE((
      SELECT json_agg(json_build_array(s.day, s.stars) ORDER BY s.day)
        FROM projects_snapshot s
       WHERE s.repository_id = primary_id AND s.day >= since AND s.stars IS NOT NULL),
      '[]'::json),
    'related', related
  );
END
$fn$;
"""  # noqa: S608 - formatted from constants only

UNINSTALL = "DROP FUNCTION IF EXISTS projects_entry_page(text, date, integer);"
