from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("", views.landscape, name="landscape"),
    path("projects/<slug:slug>/", views.project_detail, name="detail"),
]
