"""Call events, ready for the call model: server events only, in event order, with the switch
from the configuration, a call key for every event, and the few KV values the model reads."""

from __future__ import annotations

from datetime import timedelta

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


# a T-Server answers a request at once; a ReferenceID comes back (a client's counter wraps, a
# client restarts) long after: an EventError answers the request of its ReferenceID before it
# within this much time
REPLY_WITHIN = timedelta(seconds=30)


def transfer_failures(base: pl.DataFrame) -> pl.DataFrame:
    """EventError replies that answer a transfer or conference request (same T-Server, same
    ReferenceID, the latest such request before the reply, within REPLY_WITHIN): the call's
    transfer failed (G_CALL_HISTORY call_trfailed). Matching the latest request, not every
    earlier one, makes the answer the same in a window of any length."""
    requests = (base.filter((pl.col("direction") == "request")
                            & pl.col("message").is_in(TRANSFER_REQUESTS))
                .filter(pl.col("reference_id").is_not_null())
                .select("app", "reference_id", _ord=pl.col("ord"), _ts=pl.col("ts"),
                        _request=pl.col("message"), _call=pl.col("call")).sort("_ord"))
    errors = base.filter((pl.col("message") == "EventError")
                         & pl.col("reference_id").is_not_null()).sort("ord")
    matched = errors.join_asof(requests, left_on="ord", right_on="_ord",
                               by=["app", "reference_id"], strategy="backward",
                               check_sortedness=False)   # sorted by ord above
    return (matched.filter(pl.col("_request").is_not_null()
                           & (pl.col("ts") - pl.col("_ts") <= REPLY_WITHIN))
            .select(pl.coalesce("_call", "call").alias("call"), "ts", "ord", "src", "dss_id",
                    "_request", "error_code"))


def route_requests(base: pl.DataFrame) -> pl.DataFrame:
    """RequestRouteCall from the router: app, reference_id, ord, ts, route_type (each request;
    the routing result takes the latest one before the EventRouteUsed that answers it)."""
    return (base.filter((pl.col("direction") == "request") & pl.col("message").is_in(ROUTE_REQUESTS)
                        & pl.col("reference_id").is_not_null())
            .select("app", "reference_id", "ord", "ts", "route_type").sort("ord"))


def call_events(base: pl.DataFrame) -> pl.DataFrame:
    """The server events only (requests and replies are context for `transfer_failures`); an
    event with neither CallUUID nor ConnID (a block cut before them) belongs to no call."""
    return base.filter((pl.col("direction") == "event") & pl.col("call").is_not_null())
