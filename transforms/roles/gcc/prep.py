"""Call events, ready for the call model: server events only, in event order, with the switch
from the configuration, a call key for every event, and the few KV values the model reads."""

from __future__ import annotations

import polars as pl

from transforms.config import ConfigSnapshot

# DN-based call events and call-based (call monitoring) events the gcc role consumes.
CALL_MESSAGES = [
    "EventRinging", "EventDialing", "EventEstablished", "EventReleased", "EventAbandoned",
    "EventHeld", "EventRetrieved", "EventQueued", "EventDiverted", "EventRouteRequest",
    "EventRouteUsed", "EventPartyChanged", "EventPartyAdded", "EventPartyDeleted",
    "EventDestinationBusy", "EventNetworkReached", "EventCallCreated", "EventCallDataChanged",
    "EventCallDeleted", "EventAttachedDataChanged", "EventError",
]
TRANSFER_REQUESTS = ["RequestSingleStepTransfer", "RequestCompleteTransfer", "RequestMuteTransfer",
                     "RequestCompleteConference", "RequestSingleStepConference"]
ROUTE_REQUESTS = ["RequestRouteCall"]


def order_events(events: pl.DataFrame) -> pl.DataFrame:
    """Event order: time, then the T-Server's own sequence number, then position in the log.
    The order depends only on event content, so it is the same in any processing window."""
    return events.sort("ts", "app", "seq", "file_id", "line", nulls_last=True).with_row_index("ord")


def prepare(events: pl.DataFrame, kvpairs: pl.DataFrame, config: ConfigSnapshot) -> pl.DataFrame:
    """`events`: parsed events with `app`, `src` (file:line) and `dss_id`; returns the call
    events with `switch_id`, `tenant_id`, `call` (the CallUUID, resolved through the ConnID where an
    event lacks it), `releasing_party` and the ReleasingParty of EventReleased/EventAbandoned."""
    switches = config.switches().select("app", "switch_id", "tenant_id")
    base = events.filter(
        ((pl.col("direction") == "event") & pl.col("message").is_in(CALL_MESSAGES))
        | ((pl.col("direction") == "reply") & (pl.col("message") == "EventError"))
        | ((pl.col("direction") == "request")
           & pl.col("message").is_in(TRANSFER_REQUESTS + ROUTE_REQUESTS))
    ).join(switches, on="app", how="left")
    base = order_events(base)
    # The ConnID -> CallUUID map of the window, to give a call to events that print only a ConnID
    # (EventError replies, requests, some T-Servers' DN events).
    by_conn = (base.filter(pl.col("call_uuid").is_not_null() & pl.col("conn_id").is_not_null())
               .group_by("app", "conn_id").agg(_uuid=pl.col("call_uuid").first()))
    base = (base.join(by_conn, on=["app", "conn_id"], how="left")
            .with_columns(call=pl.coalesce("call_uuid", "_uuid",
                                           pl.concat_str([pl.col("app"), pl.col("conn_id")], separator=":")))
            .drop("_uuid"))
    releasing = (kvpairs.filter((pl.col("attribute") == "AttributeExtensions")
                                & (pl.col("key") == "ReleasingParty"))
                 .select("file_id", "line", releasing_party=pl.col("value").str.extract(r"^(\d)", 1)
                         .cast(pl.Int32, strict=False))
                 .unique(["file_id", "line"]))
    base = base.join(releasing, on=["file_id", "line"], how="left")
    return base.sort("ord")


def transfer_failures(base: pl.DataFrame) -> pl.DataFrame:
    """EventError replies that answer a transfer or conference request (same T-Server, same
    ReferenceID): the call's transfer failed (G_CALL_HISTORY call_trfailed)."""
    requests = base.filter((pl.col("direction") == "request")
                           & pl.col("message").is_in(TRANSFER_REQUESTS)).select(
        "app", "reference_id", _request=pl.col("message"), _call=pl.col("call"))
    errors = base.filter(pl.col("message") == "EventError")
    return (errors.join(requests, on=["app", "reference_id"], how="inner")
            .select(pl.coalesce("_call", "call").alias("call"), "ts", "ord", "src", "dss_id",
                    "_request", "error_code"))


def route_requests(base: pl.DataFrame) -> pl.DataFrame:
    """RequestRouteCall from the router: (app, reference_id) -> route_type."""
    return (base.filter((pl.col("direction") == "request") & pl.col("message").is_in(ROUTE_REQUESTS))
            .group_by("app", "reference_id").agg(route_type=pl.col("route_type").first()))


def call_events(base: pl.DataFrame) -> pl.DataFrame:
    """The server events only (requests and replies are context for `transfer_failures`); an
    event with neither CallUUID nor ConnID (a block cut before them) belongs to no call."""
    return base.filter((pl.col("direction") == "event") & pl.col("call").is_not_null())
