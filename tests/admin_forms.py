"""What the admin's entry change page posts, as a browser sends it, for tests that edit an
entry through the admin: its fields unchanged, its inline formsets' counters, plus changes."""

from __future__ import annotations

from projects.models import Project


def maintainer_change_form(project: Project, **changes) -> dict:
    """The form a maintainer sees for ``project`` (the fields they may edit)."""
    return {
        "description": project.description,
        "homepage_url": project.homepage_url,
        "documentation_url": project.documentation_url,
        "other_links": "[]",
        "twitter_url": project.twitter_url,
        "tags": "[]",
        "name": project.name,
        "repo_url": project.repo_url or "",
        "category": project.category_id,
        # The proposed-alternatives inline, empty.
        "alternatives_proposed-TOTAL_FORMS": "0",
        "alternatives_proposed-INITIAL_FORMS": "0",
        **changes,
    }
