from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Landscape"

    def ready(self):
        from projects import alternatives  # noqa: F401 - records every link change
        from projects.web import signals  # noqa: F401 - connects the receivers
