"""The whole store behind the Manager, every part a real process on loopback: the data server with the
sample store and an enrolled till (tests/support/store.py), a processing center with loyalty cards, the
scale server with an emulated CAS scale holding the meat, a license server, and ``osuite manager serve``
set up with all of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from osuite.devices.cas_emulator import RunningCasScale, start_cas_emulator
from tests.license.conftest import serve_license
from tests.support.processing import Center, processing_network
from tests.support.servers import ServerProcess
from tests.support.store import STORE_CODE, Store, running_store, write_pos_config

PRODUCTS = 300
CARDS = {"7770000000012": "500", "7770000000029": "50", "7770000000036": "120"}
"""Loyalty cards issued at the center, with their welcome points."""
SCALE = "Мясо"
PEOPLE = {
    "admin": "admin-demo",  # administrator
    "manager": "manager-demo",  # store manager
    "auditor": "auditor-demo",  # read-only
}
"""The sample's people who may use the Manager, with their passwords."""


@dataclass
class Office:
    store: Store
    center: Center
    scales: ServerProcess
    scales_key: str
    cas: RunningCasScale
    license: ServerProcess
    manager: ServerProcess

    @property
    def url(self) -> str:
        return self.manager.url


@contextmanager
def running_office(root: Path, *, products: int = PRODUCTS) -> Iterator[Office]:
    with ExitStack() as stack:
        store = stack.enter_context(running_store(root / "store", products=products))
        network = stack.enter_context(processing_network(root / "processing", subordinates=0, cards=CARDS))

        license_server = serve_license(
            root, f"sqlite:///{root / 'license.db'}", seats={"pos": 2, "scales": 1, "manager": 1}
        )
        stack.callback(license_server.stop)
        license_server.start()

        cas = start_cas_emulator("127.0.0.1", 0, folder=root / "cas")
        stack.callback(cas.stop)
        scales_config = write_pos_config(
            root / "scales" / "scales.toml",
            poll_seconds=1.0,
            retry_max_seconds=2.0,
            heartbeat_seconds=1.0,
            long_poll_seconds=2.0,
            device_timeout_seconds=1.0,
        )
        scales = ServerProcess(
            "scales",
            root / "scales",
            f"sqlite:///{root / 'scales' / 'scales.db'}",
            extra=["--config", str(scales_config)],
        )
        stack.callback(scales.stop)
        shop = store.admin.request("GET", f"/api/v1/stores/{STORE_CODE}")
        code = store.admin.issue_enrollment_code(shop["id"], kind="scales", name="Весы").code
        scales.cli("enroll", store.dataserver.url, code)
        scales_key = scales.cli("key", "manager")
        scales.cli("add", SCALE, "--protocol", "cas", "--address", cas.address, "--category", "meat")
        scales.start()

        config = write_pos_config(
            root / "manager" / "manager.toml",
            dataserver_url=store.dataserver.url,
            dataserver_key=store.dataserver.cli("apikey", "manager"),
            processing_url=network.root.url,
            processing_key=network.root.server.cli("key", "manager"),
            scales_url=scales.url,
            scales_key=scales_key,
            license_url=license_server.url,
            timeout_seconds=10.0,
        )
        manager = ServerProcess(
            "manager",
            root / "manager",
            f"sqlite:///{root / 'manager' / 'manager.db'}",
            extra=["--config", str(config)],
        )
        stack.callback(manager.stop)
        manager.start()
        yield Office(store, network.root, scales, scales_key, cas, license_server, manager)
