from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: the task outbox (publications the broker refused, sent again later) and
    the production settings checks (``manage.py check --deploy``)."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from ops import checks  # noqa: F401 - registers the deploy checks
