"""Telling someone that a run failed or that loading fell behind: a JSON POST to a webhook
(Slack, Teams and most chat tools take one) and/or an e-mail through an SMTP server. Set by
ICON_ALERT_WEBHOOK, ICON_ALERT_EMAIL, ICON_SMTP and ICON_ALERT_FROM (dagster_project/settings.py);
with none set, the message is only recorded in the IDB (G_LOG_MESSAGES)."""

from __future__ import annotations

import json
import smtplib
import urllib.request
from email.message import EmailMessage

import dagster as dg

TIMEOUT = 10    # seconds: a channel that does not answer must not hold the sensor up


class Alerts(dg.ConfigurableResource):
    webhook: str = ""
    email_to: str = ""          # comma-separated addresses
    smtp: str = "127.0.0.1:25"  # host[:port]
    email_from: str = "icon-etl@localhost"

    def channels(self) -> list[str]:
        return [c for c, on in (("webhook", self.webhook), ("e-mail", self.email_to)) if on]

    def send(self, subject: str, text: str, details: dict[str, str]) -> list[str]:
        """Send to every channel set; returns one line per channel that failed (a broken
        channel never stops the others, nor the sensor: the message is in the IDB anyway)."""
        problems = []
        if self.webhook:
            try:
                self._post(subject, text, details)
            except Exception as exc:  # noqa: BLE001  (reported to the caller)
                problems.append(f"webhook {self.webhook}: {exc}")
        if self.email_to:
            try:
                self._mail(subject, text, details)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"e-mail via {self.smtp}: {exc}")
        return problems

    def _post(self, subject: str, text: str, details: dict[str, str]) -> None:
        body = json.dumps({"text": f"{subject}\n{text}", "subject": subject, "message": text,
                           "details": details}).encode()
        request = urllib.request.Request(self.webhook, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()

    def _mail(self, subject: str, text: str, details: dict[str, str]) -> None:
        message = EmailMessage()
        message["Subject"], message["From"] = subject, self.email_from
        message["To"] = ", ".join(a.strip() for a in self.email_to.split(",") if a.strip())
        message.set_content(text + "\n\n" + "\n".join(f"{k}: {v}" for k, v in details.items()))
        host, _, port = self.smtp.partition(":")
        with smtplib.SMTP(host, int(port or 25), timeout=TIMEOUT) as server:
            server.send_message(message)
