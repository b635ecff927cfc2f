from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import render
from django.utils.html import format_html, format_html_join

from projects import status
from projects.models import (
    Category,
    Finding,
    LinkStatus,
    Maintainer,
    Project,
    RepositoryStatus,
    SecondaryCategory,
    Snapshot,
)
from projects.tasks import enqueue_refresh


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "slug", "position")
    list_filter = ("parent",)
    search_fields = ("name", "slug")
    ordering = ("parent__position", "position")


class SecondaryCategoryInline(admin.TabularInline):
    model = SecondaryCategory
    extra = 0


class MaintainerInline(admin.TabularInline):
    model = Maintainer
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "maturity", "health", "publication", "updated")
    list_filter = ("maturity", "health", "publication", "category__parent")
    search_fields = ("name", "slug", "description", "repo_url")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("category",)
    inlines = [SecondaryCategoryInline, MaintainerInline]
    filter_horizontal = ("alternatives",)
    readonly_fields = ("health", "status_evidence", "snapshot_history", "open_findings")
    actions = ["refresh_now"]

    @admin.display(description="status evidence")
    def status_evidence(self, obj):
        repo = obj.repositories.filter(is_primary=True).first()
        if repo is None:
            return "no repository observed"
        words = (repo.health_evidence or {}).get("words", [])
        facts = [
            ("repository", repo.url),
            ("checked", repo.checked_at or "never"),
            ("stars", repo.stars),
            ("last push", repo.pushed_at),
            ("last release", repo.last_release_at or repo.pypi_release_at),
            ("license", repo.license or "-"),
            ("last error", repo.last_error or "-"),
        ]
        return format_html(
            "<p>{}</p><ul>{}</ul>",
            "; ".join(words) or "-",
            format_html_join("", "<li>{}: {}</li>", ((k, v) for k, v in facts)),
        )

    @admin.display(description="snapshots (latest 30 days)")
    def snapshot_history(self, obj):
        rows = Snapshot.objects.filter(repository__project=obj, repository__is_primary=True)
        rows = list(rows.order_by("-day")[:30])
        if not rows:
            return "none yet"
        return format_html(
            "<table><tr><th>day</th><th>stars</th><th>forks</th><th>health</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((r.day, r.stars, r.forks, r.health) for r in rows),
            ),
        )

    @admin.display(description="open findings")
    def open_findings(self, obj):
        findings = obj.findings.filter(state=Finding.State.OPEN)
        if not findings:
            return "none"
        return format_html_join(
            "",
            "<p><b>{}</b>: {}</p>",
            (
                (f.get_kind_display(), "; ".join((f.evidence or {}).get("words", [])))
                for f in findings
            ),
        )

    @admin.action(description="Refresh the repository status now")
    def refresh_now(self, request, queryset):
        status.repositories_sync(projects=queryset.exclude(repo_url=None))
        ids = list(
            RepositoryStatus.objects.filter(project__in=queryset).values_list("pk", flat=True)
        )
        with transaction.atomic():
            enqueue_refresh(ids)
        self.message_user(request, f"refresh queued for {len(ids)} repositories")


@admin.register(Maintainer)
class MaintainerAdmin(admin.ModelAdmin):
    list_display = ("user", "project", "role", "verified")
    list_filter = ("role", "verified")
    raw_id_fields = ("user", "project")


@admin.register(RepositoryStatus)
class RepositoryStatusAdmin(admin.ModelAdmin):
    list_display = ("__str__", "project", "health", "archived", "stars", "pushed_at", "checked_at")
    list_filter = ("health", "host", "archived")
    search_fields = ("owner", "name", "project__name")
    raw_id_fields = ("project",)


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ("repository", "day", "stars", "health")
    raw_id_fields = ("repository",)


@admin.register(LinkStatus)
class LinkStatusAdmin(admin.ModelAdmin):
    list_display = ("url", "project", "kind", "ok", "status_code", "checked_at")
    list_filter = ("kind", "ok")
    raw_id_fields = ("project",)


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ("project", "kind", "state", "evidence_words", "first_seen", "last_seen")
    list_filter = ("kind", "state", "project__maturity", "project__category__parent")
    search_fields = ("project__name", "subject")
    raw_id_fields = ("project", "resolved_by")
    readonly_fields = ("evidence_words", "first_seen", "last_seen", "resolved_at", "resolved_by")
    actions = ["apply_suggestion", "dismiss"]

    @admin.display(description="evidence")
    def evidence_words(self, obj):
        return "; ".join((obj.evidence or {}).get("words", []))

    @admin.action(description="Apply the suggested change and resolve")
    def apply_suggestion(self, request, queryset):
        done = 0
        for finding in queryset:
            try:
                status.finding_apply(finding=finding, user=request.user)
                done += 1
            except status.FindingNotApplicable as exc:
                self.message_user(request, f"{finding}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"{done} findings applied and resolved")

    @admin.action(description="Dismiss (with a reason)")
    def dismiss(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        if "confirm" in request.POST and reason:
            for finding in queryset:
                try:
                    status.finding_dismiss(finding=finding, user=request.user, reason=reason)
                except status.FindingNotApplicable as exc:
                    self.message_user(request, f"{finding}: {exc}", messages.WARNING)
            self.message_user(request, f"{queryset.count()} findings dismissed")
            return None
        return render(
            request,
            "admin/projects/finding/dismiss.html",
            {
                **self.admin_site.each_context(request),
                "findings": queryset,
                "missing_reason": "confirm" in request.POST,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
