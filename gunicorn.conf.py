"""gunicorn's settings, read from the working directory by every gunicorn started here
(the Procfile's, the end-to-end harness's): integration keys in URL paths and Bearer
credentials are left out of the access log (oncall/integrations/logs.py), and each
worker renders the support boards people have open before it serves."""

from typing import Any

logger_class = "oncall.integrations.logs.AccessLogger"


def post_worker_init(worker: Any) -> None:
    # In the worker, once it loaded the application (Django is set up), before its
    # first request: ``warm_at_start`` says why.
    from incidents.support.board import warm_at_start

    warm_at_start()
