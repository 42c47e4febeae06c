"""kopf's in-memory indexes as handlers see them, filled by the operator's own index functions.

kopf calls an index function with each object and keeps, per key of the dict it returns, the values
of every object that returned that key; a handler reads `index.get(key, [])`. `KopfIndexes` does the
same for the objects a test puts in, so the handlers read what kopf would hand them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

from twilio_operator.handlers import agent_table, emergency_address, indexes, livekit_connection, phone_number

IndexFunction = Callable[..., Awaitable[Mapping[Any, Any]]]
INDEX_FUNCTIONS: dict[str, tuple[str, IndexFunction]] = {
    # kopf's index id -> (the kind it indexes, the function)
    indexes.INDEX_ID: ("provider", indexes.providers),
    "agent_entries": ("number", agent_table.agent_entries),
    "numbers_by_provider": ("number", phone_number.numbers_by_provider),
    "number_claims": ("number", phone_number.number_claims),
    "emergency_addresses": ("address", emergency_address.emergency_addresses),
    "emergency_address_users": ("number", emergency_address.emergency_address_users),
    livekit_connection.INDEX_ID: ("connection", livekit_connection.livekit_connections),
}


class Index:
    """key -> the values of every object that has that key (what `kopf.Index.get` answers)."""

    def __init__(self) -> None:
        self.values: defaultdict[Hashable, list[Any]] = defaultdict(list)

    def get(self, key: Hashable, default: Any = None) -> Any:
        return self.values.get(key, default)


async def kopf_indexes(
    providers: list[dict[str, Any]],
    numbers: list[dict[str, Any]],
    addresses: list[dict[str, Any]] | None = None,
    connections: list[dict[str, Any]] | None = None,
) -> dict[str, Index]:
    """Every index of the operator over these objects, by index id (kopf passes them as keywords)."""
    objects = {
        "provider": providers,
        "number": numbers,
        "address": addresses or [],
        "connection": connections or [],
    }
    result: dict[str, Index] = {}
    for index_id, (kind, function) in INDEX_FUNCTIONS.items():
        index = result[index_id] = Index()
        for body in objects[kind]:
            meta = body["metadata"]
            entries = await function(
                namespace=meta["namespace"],
                name=meta["name"],
                uid=meta["uid"],
                body=body,
                spec=body.get("spec") or {},
                status=body.get("status") or {},
            )
            for key, value in entries.items():
                index.values[key].append(value)
    return result
