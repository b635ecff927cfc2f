from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Landscape"

    def ready(self):
        from projects.web import signals  # noqa: F401 - connects the receivers
