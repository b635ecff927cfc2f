"""The admin: staff see everything; maintainers (the "Maintainers" group) see and edit only
their own entries' editable fields, and changes that need review go to the moderation queue."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from projects import alternatives, moderation, status
from projects.disclosure import public_error
from projects.logos import LogoError, logo_kind
from projects.models import (
    AlternativeProposal,
    Category,
    ChangeRequest,
    Claim,
    Dispute,
    Finding,
    LinkStatus,
    Maintainer,
    Project,
    Publication,
    RepositoryStatus,
    Review,
    SecondaryCategory,
    Snapshot,
)
from projects.permissions import (
    MAINTAINER_EDITABLE_FIELDS,
    MODERATED_FIELDS,
    can_edit,
    is_moderator,
)
from projects.tasks import enqueue_refresh
from projects.validators import validate_url_list


class ModeratorOnlyAdmin(admin.ModelAdmin):
    """Models that only reviewing staff may see or touch."""

    def has_module_permission(self, request):
        return is_moderator(request.user)

    def has_view_permission(self, request, obj=None):
        return is_moderator(request.user)

    def has_change_permission(self, request, obj=None):
        return is_moderator(request.user)

    def has_add_permission(self, request):
        return is_moderator(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_moderator(request.user)


def _apply_each(modeladmin, request, objects, apply, *, title: str) -> None:
    """Run one service call per selected object; a refusal is reported, not raised."""
    done = 0
    for obj in objects:
        try:
            apply(obj)
            done += 1
        except (moderation.ModerationError, status.FindingNotApplicable, PermissionError) as exc:
            modeladmin.message_user(request, f"{obj}: {exc}", messages.WARNING)
    modeladmin.message_user(request, f"{title}: {done} done")


def _reason_or_ask(modeladmin, request, queryset, *, action: str, title: str, apply):
    """An admin action that needs a reason: ask on an intermediate page, then apply."""
    reason = (request.POST.get("reason") or "").strip()
    if "confirm" in request.POST and reason:
        _apply_each(modeladmin, request, queryset, lambda obj: apply(obj, reason), title=title)
        return None
    return render(
        request,
        "admin/projects/reason.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "objects": queryset,
            "action": action,
            "missing_reason": "confirm" in request.POST,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


@admin.register(Category)
class CategoryAdmin(ModeratorOnlyAdmin):
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
    exclude = ("last_digest_at",)


class AlternativeProposalForm(forms.ModelForm):
    """A new proposal, by slug: a select would list every entry (100,000 of them at scale),
    and only a published one may be named."""

    user = None  # the signed-in user, set per request by the inline

    to_project = forms.ModelChoiceField(
        queryset=Project.objects.published(),
        to_field_name="slug",
        widget=forms.TextInput(attrs={"placeholder": "slug"}),
        label="alternative",
        help_text="The slug of a published entry, as in its address: /projects/<slug>/. "
        "It is listed once a maintainer of that entry (or staff) accepts.",
        error_messages={"invalid_choice": "No published entry has the slug %(value)s."},
    )

    class Meta:
        model = AlternativeProposal
        fields = ["to_project"]

    def clean(self):
        cleaned = super().clean()
        alternative = cleaned.get("to_project")
        if alternative is not None:
            try:
                alternatives.alternative_proposal_check(
                    project=self.instance.from_project, alternative=alternative, user=self.user
                )
            except (moderation.ModerationError, PermissionError) as exc:
                self.add_error("to_project", str(exc))
        return cleaned


class AlternativeProposalInline(admin.TabularInline):
    """The alternatives this entry proposed: past ones read-only, a new one by slug.
    ProjectAdmin.save_formset hands new ones to projects.alternatives."""

    model = AlternativeProposal
    fk_name = "from_project"
    form = AlternativeProposalForm
    fields = ("to_project", "state", "proposed_by", "decided_by", "decided_at")
    readonly_fields = ("state", "proposed_by", "decided_by", "decided_at")
    extra = 0
    verbose_name = "proposed alternative"

    def get_formset(self, request, obj=None, **kwargs):
        form = type("AlternativeProposalForm", (AlternativeProposalForm,), {"user": request.user})
        return super().get_formset(request, obj, form=form, **kwargs)

    def has_view_permission(self, request, obj=None):
        # Without an entry (the inline's queryset asks so) ProjectAdmin has checked it.
        if obj is None:
            return request.user.is_active and request.user.is_staff
        return can_edit(request.user, obj)

    def has_add_permission(self, request, obj=None):
        return obj is not None and can_edit(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return False  # decisions are the other side's, in AlternativeProposalAdmin

    def has_delete_permission(self, request, obj=None):
        return False


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = "__all__"  # noqa: DJ007 - the admin narrows the fields per user

    def clean_repo_url(self):
        from projects.services import project_repo_url_clean

        return project_repo_url_clean(
            repo_url=self.cleaned_data.get("repo_url"), exclude_pk=self.instance.pk
        )

    def clean_other_links(self):
        value = self.cleaned_data.get("other_links")
        validate_url_list(value, key="url")
        return value

    def clean_additional_repos(self):
        value = self.cleaned_data.get("additional_repos")
        validate_url_list(value, key="repo_url")
        return value

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "read") and "logo" in self.changed_data:
            from django.conf import settings

            if logo.size > settings.LOGO_MAX_BYTES:
                raise forms.ValidationError(
                    f"The logo is {logo.size} bytes; the limit is {settings.LOGO_MAX_BYTES}."
                )
            data = logo.read()
            logo.seek(0)
            try:
                logo_kind(data, name=logo.name)
            except LogoError as exc:
                raise forms.ValidationError(f"This logo is refused: {exc}.") from exc
        return logo


@admin.register(Project)
class ProjectAdmin(SimpleHistoryAdmin):
    form = ProjectForm
    list_display = ("name", "category", "maturity", "health", "publication", "updated")
    list_filter = ("maturity", "health", "publication", "category__parent")
    search_fields = ("name", "slug", "description", "repo_url")
    list_select_related = ("category",)
    filter_horizontal = ("alternatives",)
    status_fields = ("health", "status_evidence", "snapshot_history", "open_findings")
    actions = ["refresh_now"]

    # --- who sees what ---
    def get_object(self, request, object_id, from_field=None):
        # Look the entry up unrestricted so that someone else's entry answers 403 (by the
        # permission checks below), not the admin's redirect to its index page.
        try:
            return Project.objects.get(pk=object_id)
        except (Project.DoesNotExist, ValueError, TypeError):
            return None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_moderator(request.user):
            return queryset
        return queryset.filter(maintainers__user=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return request.user.is_active and request.user.is_staff
        return can_edit(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request):
        return is_moderator(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_moderator(request.user)

    def has_change_history_permission(self, request, obj=None):
        return is_moderator(request.user)  # reverting is for staff

    def get_fields(self, request, obj=None):
        if is_moderator(request.user):
            return super().get_fields(request, obj)
        return [
            *MAINTAINER_EDITABLE_FIELDS,
            *MODERATED_FIELDS,
            "maturity",
            "alternatives_overview",
            *self.status_fields,
        ]

    def get_readonly_fields(self, request, obj=None):
        if is_moderator(request.user):
            return (*self.status_fields, "check_errors")
        return ("maturity", "alternatives_overview", *self.status_fields)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "category":
            # An entry is filed in a subcategory (a pillar would be refused on approval).
            kwargs["queryset"] = Category.objects.filter(parent__isnull=False).select_related(
                "parent"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ("name",)} if is_moderator(request.user) else {}

    def get_inlines(self, request, obj):
        if is_moderator(request.user):
            return [SecondaryCategoryInline, MaintainerInline, AlternativeProposalInline]
        return [AlternativeProposalInline]

    def get_actions(self, request):
        return super().get_actions(request) if is_moderator(request.user) else {}

    def save_model(self, request, obj, form, change):
        if not change or is_moderator(request.user):
            super().save_model(request, obj, form, change)
            return
        # A maintainer: moderated fields keep their live values and wait for review.
        held = {
            name: form.cleaned_data[name] for name in form.changed_data if name in MODERATED_FIELDS
        }
        live = Project.objects.get(pk=obj.pk)
        for name in held:
            setattr(obj, name, getattr(live, name))
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if held:
                moderation.change_request_create(project=obj, user=request.user, changes=held)
        if held:
            self.message_user(
                request,
                f"Your change of {', '.join(held)} waits for review by staff.",
                messages.INFO,
            )

    def save_formset(self, request, form, formset, change):
        if formset.model is not AlternativeProposal:
            super().save_formset(request, form, formset, change)
            return
        # What formset.save() would have set, for the admin's change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for proposal_form in formset.extra_forms:
            alternative = proposal_form.has_changed() and proposal_form.cleaned_data.get(
                "to_project"
            )
            if not alternative:
                continue
            try:
                proposal = alternatives.alternative_propose(
                    project=form.instance, alternative=alternative, user=request.user
                )
            except (moderation.ModerationError, PermissionError) as exc:
                self.message_user(request, f"{alternative}: {exc}", messages.WARNING)
                continue
            formset.new_objects.append(proposal)
            if proposal.state == AlternativeProposal.State.ACCEPTED:
                self.message_user(request, f"{alternative} is now listed as an alternative.")
            else:
                self.message_user(
                    request,
                    f"{alternative} is proposed; it is listed once a maintainer of it "
                    "(or staff) accepts.",
                    messages.INFO,
                )

    @admin.display(description="alternatives")
    def alternatives_overview(self, obj):
        linked = ", ".join(obj.alternatives.order_by("name").values_list("name", flat=True))
        waiting = obj.alternatives_received.filter(
            state=AlternativeProposal.State.PROPOSED,
            from_project__publication=Publication.PUBLISHED,
        ).count()
        return format_html(
            '<p>Listed: {}</p><p>{} proposal(s) to this entry wait for an answer. <a href="{}">'
            "Accept, decline or unlink</a>; propose one below.</p>",
            linked or "none",
            waiting,
            reverse("admin:projects_alternativeproposal_changelist"),
        )

    # --- status display ---
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
            # The workers' text names hosts and addresses: curators read it in check_errors.
            ("last error", public_error(repo.last_error, subject="repository") or "-"),
        ]
        return format_html(
            "<p>{}</p><ul>{}</ul>",
            "; ".join(words) or "-",
            format_html_join("", "<li>{}: {}</li>", ((k, v) for k, v in facts)),
        )

    @admin.display(description="check errors (curators only)")
    def check_errors(self, obj):
        rows = [
            (f"repository {repo.url}", repo.last_error)
            for repo in obj.repositories.exclude(last_error="")
        ] + [(f"link {link.url}", link.error) for link in obj.links.exclude(error="")]
        if not rows:
            return "none"
        return format_html_join("", "<p><b>{}</b>: {}</p>", rows)

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
class MaintainerAdmin(ModeratorOnlyAdmin):
    list_display = ("user", "project", "role", "verified", "last_digest_at")
    list_filter = ("role", "verified")
    raw_id_fields = ("user", "project")


@admin.register(RepositoryStatus)
class RepositoryStatusAdmin(ModeratorOnlyAdmin):
    list_display = ("__str__", "project", "health", "archived", "stars", "pushed_at", "checked_at")
    list_filter = ("health", "host", "archived")
    search_fields = ("owner", "name", "project__name")
    raw_id_fields = ("project",)


@admin.register(Snapshot)
class SnapshotAdmin(ModeratorOnlyAdmin):
    list_display = ("repository", "day", "stars", "health")
    raw_id_fields = ("repository",)


@admin.register(LinkStatus)
class LinkStatusAdmin(ModeratorOnlyAdmin):
    list_display = ("url", "project", "kind", "ok", "status_code", "checked_at")
    list_filter = ("kind", "ok")
    raw_id_fields = ("project",)


class DisputeInline(admin.StackedInline):
    model = Dispute
    extra = 0
    can_delete = False
    readonly_fields = ("user", "statement", "created")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Finding)
class FindingAdmin(ModeratorOnlyAdmin):
    list_display = ("project", "kind", "state", "evidence_words", "disputed", "last_seen")
    list_filter = ("kind", "state", "project__maturity", "project__category__parent")
    search_fields = ("project__name", "subject")
    raw_id_fields = ("project", "resolved_by")
    readonly_fields = (
        "evidence_beside_disputes",
        "for_curators",
        "first_seen",
        "last_seen",
        "resolved_at",
        "resolved_by",
    )
    # Shown read-only as "for_curators": a reporter's contact is not for editing.
    exclude = ("curator_evidence",)
    inlines = [DisputeInline]
    actions = ["apply_suggestion", "dismiss"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project")

    @admin.display(description="evidence")
    def evidence_words(self, obj):
        return "; ".join((obj.evidence or {}).get("words", []))

    @admin.display(description="disputed", boolean=True)
    def disputed(self, obj):
        return obj.disputes.exists()

    @admin.display(description="evidence and the maintainers' statements")
    def evidence_beside_disputes(self, obj):
        evidence = format_html_join(
            "", "<li>{}</li>", ((w,) for w in (obj.evidence or {}).get("words", []))
        )
        statements = format_html_join(
            "",
            "<li><b>{}</b> ({}): {}</li>",
            ((d.user, d.created.date(), d.statement) for d in obj.disputes.all()),
        )
        return format_html(
            '<div style="display:flex;gap:2rem"><div><h4>Evidence</h4><ul>{}</ul></div>'
            "<div><h4>Disputes</h4><ul>{}</ul></div></div>",
            evidence,
            statements or mark_safe("<li>none</li>"),
        )

    @admin.display(description="for curators only (never public)")
    def for_curators(self, obj):
        details = obj.curator_evidence or {}
        if not details:
            return "-"
        return format_html_join(
            "",
            "<p><b>{}</b>: {}</p>",
            (
                (key, "; ".join(map(str, v)) if isinstance(v, list) else v)
                for key, v in details.items()
            ),
        )

    @admin.action(description="Apply the suggested change and resolve")
    def apply_suggestion(self, request, queryset):
        _apply_each(
            self,
            request,
            queryset,
            lambda f: status.finding_apply(finding=f, user=request.user),
            title="Findings applied and resolved",
        )

    @admin.action(description="Dismiss (with a reason)")
    def dismiss(self, request, queryset):
        return _reason_or_ask(
            self,
            request,
            queryset,
            action="dismiss",
            title="Dismiss findings",
            apply=lambda f, reason: status.finding_dismiss(
                finding=f, user=request.user, reason=reason
            ),
        )


@admin.register(Claim)
class ClaimAdmin(ModeratorOnlyAdmin):
    list_display = ("user", "project", "state", "verified_by_repository", "created")
    list_filter = ("state", "verified_by_repository")
    search_fields = ("user__email", "project__name")
    readonly_fields = (
        "user",
        "project",
        "statement",
        "verified_by_repository",
        "reviewed_by",
        "decided_at",
    )
    actions = ["approve", "reject"]

    @admin.action(description="Approve: make them maintainers")
    def approve(self, request, queryset):
        _apply_each(
            self,
            request,
            queryset,
            lambda c: moderation.claim_approve(claim=c, reviewer=request.user),
            title="Claims approved",
        )

    @admin.action(description="Reject (with a reason)")
    def reject(self, request, queryset):
        return _reason_or_ask(
            self,
            request,
            queryset,
            action="reject",
            title="Reject claims",
            apply=lambda c, reason: moderation.claim_reject(
                claim=c, reviewer=request.user, reason=reason
            ),
        )


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    """The moderation queue; maintainers see their own submissions, read-only."""

    list_display = ("project", "kind", "state", "summary", "warnings", "submitted_by", "created")
    list_filter = ("state", "kind")
    search_fields = ("project__name",)
    readonly_fields = (
        "project",
        "kind",
        "warnings",
        "diff",
        "submitted_by",
        "reviewed_by",
        "decided_at",
        "state",
        "reason",
    )
    fields = readonly_fields
    actions = ["approve", "reject"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("project", "submitted_by")
        if is_moderator(request.user):
            return queryset
        return queryset.filter(submitted_by=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        if is_moderator(request.user):
            return True
        return request.user.is_staff and (obj is None or obj.submitted_by_id == request.user.pk)

    def has_change_permission(self, request, obj=None):
        return is_moderator(request.user)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return super().get_actions(request) if is_moderator(request.user) else {}

    @admin.display(description="change")
    def summary(self, obj):
        return ", ".join(obj.changes) if obj.kind == ChangeRequest.Kind.CHANGE else "new entry"

    @admin.display(description="warnings")
    def warnings(self, obj):
        """Lookalike names, for the reviewer to judge before approving."""
        from projects.selectors import entry_name_warnings

        if obj.state != Review.PENDING:
            return ""
        if obj.kind == ChangeRequest.Kind.NEW:
            name = obj.project.name
        elif isinstance(obj.changes.get("name"), str):
            name = obj.changes["name"]
        else:
            return ""
        found = entry_name_warnings(name=name, exclude_pk=obj.project_id)
        if not found:
            return ""
        return format_html(
            '<ul class="errorlist lookalike-warning">{}</ul>',
            format_html_join("", "<li>&#9888; {}</li>", ((w,) for w in found)),
        )

    @admin.display(description="diff")
    def diff(self, obj):
        rows = [(name, obj.previous.get(name, "—"), value) for name, value in obj.changes.items()]
        return format_html(
            "<table><tr><th>field</th><th>was</th><th>becomes</th></tr>{}</table>",
            format_html_join(
                "", "<tr><td>{}</td><td><del>{}</del></td><td><ins>{}</ins></td></tr>", rows
            ),
        )

    @admin.action(description="Approve and apply")
    def approve(self, request, queryset):
        if not is_moderator(request.user):
            raise PermissionDenied
        _apply_each(
            self,
            request,
            queryset,
            lambda c: moderation.change_approve(request=c, reviewer=request.user),
            title="Changes approved",
        )

    @admin.action(description="Reject (with a reason)")
    def reject(self, request, queryset):
        if not is_moderator(request.user):
            raise PermissionDenied
        return _reason_or_ask(
            self,
            request,
            queryset,
            action="reject",
            title="Reject changes",
            apply=lambda c, reason: moderation.change_reject(
                request=c, reviewer=request.user, reason=reason
            ),
        )


@admin.register(AlternativeProposal)
class AlternativeProposalAdmin(admin.ModelAdmin):
    """Alternatives proposed and decided: staff see all; a maintainer those from and to
    their own entries, and accepts or declines those made to them (projects.alternatives
    checks who may). New ones are proposed from the entry's own page."""

    list_display = (
        "from_project",
        "to_project",
        "state",
        "proposed_by",
        "decided_by",
        "created",
        "decided_at",
    )
    list_filter = ("state",)
    search_fields = ("from_project__name", "to_project__name")
    readonly_fields = list_display
    fields = readonly_fields
    actions = ["accept", "decline", "unlink"]

    def get_queryset(self, request):
        return alternatives.alternative_proposals_visible(user=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return self.has_module_permission(request)
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Accept: list both entries as each other's alternative")
    def accept(self, request, queryset):
        _apply_each(
            self,
            request,
            queryset,
            lambda p: alternatives.alternative_accept(proposal=p, user=request.user),
            title="Proposals accepted",
        )

    @admin.action(description="Decline (or withdraw your own)")
    def decline(self, request, queryset):
        _apply_each(
            self,
            request,
            queryset,
            lambda p: alternatives.alternative_decline(proposal=p, user=request.user),
            title="Proposals declined",
        )

    @admin.action(description="Unlink: no longer list them as alternatives")
    def unlink(self, request, queryset):
        _apply_each(
            self,
            request,
            queryset,
            lambda p: alternatives.alternative_remove(
                project=p.from_project, alternative=p.to_project, user=request.user
            ),
            title="Alternatives unlinked",
        )
