"""Operator startup and shutdown: kopf's settings, the ports, metrics, and the typed runtime state.

The operator's own settings (twilio_operator/settings.py) come from the process that started kopf
(process/launch.py, through the memo); kopf started directly (`kopf run -m twilio_operator.handlers`,
as the benchmarks' settings overlay does) reads them from the environment here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf

from twilio_operator import metrics, sharding
from twilio_operator.api.models import GROUP, PROVIDER
from twilio_operator.handlers import provider
from twilio_operator.handlers.runtime import quiet_noisy_loggers, shrink_tls_read_buffers
from twilio_operator.handlers.state import OperatorState, state_of, take_settings
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube import adapter as kube_adapter
from twilio_operator.ports.livekit.adapter import LiveKitLibraryConnector
from twilio_operator.ports.twilio.adapter import TwilioLibraryConnector
from twilio_operator.settings import Settings

LIST_PAGE = 500  # objects per page of kopf's initial listings


class DiffBaseOfHandledKinds(kopf.AnnotationsDiffBaseStorage):
    """kopf's diff base in an annotation, as before, for the kinds with kopf create and update
    handlers; none for TwilioProvider, whose spec changes the operator follows by generation
    (handlers/provider.py): kopf would write one to every new provider, a request of its own per
    object at its first event. What older releases stored on providers stays, unread."""

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        if body.get("kind") == PROVIDER.kind:
            return None
        return super().fetch(body=body)

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        if body.get("kind") != PROVIDER.kind:
            super().store(body=body, patch=patch, essence=essence)


@kopf.on.startup(id="configure")
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    ours = take_settings(memo) or Settings.from_environ(os.environ)
    settings.persistence.finalizer = sharding.finalizer_name(GROUP, ours.shard_labels)
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = DiffBaseOfHandledKinds(
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
    # A restart lists every object of each kind: in pages, so that the whole list's text is never
    # held at once beside the objects parsed from it (kopf lists without a limit by default).
    settings.watching.chunk_size = LIST_PAGE
    quiet_noisy_loggers()
    shrink_tls_read_buffers()  # before the first connection of our clients and of kopf's watches
    deps = Deps(
        twilio=TwilioLibraryConnector(
            ours.twilio_base_url, max_concurrency_per_account=ours.max_concurrency_per_account
        ),
        kube=await kube_adapter.connect(),
        in_use_finalizer=sharding.finalizer_name(GROUP, ours.shard_labels, base="in-use"),
        livekit=LiveKitLibraryConnector(),
    )
    metrics.serve(ours.metrics_port)
    state = memo.state = OperatorState(deps, ours, kopf_settings=settings)
    state.queue.start(
        lambda key: provider.run_due(state, key),
        lambda key, error, failures: provider.retry_due(state, key, error, failures),
    )


@kopf.on.cleanup(id="shutdown")
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    await state_of(memo).queue.stop()
    deps = state_of(memo).deps
    await deps.twilio.close()
    if deps.livekit is not None:
        await deps.livekit.close()
    await deps.kube.close()
