from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self):
        from corsheaders.signals import check_request_enabled

        from api import schema  # noqa: F401 - registers the OpenAPI extensions
        from api.cors import cors_for_reads_only

        check_request_enabled.connect(cors_for_reads_only, dispatch_uid="api_cors_reads_only")
