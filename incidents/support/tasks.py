from celery import shared_task


@shared_task(ignore_result=True)
def warm_support_boards() -> str:
    """After a change: render the support boards people have open (see
    ``board.warm_boards``). Idempotent: a board already rendered for the
    current marker is only read. The flag goes first: a change after this line queues
    another warm-up, one before it is in the marker read below."""
    from incidents.support import dashboard
    from incidents.support.board import warm_boards

    dashboard.BOARDS.warm_up_started()
    return f"{warm_boards()} boards checked"


@shared_task(ignore_result=True)
def warm_metrics_pages() -> str:
    """After a change of the figures: compute the metrics pages people have open (see
    ``metrics_pages.warm``). Idempotent: a page already computed for the current
    figures is only read. The flag goes first, as for the boards."""
    from incidents.support import metrics_pages

    metrics_pages.PAGES.warm_up_started()
    return f"{metrics_pages.warm()} pages checked"


@shared_task(ignore_result=True)
def fold_metrics_changes() -> str:
    """Keep the metrics' change log short (beat): ``figures.fold`` keeps every version.
    Idempotent: a second run finds one row a month and changes nothing."""
    from incidents.support import figures

    return f"{figures.fold()} changes folded"
