"""The devices of this till, made from its settings: the fiscal registrar (always), a card terminal and
a checkout scale (when configured)."""

from __future__ import annotations

from osuite.devices.fiscal import FiscalRegistrar
from osuite.devices.payment import CardTerminal
from osuite.devices.scale import WeightScale
from osuite.pos.settings import PosSettings


def registrar(settings: PosSettings) -> FiscalRegistrar:
    from osuite.devices.atol import AtolRegistrar

    return AtolRegistrar(settings.registrar_url, timeout=settings.device_timeout_seconds)


def card_terminal(settings: PosSettings) -> CardTerminal | None:
    if not settings.card_terminal_url:
        return None
    from osuite.devices.card_terminal import HttpCardTerminal

    return HttpCardTerminal(settings.card_terminal_url, timeout=settings.card_timeout_seconds)


def scale(settings: PosSettings) -> WeightScale | None:
    if not settings.scale_address:
        return None
    from osuite.devices.massak import MassaKScale

    host, _, port = settings.scale_address.rpartition(":")
    return MassaKScale(host, int(port), timeout=settings.device_timeout_seconds)
