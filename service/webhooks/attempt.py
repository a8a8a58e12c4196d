"""One delivery attempt over HTTP: the Standard Webhooks signature, the address that passed
the SSRF check (no second DNS lookup), and what the receiver answered."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx
from standardwebhooks import Webhook

from service.settings import Settings
from service.webhooks.ssrf import UnsafeUrl, parse_webhook_url, resolve_safely

__all__ = ["Attempt", "Sender"]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _retry_after_s(response: httpx.Response, now: datetime) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None
    duration_ms: int
    error: str | None
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender:
    """Sends attempts with one HTTP client (its connections kept alive between attempts)."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        self.http = httpx.Client(follow_redirects=False, timeout=settings.webhook_timeout_s)

    def close(self) -> None:
        self.http.close()

    def post(self, url: str, secret: str, event_id: str, body: str) -> Attempt:
        """POST the signed ``body`` to ``url`` (checked again against SSRF rules and the
        allowed ports, connecting to the address that passed); never raises."""
        started = time.monotonic()
        try:
            # A URL stored before the allowed ports changed is checked against today's.
            scheme, host, port, path = parse_webhook_url(
                url, allowed_ports=self.settings.webhook_ports
            )
            allow = self.settings.webhook_allow_private
            address = resolve_safely(host, port, allow_private=allow)[0]
        except UnsafeUrl as exc:
            return Attempt(None, 0, f"refused: {exc}")
        now = self.clock()
        is_ip = _is_ip(host)
        host_literal = f"[{host}]" if ":" in host else host
        default_port = {"http": 80, "https": 443}[scheme]
        headers = {
            "content-type": "application/json",
            "user-agent": "agentq-webhooks/1",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, now, body),
            "host": host_literal if port == default_port else f"{host_literal}:{port}",
        }
        # Connect to the address that passed the check (no second DNS lookup); TLS still
        # names and verifies the host.
        literal = f"[{address}]" if ":" in address else address
        target = f"{scheme}://{literal}:{port}{path}"
        extensions = {} if is_ip else {"sni_hostname": host}
        try:
            response = self.http.post(target, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            return Attempt(None, elapsed, f"{type(exc).__name__}: {exc}"[:500])
        elapsed = int((time.monotonic() - started) * 1000)
        return Attempt(response.status_code, elapsed, None, _retry_after_s(response, now))
