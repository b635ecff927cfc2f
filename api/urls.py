from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView, DefaultRouter

from api import views
from api.docs import RedocView, redoc_bundle
from landscape.site import SiteAddressed

app_name = "api"


class SiteRootView(APIRootView):
    """The API's root: its links start with SITE_URL, not the request's Host."""

    def get(self, request, *args, **kwargs):
        return super().get(SiteAddressed(request), *args, **kwargs)


router = DefaultRouter()
router.APIRootView = SiteRootView
router.include_format_suffixes = False
router.register("projects", views.ProjectViewSet, basename="project")
router.register("findings", views.FindingViewSet, basename="finding")

v1 = [
    path("", include(router.urls)),  # first: the entries are what is read most
    path("categories/", views.CategoryTreeView.as_view(), name="categories"),
    path("stats/", views.StatsView.as_view(), name="stats"),
    path("export/landscape.yml", views.LandscapeYamlExport.as_view(), name="export-landscape"),
    path("export/projects.csv", views.ProjectsCsvExport.as_view(), name="export-csv"),
    path("export/projects.json", views.ProjectsJsonExport.as_view(), name="export-json"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script as a file: the CSP allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path(
        "redoc/",
        # The stock template loads web fonts from a CDN, the stock bundle a logo: ours
        # serve everything locally (api.docs).
        RedocView.as_view(url_name="api:schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    path("redoc/redoc.standalone.js", redoc_bundle, name="redoc-bundle"),
]
