"""Operator startup and shutdown: kopf's settings, the ports, metrics, and the typed runtime state."""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf

from twilio_operator import metrics, sharding
from twilio_operator.api.models import GROUP
from twilio_operator.handlers.runtime import quiet_noisy_loggers, shrink_tls_read_buffers
from twilio_operator.handlers.state import OperatorState, state_of
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube import adapter as kube_adapter
from twilio_operator.ports.livekit.adapter import LiveKitLibraryConnector
from twilio_operator.ports.twilio.adapter import TwilioLibraryConnector

BASE_URL_ENV = "TWILIO_OPERATOR_TWILIO_BASE_URL"
MAX_CONCURRENCY_ENV = "TWILIO_OPERATOR_MAX_CONCURRENCY_PER_ACCOUNT"
METRICS_PORT_ENV = "TWILIO_OPERATOR_METRICS_PORT"
MAX_RECONCILES_ENV = "TWILIO_OPERATOR_MAX_CONCURRENT_RECONCILES"
DEFAULT_METRICS_PORT = 9090
DEFAULT_MAX_CONCURRENCY_PER_ACCOUNT = 8
DEFAULT_MAX_RECONCILES = 50


@kopf.on.startup(id="configure")
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = sharding.finalizer_name(GROUP, sharding.current_selector())
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # kopf's own "handler succeeded" events add nothing for users; ours say what happened.
    settings.posting.level = logging.WARNING
    # Under load the API server's echo of kopf's own patch can take longer than kopf's default 5 s;
    # kopf then handles a stale copy and runs the create handler again (541 extra runs for 1,000
    # providers in the benchmark). Waiting longer is cheap: it only delays that one object.
    settings.persistence.consistency_timeout = 60
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    quiet_noisy_loggers()
    shrink_tls_read_buffers()  # before the first connection of our clients and of kopf's watches
    deps = Deps(
        twilio=TwilioLibraryConnector(
            os.environ.get(BASE_URL_ENV) or None,
            max_concurrency_per_account=int(
                os.environ.get(MAX_CONCURRENCY_ENV) or DEFAULT_MAX_CONCURRENCY_PER_ACCOUNT
            ),
        ),
        kube=await kube_adapter.connect(),
        in_use_finalizer=sharding.finalizer_name(GROUP, sharding.current_selector(), base="in-use"),
        livekit=LiveKitLibraryConnector(),
    )
    metrics.serve(int(os.environ.get(METRICS_PORT_ENV) or DEFAULT_METRICS_PORT))
    memo.state = OperatorState(
        deps, max_concurrent_reconciles=int(os.environ.get(MAX_RECONCILES_ENV) or DEFAULT_MAX_RECONCILES)
    )


@kopf.on.cleanup(id="shutdown")
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    deps = state_of(memo).deps
    await deps.twilio.close()
    if deps.livekit is not None:
        await deps.livekit.close()
    await deps.kube.close()
