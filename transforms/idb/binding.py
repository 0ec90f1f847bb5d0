"""A data folder belongs to one IDB, and an IDB to one data folder: the hours, carries and
registries of the data folder describe what the IDB holds, so loading one folder of logs into two
IDBs through one data folder (or one IDB from two data folders) would mix them. The data folder
keeps the IDB it belongs to (`idb.json`: its URL, password masked, and the id they share); the
IDB keeps the data folder it is loaded from (ETL_DATA_FOLDER). A mismatch is refused with what to
do; a new pair is bound on first use. An IDB re-created at the same URL (deleted to be loaded
again) takes the data folder back; so does a data folder deleted and made again at the same
path."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from transforms.datafolder import DataFolder
from transforms.idb.store import IdbStore, redact_url

TABLE = "ETL_DATA_FOLDER"


class BindingError(ValueError):
    """The data folder and the IDB belong to others (the message says how to go on)."""


def bind(store: IdbStore, data: DataFolder) -> str:
    """Check (and on first use, record) that `data` and the IDB of `store` belong together;
    returns the id they share."""
    url = redact_url(store.url)
    marker = data.idb_marker()
    with store.begin() as conn:
        row = conn.execute(sa.text(f"SELECT DATA_FOLDER_ID, PATH FROM {TABLE}")).first()
        if marker is not None and marker["idb_url"] != url and (
                row is None or row[0] != marker["data_folder_id"]):
            raise BindingError(
                f"data folder {data.root} belongs to the IDB {marker['idb_url']}, not to {url}: "
                f"to load into {url}, give it a data folder of its own (--data NEW_FOLDER or "
                f"ICON_DATA_DIR); to rebuild {marker['idb_url']}'s data folder, delete "
                f"{data.root} and load again")
        if row is not None and (marker is None or row[0] != marker["data_folder_id"]) \
                and row[1] != str(data.root):
            raise BindingError(
                f"the IDB {url} is loaded from the data folder {row[1]}, not from {data.root}: "
                f"use --data {row[1]} (or ICON_DATA_DIR); to load it from {data.root} instead, "
                f"empty the IDB first (drop its tables, or delete the SQLite file)")
        shared = (row[0] if row is not None else
                  marker["data_folder_id"] if marker is not None else uuid.uuid4().hex)
        if row is None:
            conn.execute(sa.text(f"INSERT INTO {TABLE} (DATA_FOLDER_ID, PATH, CREATED) "
                                 f"VALUES (:i, :p, :c)"),
                         {"i": shared, "p": str(data.root),
                          "c": datetime.now(timezone.utc).replace(tzinfo=None)})
    if marker is None or marker["data_folder_id"] != shared or marker["idb_url"] != url:
        data.write_idb_marker({"data_folder_id": shared, "idb_url": url})
    return shared
