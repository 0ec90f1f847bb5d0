"""What every role builds from a window of events: one shape, so that a new role is one package
(its `build_<role>` returning a `RoleResult`) plus one asset."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from transforms.idb import table

STATUS_SCHEMA = {"entity": pl.String, "open": pl.Boolean, "last_ts": pl.Datetime("us", "UTC"),
                 "settles_at": pl.Datetime("us", "UTC")}
OPEN_KEYS_SCHEMA = {"key": pl.String}
EVENT_KEYS_SCHEMA = {"file_id": pl.UInt32, "line": pl.UInt32, "key": pl.String}


def _empty(schema: dict) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


@dataclass
class RoleResult:
    """A role's rows of a window, and what the next window needs of it.

    * `tables`: IDB table name -> rows (conformed to the table);
    * `status`: one row per entity written (`entity` = the rows' ETL_ENTITY, `open`: its rows are
      provisional, it has not ended; `last_ts`: the last event its rows depend on; `settles_at`:
      for an entity closed without an event of its own (a call silent for too long, a session
      whose data source session ended), the moment the data had to reach for it to close: its
      rows changed at the first event at or after it; roles whose entities move together add
      `group`);
    * `open_keys` (`key`): entities whose events the next window must see again (carried);
    * `event_keys` (`file_id`, `line`, `key`): the entity each event of the window belongs to.
    """

    tables: dict[str, pl.DataFrame]
    status: pl.DataFrame = field(default_factory=lambda: _empty(STATUS_SCHEMA))
    open_keys: pl.DataFrame = field(default_factory=lambda: _empty(OPEN_KEYS_SCHEMA))
    event_keys: pl.DataFrame = field(default_factory=lambda: _empty(EVENT_KEYS_SCHEMA))

    @staticmethod
    def empty(names: list[str], status: dict | None = None) -> "RoleResult":
        """No rows in any of `names`' tables; `status`: the role's status schema."""
        return RoleResult({name: table(name).empty() for name in names},
                          _empty(status or STATUS_SCHEMA))

    @property
    def rows(self) -> int:
        return sum(frame.height for frame in self.tables.values())

    @property
    def open_entities(self) -> int:
        return int(self.status["open"].sum()) if self.status.height else 0

    def rows_per_table(self) -> dict[str, int]:
        return {name: frame.height for name, frame in self.tables.items()}

    def __add__(self, other: "RoleResult") -> "RoleResult":
        """Two parts of one role's result (e.g. gls's sessions and its custom states)."""
        return RoleResult({**self.tables, **other.tables},
                          pl.concat([self.status, other.status], how="diagonal_relaxed"),
                          pl.concat([self.open_keys, other.open_keys], how="vertical_relaxed"),
                          pl.concat([self.event_keys, other.event_keys], how="vertical_relaxed"))
