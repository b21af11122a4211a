"""JSON over HTTP POST: generic signed webhooks, and the transport of the chat formats.

Signed requests carry ``X-Hotline-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` (the Stripe scheme: the timestamp stops replays) and every request an
``Idempotency-Key`` that receivers use to drop a repeat delivery.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from . import TransportError

TIMEOUT_SECONDS = 10
# Answers that mean "try again later" although they are 4xx.
RETRYABLE_CLIENT_ERRORS = {408, 409, 425, 429}


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """Check a signature header as a receiver would (used by tests and documented)."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def send(
    url: str,
    payload: Any,
    *,
    idempotency_key: str,
    secret: str = "",
    headers: dict[str, str] | None = None,
) -> str:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "Hotline-Webhook/1")
    request.add_header("Idempotency-Key", idempotency_key)
    if secret:
        request.add_header("X-Hotline-Signature", signature(secret, int(time.time()), body))
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        permanent = 400 <= error.code < 500 and error.code not in RETRYABLE_CLIENT_ERRORS
        raise TransportError(f"HTTP {error.code} from {url}", permanent=permanent) from error
    except (urllib.error.URLError, OSError) as error:
        raise TransportError(f"{url} unreachable: {error}") from error
