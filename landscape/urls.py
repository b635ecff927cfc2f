from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from landscape.healthz import healthz
from landscape.media import media_file
from projects.webhooks import github_webhook

# A database outage answers 503, whatever layer met it (landscape.outage).
handler500 = "landscape.outage.server_error"

urlpatterns = [
    # The most requested first: a path is matched against each pattern in turn.
    path("api/", include("api.urls")),
    path("", include("projects.urls")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("hooks/github/", github_webhook, name="github-webhook"),
    path("accounts/", include("allauth.urls")),
    path("", include("projects.account_urls")),
    path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media_file, name="media"),
]
