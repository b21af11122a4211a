from celery import shared_task
from django.core.cache import cache


@shared_task(ignore_result=True)
def warm_support_boards() -> str:
    """After a change: render the support boards people have open (see
    ``board.warm_boards``). Idempotent: a board already rendered for the
    current marker is only read. The flag goes first: a change after this line queues
    another warm-up, one before it is in the marker read below."""
    from incidents.support import dashboard
    from incidents.support.board import warm_boards

    cache.delete(dashboard.WARM_FLAG)
    return f"{warm_boards()} boards checked"


@shared_task(ignore_result=True)
def fold_metrics_changes() -> str:
    """Keep the metrics' change log short (beat): ``figures.fold`` keeps every version.
    Idempotent: a second run finds one row a month and changes nothing."""
    from incidents.support import figures

    return f"{figures.fold()} changes folded"
