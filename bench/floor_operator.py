"""The framework's floor: a bare kopf operator for the same CRD whose only handler patches one status
field on create. `kopf run --standalone -n NS bench/floor_operator.py`; bench/run.py scenario e."""

from __future__ import annotations

import logging
from typing import Any

import kopf


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # Same as twilio-operator's startup: no kopf "handler succeeded" events (a POST per handler run).
    settings.posting.level = logging.WARNING


@kopf.on.create("voip.twilio-operator.dev", "v1alpha1", "twilioproviders")
async def created(meta: kopf.Meta, patch: kopf.Patch, **_: Any) -> None:
    patch.status["observedGeneration"] = meta["generation"]
