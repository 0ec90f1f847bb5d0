"""The G_PARTY rows the gls role looks PARTYIDs up in (of call connected / disconnected records
and custom states): gcc's parties of the same hour, plus those the previous gls hour carried for
its sessions still open."""

from __future__ import annotations

import polars as pl

from transforms.datafolder import DataFolder
from transforms.hours import previous_key
from transforms.roles.carry import Window
from transforms.roles.gls.build import PARTY_LOOKUP
from transforms.roles.result import RoleResult

CARRIED = "parties"


def party_lookup(data: DataFolder, gcc: RoleResult, key: str) -> pl.DataFrame:
    """The hour's lookup: carried from the previous gls hour plus the hour's gcc output (the
    latest row of each party)."""
    frames = [gcc.tables["G_PARTY"].select(PARTY_LOOKUP)]
    carried = data.role_carry("gls", previous_key(key), CARRIED)
    if carried is not None:
        frames.insert(0, carried)
    return pl.concat(frames, how="vertical_relaxed").unique("PARTYID", keep="last",
                                                             maintain_order=True)


def parties_to_carry(parties: pl.DataFrame, carried: Window) -> dict[str, pl.DataFrame]:
    """The parties carried sessions may still need: those created since their first event."""
    since = carried.events["ts"].min()
    keep = parties.clear() if since is None else parties.filter(
        pl.col("CREATED") >= since.replace(tzinfo=None))
    return {CARRIED: keep}
