"""The driver of each protocol, opened from a scale's inventory row."""

from __future__ import annotations

from osuite.devices.labelscale import LabelScale
from osuite.scales.tables import Record


def open_driver(scale: Record, timeout: float) -> LabelScale:
    """A connection to ``scale`` in its protocol (CAS CL, Shtrih-Print or Massa-K)."""
    protocol, host, port = scale["protocol"], scale["host"], int(scale["port"])
    if protocol == "cas":
        from osuite.devices.cas import CasScale

        return CasScale(host, port, timeout=timeout, scale_number=int(scale["scale_number"]))
    if protocol == "shtrih":
        from osuite.devices.shtrih import ShtrihScale

        if scale["password"]:
            return ShtrihScale(host, port, password=scale["password"], timeout=timeout)
        return ShtrihScale(host, port, timeout=timeout)
    if protocol == "massak":
        from osuite.devices.massak_label import MassaKLabelScale

        return MassaKLabelScale(host, port, timeout=timeout)
    raise ValueError(f"no driver for protocol {protocol!r}")
