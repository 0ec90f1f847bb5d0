"""G_LOG_MESSAGES rows: ICON's message log (read with SCI), here what the loading has to tell an
operator (docs/semantics.md §13): runs that failed, stuck calls and login sessions closed by a
closure rule, loading that fell behind the logs. Each message's details are G_LOG_ATTRS rows.

A message's ID is a hash of what it is about (a run; an hour's closures of one table and rule),
so that writing it again replaces it: re-running an hour never doubles its messages."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone

import polars as pl

from transforms.hours import hour_span
from transforms.idb.dictionary import LogCategory, LogMessageId, LogOrigin, LogPriority
from transforms.idb.schema import table

SAMPLE = 10     # entities named in a closure message's attributes


@dataclass(frozen=True)
class LogMessage:
    message_id: LogMessageId
    app: str                    # APPNAME: the job, asset or sensor that tells
    about: str                  # what it is about: with app and message_id, the row's ID
    text: str
    generated: datetime         # TIMEGENERATED (UTC)
    priority: LogPriority = LogPriority.STANDARD
    category: LogCategory = LogCategory.DEFAULT
    partition: str | None = None    # the hour it is about, if one
    run_id: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> int:
        digest = hashlib.sha256(f"{self.app}\0{int(self.message_id)}\0{self.about}".encode())
        return int.from_bytes(digest.digest()[:8], "big") >> 1     # a positive BIGINT


def message_frames(messages: list[LogMessage], written: datetime | None = None
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The G_LOG_MESSAGES and G_LOG_ATTRS rows of `messages`."""
    written = written or datetime.now(timezone.utc)
    host = socket.gethostname()
    rows = [{
        "ID": m.id, "MESSAGE_ID": int(m.message_id),
        "TIMEGENERATED": m.generated.replace(tzinfo=None),
        "TIMEWRITTEN": written.replace(tzinfo=None), "PRIORITY": int(m.priority),
        "ORIGIN": int(LogOrigin.ETL), "CATEGORY": int(m.category),
        "DATALEN": sum(len(k) + len(v) for k, v in m.attrs.items()), "APPNAME": m.app,
        "HOSTNAME": host, "MESSAGETEXT": m.text, "ETL_PARTITION": m.partition,
        "ETL_RUN_ID": m.run_id} for m in messages]
    attrs = [{"ID": m.id, "ATTR_NAME": k, "ATTR_VALUE": v} for m in messages
             for k, v in m.attrs.items()]
    return (table("G_LOG_MESSAGES").conform(pl.DataFrame(rows)) if rows
            else table("G_LOG_MESSAGES").empty(),
            table("G_LOG_ATTRS").conform(pl.DataFrame(attrs)) if attrs
            else table("G_LOG_ATTRS").empty())


def closure_messages(frames: dict[str, pl.DataFrame], app: str,
                     stuck: dict[str, tuple[str, tuple[str, ...]]]) -> list[LogMessage]:
    """One message per hour, table and rule: the stuck calls and login sessions a closure rule
    ended in the rows written for that hour (ETL_PARTITION), with the first few named.
    `stuck`: table -> (its entity column, the rules that close a stuck entity)."""
    out = []
    for name, (entity, rules) in stuck.items():
        frame = frames.get(name)
        if frame is None or frame.height == 0:
            continue
        closed = (frame.filter(pl.col("ETL_CLOSED_BY").is_in(list(rules)))
                  .sort("CREATED_TS", entity)
                  .group_by("ETL_PARTITION", "ETL_CLOSED_BY", maintain_order=True)
                  .agg(n=pl.len(), first=pl.col(entity).head(SAMPLE),
                       created=pl.col("CREATED").head(SAMPLE))
                  .sort("ETL_PARTITION", "ETL_CLOSED_BY"))
        what = "call(s)" if name == "G_CALL" else "login session(s)"
        for hour, rule, n, first, created in closed.iter_rows():
            named = ", ".join(f"{e} (created {c:%Y-%m-%d %H:%M:%S})"
                              for e, c in zip(first, created))
            out.append(LogMessage(
                LogMessageId.STUCK_CLOSED, app, f"{hour}/{name}/{rule}",
                f"{n} {what} closed by rule {rule} in {hour} ({name}.ETL_CLOSED_BY): {named}"
                + (" …" if n > len(first) else ""),
                hour_span(hour)[1], partition=hour,
                attrs={"TABLE": name, "RULE": rule, "COUNT": str(n), "HOUR": hour,
                       "FIRST": ", ".join(first)}))
    return out
