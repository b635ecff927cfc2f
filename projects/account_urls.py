from django.urls import path

from projects import account_views

urlpatterns = [
    path("accounts/me/", account_views.account_home, name="account-home"),
    path("accounts/me/tokens/", account_views.token_create, name="account-token-create"),
    path(
        "accounts/me/tokens/<int:token_id>/revoke/",
        account_views.token_revoke,
        name="account-token-revoke",
    ),
    path("projects/<slug:slug>/claim/", account_views.claim_create, name="project-claim"),
    path(
        "findings/<int:finding_id>/dispute/", account_views.dispute_create, name="finding-dispute"
    ),
    path("submit/", account_views.submission_create, name="project-submit"),
]
