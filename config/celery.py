import os

from celery import Celery

from . import broker  # noqa: F401 - registers the embedded broker's transport alias

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hotline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
