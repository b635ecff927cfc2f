"""The Celery app, configured from Django's settings (the ``CELERY_`` keys)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "landscape.settings")

app = Celery("landscape")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
