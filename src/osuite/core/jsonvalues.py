"""Free-form JSON that a client may send (settings, heartbeat details, command arguments), checked at
the door: what cannot be stored as JSON (an integer beyond 64 bits) is refused as bad input, not a crash."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, Field

BIGINT = 2**63 - 1


def _storable(value: dict[str, Any]) -> dict[str, Any]:
    try:
        orjson.dumps(value)
    except TypeError as exc:
        raise ValueError(f"cannot be stored: {exc}") from None
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_storable)]
"""A JSON object whose every number fits a 64-bit integer or a double."""

Counter = Annotated[int, Field(ge=0, le=BIGINT)]
"""A non-negative count or cursor that fits a database BIGINT."""
