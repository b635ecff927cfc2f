"""Signals the public pages rely on: the search column's category names and the version
that every cached page fragment carries in its key."""

from __future__ import annotations

from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from projects.facts import project_facts_changed
from projects.models import (
    Category,
    Finding,
    Maintainer,
    Project,
    RepositoryStatus,
    SecondaryCategory,
)
from projects.search import update_search_categories
from projects.web.cache import bump_version


@receiver(post_save, sender=Project, dispatch_uid="web_project_search_categories")
def _project_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    # Saves that cannot have moved the entry (the workers' health updates) cost nothing.
    if raw or (update_fields is not None and "category" not in update_fields):
        return
    update_search_categories([instance.pk])


@receiver(post_save, sender=SecondaryCategory, dispatch_uid="web_secondary_saved")
@receiver(post_delete, sender=SecondaryCategory, dispatch_uid="web_secondary_deleted")
def _secondary_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return
    if Project.objects.filter(pk=instance.project_id).exists():
        update_search_categories([instance.project_id])
    bump_version()


@receiver(post_save, sender=Category, dispatch_uid="web_category_saved")
def _category_saved(sender, instance, raw=False, created=False, **kwargs):
    if raw or created:
        return
    in_tree = Q(category=instance) | Q(category__parent=instance)
    ids = set(Project.objects.filter(in_tree).values_list("pk", flat=True))
    ids |= set(SecondaryCategory.objects.filter(in_tree).values_list("project_id", flat=True))
    update_search_categories(ids)


@receiver(post_save, sender=RepositoryStatus, dispatch_uid="facts_repository_saved")
@receiver(post_delete, sender=RepositoryStatus, dispatch_uid="facts_repository_deleted")
@receiver(post_save, sender=Finding, dispatch_uid="facts_finding_saved")
@receiver(post_delete, sender=Finding, dispatch_uid="facts_finding_deleted")
def _facts_changed(sender, instance, raw=False, **kwargs):
    # The entry's copied health, stars, activity, license and findings flag (projects.facts);
    # written only when one of them changes, and once per deferring block (a refresh batch).
    if raw:
        return
    project_facts_changed(project_id=instance.project_id)


# Maintainers: the API shows them (api.caching keeps validators under this version too).
for _model in (Project, Category, RepositoryStatus, Finding, Maintainer):
    post_save.connect(bump_version, sender=_model, dispatch_uid=f"web_bump_save_{_model.__name__}")
    post_delete.connect(
        bump_version, sender=_model, dispatch_uid=f"web_bump_delete_{_model.__name__}"
    )
