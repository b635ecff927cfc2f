from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from projects.webhooks import github_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("hooks/github/", github_webhook, name="github-webhook"),
    path("accounts/", include("allauth.urls")),
    path("", include("projects.account_urls")),
    path("api/", include("api.urls")),
    path("", include("projects.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
