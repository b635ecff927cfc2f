"""The signed-in side of the site: the account page, claims, disputes and submissions."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from projects import moderation
from projects.models import Category, ChangeRequest, Claim, Finding, Project
from projects.permissions import maintained_projects


class ClaimForm(forms.Form):
    statement = forms.CharField(
        label="Your role in the project",
        min_length=10,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: core maintainer since 2021, release manager.",
    )


class DisputeForm(forms.Form):
    statement = forms.CharField(
        label="Why this finding is wrong",
        min_length=10,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class TokenForm(forms.Form):
    name = forms.CharField(label="Token name", max_length=100, help_text="e.g. release CI")


class SubmissionForm(forms.ModelForm):
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(parent__isnull=False).select_related("parent"),
        label="Subcategory",
    )

    class Meta:
        model = Project
        fields = ["name", "description", "homepage_url", "repo_url", "documentation_url"]


@login_required
def account_home(request: HttpRequest) -> HttpResponse:
    from api.models import ApiToken

    new_key = request.session.pop("new_api_key", None)
    context = {
        "entries": maintained_projects(request.user).select_related("category"),
        "claims": Claim.objects.filter(user=request.user).select_related("project"),
        "submissions": ChangeRequest.objects.filter(submitted_by=request.user).select_related(
            "project"
        ),
        "findings": Finding.objects.filter(
            project__maintainers__user=request.user, state=Finding.State.OPEN
        ).select_related("project"),
        "tokens": ApiToken.objects.filter(user=request.user, revoked_at__isnull=True),
        "token_form": TokenForm(),
        "dispute_form": DisputeForm(),
        "new_key": new_key,
    }
    return render(request, "me/home.html", context)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    from api.services import token_create as create

    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            _, key = create(user=request.user, name=form.cleaned_data["name"])
        except (IntegrityError, ValueError) as exc:
            messages.error(request, f"Token not created: {exc}")
        else:
            # Shown once, on the next page, never stored in clear.
            request.session["new_api_key"] = key
            messages.success(request, "Token created. Copy it now: it is shown only once.")
    else:
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect("account-home")


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    from api.models import ApiToken
    from api.services import token_revoke as revoke

    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    revoke(token=token, user=request.user)
    messages.success(request, f"Token {token.name!r} revoked.")
    return redirect("account-home")


@login_required
def claim_create(request: HttpRequest, slug: str) -> HttpResponse:
    project = get_object_or_404(Project.objects.published(), slug=slug)
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            moderation.claim_create(
                user=request.user, project=project, statement=form.cleaned_data["statement"]
            )
        except moderation.ModerationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Your claim on {project.name} waits for review.")
            return redirect("account-home")
    return render(request, "me/claim.html", {"project": project, "form": form})


@login_required
@require_POST
def dispute_create(request: HttpRequest, finding_id: int) -> HttpResponse:
    finding = get_object_or_404(Finding.objects.select_related("project"), pk=finding_id)
    form = DisputeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("account-home")
    try:
        moderation.dispute_create(
            finding=finding, user=request.user, statement=form.cleaned_data["statement"]
        )
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    except moderation.ModerationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your statement is with staff, beside the evidence.")
    return redirect("account-home")


@login_required
def submission_create(request: HttpRequest) -> HttpResponse:
    form = SubmissionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = moderation.submission_create(
                user=request.user,
                values={k: v for k, v in form.cleaned_data.items() if v not in (None, "")},
            )
        except moderation.ModerationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{project.name} waits for review; it is not public yet.")
            return redirect("account-home")
    return render(request, "me/submit.html", {"form": form})
