from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("", views.landscape, name="landscape"),
    path("projects/<slug:slug>/", views.project_detail, name="detail"),
    path("projects/<slug:slug>/report/", views.report_problem, name="report"),
    path("stats/", views.stats, name="stats"),
    path("badge/<slug:slug>.svg", views.badge, name="badge"),
    path("embed/<slug:slug>/", views.embed, name="embed"),
    path("feed.atom", views.LatestEntriesFeed(), name="feed"),
]
