"""The directory's data: categories, entries, their maintainers and what workers observe.

Words as in the design notes: *maturity* is what curators say about an entry,
*health* is what the workers observe of its repository, and a *finding* is a
disagreement between the two (or between a link and reality) that a person
must look at.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from projects.disclosure import public_error
from projects.validators import validate_entry_name, validate_public_url


class Category(models.Model):
    """A pillar (top level) or a subcategory (one level below): landscape2's two-level tree."""

    name = models.CharField(max_length=200)
    # A subcategory's slug carries its parent's ("training-general") because names such
    # as General, Distributed or Quantum repeat under several pillars.
    slug = models.SlugField(max_length=220, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    position = models.PositiveIntegerField(default=0)
    guide = models.TextField(blank=True, help_text="What belongs here (from landscape2's guide).")

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="category_unique_name_per_parent"
            ),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="category_unique_top_name"
            ),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name

    @property
    def is_pillar(self) -> bool:
        return self.parent_id is None


class Maturity(models.TextChoices):
    NONE = "", "none"
    FOUNDATION = "foundation", "foundation-hosted"
    GRADUATED = "graduated", "graduated"
    INCUBATING = "incubating", "incubating"
    SANDBOX = "sandbox", "sandbox"
    ARCHIVED = "archived", "archived"


class Health(models.TextChoices):
    UNKNOWN = "unknown", "unknown"
    ACTIVE = "active", "active"
    INACTIVE = "inactive", "inactive"
    ARCHIVED = "archived", "archived"
    MISSING = "missing", "missing"


class Publication(models.TextChoices):
    DRAFT = "draft", "draft"
    PENDING = "pending", "pending review"
    PUBLISHED = "published", "published"
    REJECTED = "rejected", "rejected"


# Columns the workers and signals keep (never edited, never in an entry's history).
DENORMALIZED_FIELDS = (
    "health",
    "search_categories",
    "stars",
    "last_activity",
    "pushed_at",
    "license",
    "has_open_findings",
)


class ProjectQuerySet(models.QuerySet):
    def published(self) -> ProjectQuerySet:
        return self.filter(publication=Publication.PUBLISHED)


class Project(models.Model):
    """One entry: an ecosystem project, a foundation-hosted project or a member organization."""

    name = models.CharField(max_length=200, unique=True, validators=[validate_entry_name])
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    homepage_url = models.URLField(max_length=500, validators=[validate_public_url])
    # Normalized (lower-case host, no trailing slash or .git); unique where present.
    repo_url = models.URLField(
        max_length=500, null=True, blank=True, unique=True, validators=[validate_public_url]
    )
    repo_branch = models.CharField(max_length=200, blank=True)
    # landscape2's additional_repos: [{"repo_url": ..., "branch": ...}]
    additional_repos = models.JSONField(default=list, blank=True)
    documentation_url = models.URLField(
        max_length=500, blank=True, validators=[validate_public_url]
    )
    # [{"name": ..., "url": ...}], landscape2's extra.other_links
    other_links = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    logo = models.FileField(upload_to="logos/", blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="projects")
    secondary_categories = models.ManyToManyField(
        Category, through="SecondaryCategory", related_name="secondary_projects", blank=True
    )
    # Accepted links only, shown on both pages: a maintainer proposes one
    # (AlternativeProposal) and it links when the other entry's maintainer or staff accept.
    alternatives = models.ManyToManyField(
        "self", blank=True, symmetrical=True, limit_choices_to={"publication": "published"}
    )
    maturity = models.CharField(
        max_length=20, choices=Maturity.choices, blank=True, default=Maturity.NONE, db_index=True
    )
    accepted_at = models.DateField(null=True, blank=True)
    joined_at = models.DateField(null=True, blank=True)
    organization = models.CharField(max_length=200, blank=True)
    twitter_url = models.URLField(max_length=500, blank=True, validators=[validate_public_url])
    crunchbase_url = models.URLField(max_length=500, blank=True, validators=[validate_public_url])
    # Every landscape2 key the model has no column for, so that nothing is lost on a
    # round trip (including keys present with a null value, and unmodelled `extra` keys).
    landscape_extra = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order within its subcategory.")
    publication = models.CharField(
        max_length=20, choices=Publication.choices, default=Publication.PUBLISHED, db_index=True
    )
    # Denormalized from the primary repository's status so that lists filter on one table.
    health = models.CharField(
        max_length=20, choices=Health.choices, default=Health.UNKNOWN, db_index=True
    )
    # Denormalized names of the entry's categories (primary and second_path, with their
    # pillars) for the search vector, which cannot read other tables. Kept up to date by
    # projects.search.update_search_categories (signals and the importer call it).
    search_categories = models.TextField(blank=True, default="", editable=False)
    # Denormalized from the primary repository's status and the open findings, so that a
    # list filters and sorts on one table at any size (projects.facts.project_facts_sync
    # keeps them: signals on RepositoryStatus and Finding, and every bulk write).
    stars = models.PositiveIntegerField(null=True, blank=True, editable=False)
    last_activity = models.DateTimeField(null=True, blank=True, editable=False)
    # The API filters and sorts on it (pushed_after, pushed_before, ordering=pushed_at).
    pushed_at = models.DateTimeField(null=True, blank=True, editable=False)
    license = models.CharField(max_length=100, blank=True, default="", editable=False)
    has_open_findings = models.BooleanField(default=False, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()
    # Who changed what and when, from the admin, the API, an import or a worker.
    history = HistoricalRecords(excluded_fields=[*DENORMALIZED_FIELDS])

    class Meta:
        ordering = ["category__position", "position", "id"]
        indexes = [
            # A landscape box and an entry's related entries: one category, landscape order.
            models.Index(
                fields=["category", "position", "id"],
                name="project_box_order",
                condition=models.Q(publication="published"),
            ),
            # project_stars_order, on (stars DESC NULLS LAST, lower(name), id), is created on
            # PostgreSQL only by migration 0006: SQLite refuses NULLS LAST in an index.
        ]
        permissions = [("moderate_project", "Can review submissions, claims and findings")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("projects:detail", kwargs={"slug": self.slug})


class FacetCount(models.Model):
    """How many published entries share these facet values in one category they are
    listed in (``category_id`` 0 is the whole directory; a pillar counts its
    subcategories' entries; second_path listings count; each entry once per category).

    On PostgreSQL, triggers keep it exact, from the Listing rows, in the same transaction
    as every write to entries, second_path rows and the category tree (migration 0006,
    SQL in projects/facet_sql.py): the landscape's box totals and facets, and a list's count,
    read a few hundred of these rows instead of counting 100,000 entries. Elsewhere
    (SQLite) it stays empty and the counts are computed from the entries.
    """

    category_id = models.BigIntegerField()
    # The category is the entry's own (a box of the landscape counts only these).
    via_primary = models.BooleanField()
    health = models.CharField(max_length=20)
    maturity = models.CharField(max_length=20)
    license = models.CharField(max_length=100)
    has_findings = models.BooleanField()
    # A row over every license (license ""): what counts that ignore licenses read.
    all_licenses = models.BooleanField(default=False)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "category_id",
                    "via_primary",
                    "health",
                    "maturity",
                    "license",
                    "has_findings",
                    "all_licenses",
                ],
                name="facetcount_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.n} in {self.category_id} ({self.health}, {self.maturity})"


class Listing(models.Model):
    """One row per category a published entry is listed in (as FacetCount: its own, that
    category's pillar, second_path categories and their pillars, and 0 for the whole
    directory), with the columns a list filters and sorts on.

    On PostgreSQL, triggers keep it, and FacetCount from it (projects/facet_sql.py). It
    answers "this category,
    these healths, by stars" with an index range per health value, however deep the page
    and however many entries the category holds; the entries themselves are then read
    by id.
    """

    category_id = models.BigIntegerField()
    via_primary = models.BooleanField()  # the entry's own category
    project_id = models.BigIntegerField()
    health = models.CharField(max_length=20)
    maturity = models.CharField(max_length=20)
    license = models.CharField(max_length=100)
    has_findings = models.BooleanField()
    # The entry's stars, -1 for none: "most first, none last" is a plain descending order
    # (an index with NULLS LAST is PostgreSQL's only).
    stars_rank = models.IntegerField()
    name_key = models.CharField(max_length=200)  # lower(name): the tie-break

    class Meta:
        indexes = [
            models.Index(
                "category_id",
                "health",
                models.F("stars_rank").desc(),
                "name_key",
                "project_id",
                name="listing_by_stars",
            ),
            models.Index(fields=["project_id"], name="listing_project"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} in {self.category_id}"


class SecondaryCategory(models.Model):
    """landscape2's second_path, kept in its order."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    category = models.ForeignKey(Category, on_delete=models.PROTECT)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "category"], name="secondary_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project} also in {self.category}"


class Maintainer(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "owner"
        MAINTAINER = "maintainer", "maintainer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="maintainerships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="maintainers")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MAINTAINER)
    verified = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    # When this maintainer last got the findings digest (at most one a day).
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="maintainer_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role} of {self.project})"


class RepositoryStatus(models.Model):
    """The latest observation of one repository (an entry's primary or additional one)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="repositories")
    is_primary = models.BooleanField(default=True)
    url = models.URLField(max_length=500)
    host = models.CharField(max_length=100)
    owner = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    # None until the forge has answered once; False while it says "not found".
    found = models.BooleanField(null=True)
    archived = models.BooleanField(null=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    last_commit_at = models.DateTimeField(null=True, blank=True)
    last_release_at = models.DateTimeField(null=True, blank=True)
    # When the forge last told the latest release: behind last_found_at while the release's
    # own request fails, and then last_release_at is only as true as of this time.
    release_checked_at = models.DateTimeField(null=True, blank=True)
    pypi_package = models.CharField(max_length=200, blank=True)
    pypi_release_at = models.DateTimeField(null=True, blank=True)
    stars = models.PositiveIntegerField(null=True, blank=True)
    forks = models.PositiveIntegerField(null=True, blank=True)
    open_issues = models.PositiveIntegerField(null=True, blank=True)
    license = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    health = models.CharField(max_length=20, choices=Health.choices, default=Health.UNKNOWN)
    health_evidence = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_found_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Consecutive "not found" answers and when the first of them came (missing needs two,
    # at least an hour apart).
    not_found_count = models.PositiveIntegerField(default=0)
    first_not_found_at = models.DateTimeField(null=True, blank=True)
    last_not_found_at = models.DateTimeField(null=True, blank=True)
    etag = models.CharField(max_length=200, blank=True)
    moved_to = models.URLField(max_length=500, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "repository statuses"
        constraints = [
            models.UniqueConstraint(fields=["host", "owner", "name"], name="repository_unique")
        ]

    def __str__(self) -> str:
        return f"{self.host}/{self.owner}/{self.name}"


class Snapshot(models.Model):
    """One row per repository per day: the series behind sparklines and trends."""

    repository = models.ForeignKey(
        RepositoryStatus, on_delete=models.CASCADE, related_name="snapshots"
    )
    day = models.DateField()
    stars = models.PositiveIntegerField(null=True)
    forks = models.PositiveIntegerField(null=True)
    pushed_at = models.DateTimeField(null=True)
    health = models.CharField(max_length=20, choices=Health.choices)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "day"], name="snapshot_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.repository} on {self.day}"


class LinkStatus(models.Model):
    """The last check of one URL an entry links to."""

    class Kind(models.TextChoices):
        HOMEPAGE = "homepage", "homepage"
        DOCUMENTATION = "documentation", "documentation"
        REPOSITORY = "repository", "repository page"
        OTHER = "other", "other"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    url = models.URLField(max_length=500)
    ok = models.BooleanField(null=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    final_url = models.URLField(max_length=500, blank=True)
    permanent_redirect_to = models.URLField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "url"], name="link_unique_per_project")
        ]

    def __str__(self) -> str:
        return self.url

    @property
    def public_error(self) -> str | None:
        """The failure as the public may read it (the error text is for curators)."""
        return public_error(self.error, subject="link")


class Finding(models.Model):
    class Kind(models.TextChoices):
        LISTED_ARCHIVED_BUT_ACTIVE = "listed_archived_but_active", "listed archived, but active"
        ARCHIVED_UPSTREAM = "archived_upstream", "archived upstream"
        REPOSITORY_MOVED = "repository_moved", "repository moved"
        REPOSITORY_MISSING = "repository_missing", "repository missing"
        INACTIVE = "inactive", "inactive"
        LINK_BROKEN = "link_broken", "link broken"
        LINK_REDIRECTED = "link_redirected", "link redirected"
        USER_REPORT = "user_report", "reported by a visitor"

    class State(models.TextChoices):
        OPEN = "open", "open"
        RESOLVED = "resolved", "resolved"
        DISMISSED = "dismissed", "dismissed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=40, choices=Kind.choices, db_index=True)
    # What the finding is about (a repository or a URL), so that one subject has one finding
    # of a kind, and a dismissed one is recognised when its evidence comes back unchanged.
    subject = models.CharField(max_length=500, blank=True)
    # Public: the pages, the API, exports and stored bodies show it as it is.
    evidence = models.JSONField(default=dict)
    # Curators only (the admin): a reporter's contact and message, the workers' error texts
    # (projects.disclosure). Never read by a public page, serializer or body.
    curator_evidence = models.JSONField(default=dict, blank=True)
    evidence_digest = models.CharField(max_length=64, blank=True)
    suggestion = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.OPEN, db_index=True
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind", "subject"],
                condition=Q(state="open"),
                name="finding_one_open_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.project}"


class Review(models.TextChoices):
    PENDING = "pending", "pending"
    APPROVED = "approved", "approved"
    REJECTED = "rejected", "rejected"


class Claim(models.Model):
    """A signed-in user asks to maintain an entry; staff (or the repository) confirm it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claims"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="claims")
    statement = models.TextField(help_text="Your role in the project, in a sentence or two.")
    state = models.CharField(max_length=20, choices=Review.choices, default=Review.PENDING)
    verified_by_repository = models.BooleanField(default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project"], condition=Q(state="pending"), name="claim_one_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} claims {self.project}"


class ChangeRequest(models.Model):
    """A change that waits for moderation: a new entry, or an edit staff must approve."""

    class Kind(models.TextChoices):
        NEW = "new", "new entry"
        CHANGE = "change", "change"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="change_requests")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # {field: new value}; for a new entry, the whole entry (already saved as pending).
    changes = models.JSONField(default=dict)
    # {field: value when submitted}, so the reviewer sees a diff even if the entry moved on.
    previous = models.JSONField(default=dict)
    state = models.CharField(max_length=20, choices=Review.choices, default=Review.PENDING)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.project}"


class AlternativeProposal(models.Model):
    """A maintainer of ``from_project`` proposes ``to_project`` as its alternative. The link
    (Project.alternatives, symmetrical: it shows on both pages) is made only when a
    maintainer of ``to_project`` or staff accept it (projects.moderation)."""

    class State(models.TextChoices):
        PROPOSED = "proposed", "proposed"
        ACCEPTED = "accepted", "accepted"
        DECLINED = "declined", "declined"
        WITHDRAWN = "withdrawn", "withdrawn"
        REMOVED = "removed", "accepted, later removed"

    from_project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="alternatives_proposed",
        verbose_name="entry",
    )
    to_project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="alternatives_received",
        limit_choices_to={"publication": "published"},
        verbose_name="alternative",
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PROPOSED, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_project", "to_project"],
                condition=Q(state="proposed"),
                name="alternative_one_open_proposal",
            ),
            models.CheckConstraint(
                condition=~Q(from_project=models.F("to_project")),
                name="alternative_not_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.to_project} as an alternative to {self.from_project}"


class Dispute(models.Model):
    """A maintainer contests a finding on their entry, with a statement."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="disputes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    statement = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"dispute of {self.finding} by {self.user}"
