"""What every part of the data server works with, and the FastAPI dependencies that hand it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from osuite.core.db import Database
from osuite.core.http import Principal, requires
from osuite.core.sync.changelog import ChangeLog
from osuite.core.sync.outbox import Outbox
from osuite.dataserver import tables
from osuite.dataserver.settings import DataServerSettings

# Scopes: administrators' API keys manage and read; enrolled clients sync and act as clients;
# a store data server enrolled with HQ also relays its terminals' documents.
MANAGE = "manage"
READ = "read"
CLIENT = "client"
RELAY = "relay"


@dataclass
class DataServer:
    settings: DataServerSettings
    db: Database
    changelog: ChangeLog
    upstream_outbox: Outbox

    @classmethod
    def open(cls, settings: DataServerSettings) -> DataServer:
        db = Database(settings.database_url)
        return cls(
            settings=settings,
            db=db,
            changelog=ChangeLog(db, tables.center),
            upstream_outbox=Outbox(db, tables.edge.outbox),
        )


def get_ds(request: Request) -> DataServer:
    ds: DataServer = request.app.state.ds
    return ds


DS = Annotated[DataServer, Depends(get_ds)]
Admin = Annotated[Principal, Depends(requires(MANAGE))]
Reader = Annotated[Principal, Depends(requires(READ))]
Client = Annotated[Principal, Depends(requires(CLIENT))]
