"""JSON over HTTP POST: generic signed webhooks, and the transport of the chat formats.

A request signed with the destination's secret carries two signatures of one key, so a
receiver can check it with a verifier it already has (docs/webhooks.md):

- Standard Webhooks (https://www.standardwebhooks.com): ``webhook-id`` (the idempotency
  key, the same on every retry), ``webhook-timestamp`` (unix seconds) and
  ``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``; the key
  is the secret's UTF-8 bytes, which verifiers take as ``whsec_<base64>``
  (``standard_secret``).
- ``X-Hotline-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, the
  scheme of Stripe's ``Stripe-Signature`` header.

The timestamp stops replays: receivers refuse one more than ``TOLERANCE_SECONDS`` away
from their clock. Every request has an ``Idempotency-Key`` to drop a repeat delivery.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from . import TransportError

TIMEOUT_SECONDS = 10
# The replay window, the Standard Webhooks libraries' and Stripe's default.
TOLERANCE_SECONDS = 300
# Answers that mean "try again later" although they are 4xx.
RETRYABLE_CLIENT_ERRORS = {408, 409, 425, 429}


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def standard_secret(secret: str) -> str:
    """The secret as Standard Webhooks verifiers take it (``Webhook("whsec_...")``)."""
    return "whsec_" + base64.b64encode(secret.encode()).decode()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, message_id, timestamp, body),
        "X-Hotline-Signature": signature(secret, timestamp, body),
    }


def verify(secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Check an ``X-Hotline-Signature`` header as a receiver would."""
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
        # Signed at each attempt: a retry has a fresh timestamp, so it is inside the
        # receiver's window however long the receiver was down.
        signed = signature_headers(secret, idempotency_key, int(time.time()), body)
        for name, value in signed.items():
            request.add_header(name, value)
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
