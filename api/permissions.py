"""Who may write what. Reads are public (the querysets hide unpublished entries); writes
need a signed-in user: any may submit an entry, a verified maintainer may change their
own entry's editable fields, staff may do everything."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from projects.permissions import can_edit, is_moderator


class ProjectPermission(BasePermission):
    message = "You may not change this entry: only its verified maintainers and staff may."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        # False for anonymous users: DRF answers 401 with WWW-Authenticate.
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if is_moderator(request.user):
            return True
        if request.method == "DELETE":
            self.message = "Only staff may delete an entry."
            return False
        return can_edit(request.user, obj)
