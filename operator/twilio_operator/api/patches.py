"""The status as the API server stores it, and the JSON merge patch from one status to another."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def dump(model: BaseModel) -> dict[str, Any]:
    """The model as the API server stores it: camelCase keys, no unset optionals."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def status_patch(written: BaseModel, wanted: BaseModel) -> dict[str, Any]:
    """A JSON merge patch from the status as it was written to the one wanted.

    A field that became unset must be sent as null: leaving it out of a merge patch keeps the old
    value on the server, and a stale trunkSid there once made a provider and a number wake each
    other in a loop.
    """
    return _merge_patch(dump(written), dump(wanted))


def _merge_patch(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`after`, plus null for every key `before` had and `after` lacks, at every level of nesting
    (status.sipCredentials.previousUsername must go when the previous pair is retired)."""
    patch: dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key)
        patch[key] = _merge_patch(old, value) if isinstance(value, dict) and isinstance(old, dict) else value
    patch.update({key: None for key in before if key not in after})
    return patch
