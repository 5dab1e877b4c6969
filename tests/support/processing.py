"""Processing centers on loopback for end-to-end tests: a root and subordinates enrolled with it by a
one-time code, each one `osuite processing serve` in its own process that a test can stop and start
again (on the same port and database), seen through its API with an administrator's key and a POS's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osuite.processing.client import ProcessingClient
from osuite.processing.wire import MovementRead
from tests.support.databases import fresh_database
from tests.support.servers import ServerProcess


class Center:
    """One center: its process, a back office's client (``admin``) and the key a POS uses there."""

    def __init__(self, server: ServerProcess, admin_key: str, pos_key: str) -> None:
        self.server = server
        self.admin = ProcessingClient(server.url, admin_key)
        self.pos_key = pos_key

    @property
    def url(self) -> str:
        return self.server.url

    def close(self) -> None:
        self.admin.close()

    def card(self, number: str) -> dict[str, Any]:
        found: dict[str, Any] = self.admin.request("GET", f"/api/v1/cards/{number}")
        return found

    def balance(self, account_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.admin.account(account_id).balance.model_dump()
        return found

    def movements(self, account_id: str) -> list[MovementRead]:
        """The account's journal here, oldest first."""
        found: list[MovementRead] = self.admin.journal(account_id).movements
        return found


@dataclass
class Network:
    root: Center
    subordinates: list[Center] = field(default_factory=list)


@contextmanager
def processing_network(
    root_dir: Path, *, subordinates: int = 1, cards: dict[str, str] | None = None
) -> Iterator[Network]:
    """A root and ``subordinates`` subordinates, served and enrolled; ``cards`` (number → welcome points,
    e.g. ``"500"``) issued at the root before it starts. Everything is stopped and dropped afterwards."""
    with ExitStack() as stack:
        names = ["root", *(f"sub{n + 1}" for n in range(subordinates))]
        urls = [stack.enter_context(fresh_database(root_dir, name)) for name in names]
        root = ServerProcess("processing", root_dir / "root", urls[0], extra=["--role", "root"])
        stack.callback(root.stop)
        admin_key = root.cli("key", "back office")
        pos_key = root.cli("key", "root POS", "--scope", "pos")
        for number, points in (cards or {}).items():
            root.cli("issue-card", number)
            root.cli("adjust", number, points, "--reason", "welcome points", "--by", "e2e")
        codes = [root.cli("code", "--name", name) for name in names[1:]]
        root.start()
        network = Network(Center(root, admin_key, pos_key))
        stack.callback(network.root.close)
        for name, url, code in zip(names[1:], urls[1:], codes, strict=True):
            sub = ServerProcess("processing", root_dir / name, url, extra=["--role", "subordinate"])
            stack.callback(sub.stop)
            sub.cli("enroll", root.url, code, "--name", name)
            center = Center(sub, sub.cli("key", "admin"), sub.cli("key", "store POS", "--scope", "pos"))
            stack.callback(center.close)
            sub.start()
            network.subordinates.append(center)
        yield network
