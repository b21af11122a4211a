"""Ways out of the portal: e-mail, chat webhooks and signed generic webhooks.

One module per channel, each with a ``send`` that returns a short receipt or raises
``TransportError``. ``permanent=True`` means trying again cannot help (a refused
address, a 4xx answer): the caller marks the delivery failed and moves on; otherwise
the caller retries with backoff. The callers (``comms`` and ``oncall`` outbox tasks) own
idempotency: they pass the key each receiver uses to drop duplicates.
"""


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent
