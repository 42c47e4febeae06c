"""Experiments with kopf settings without editing the operator: loaded after twilio_operator.handlers
(`kopf run -m twilio_operator.handlers bench/settings_overlay.py`), its startup handler runs after the
operator's `configure` and applies BENCH_KOPF_SETTINGS, e.g.
"persistence.consistency_timeout=30,batching.batch_window=0.05,log.kopf.objects=WARNING"."""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf


@kopf.on.startup()
async def bench_overlay(settings: kopf.OperatorSettings, logger: kopf.Logger, **_: Any) -> None:
    for item in filter(None, os.environ.get("BENCH_KOPF_SETTINGS", "").split(",")):
        path, value = item.split("=", 1)
        if path.startswith("log."):  # log.<logger name>=LEVEL
            logging.getLogger(path.removeprefix("log.")).setLevel(value)
            continue
        group, name = path.split(".", 1)
        target = getattr(settings, group)
        setattr(
            target,
            name,
            type(getattr(target, name))(value) if getattr(target, name) is not None else int(value),
        )
        logger.warning("bench overlay: settings.%s = %r", path, getattr(target, name))
