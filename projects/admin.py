from django.contrib import admin

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
    list_display = ("project", "kind", "state", "first_seen", "last_seen")
    list_filter = ("kind", "state")
    search_fields = ("project__name", "subject")
    raw_id_fields = ("project", "resolved_by")
