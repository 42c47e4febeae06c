"""One port call is one HTTP request, failures included (no retry in place, no failover), counted the
same by livekit-server itself and by the operator's metrics: the reconcile's backoff alone bounds the
load a standing conflict puts on LiveKit."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from twilio_operator.api.errors import LiveKitError, LiveKitErrorKind
from twilio_operator.api.livekit_values import InboundTrunkSpec
from twilio_operator.ports.livekit.port import LiveKitPort
from twilio_operator.testing.livekit import LiveKitServer

A = "+15550001111"
RETRIES = 5

Counts = dict[tuple[str, str], int]


def server_delta(livekit: LiveKitServer, before: Counts, expected: Counts) -> Counts:
    """What livekit-server counted since `before`; waits briefly for `expected`, since LiveKit counts a
    request in a hook that runs after the answer has gone out."""
    deadline = time.monotonic() + 5
    while True:
        after = livekit.request_counts()
        delta = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
        if delta == expected or time.monotonic() > deadline:
            return delta
        time.sleep(0.05)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"twilio_operator_{name}", labels) or 0.0


async def test_a_standing_conflict_costs_one_request_per_attempt(
    livekit: LiveKitServer, livekit_port: LiveKitPort
) -> None:
    server_before = livekit.request_counts()
    created_before = metric("livekit_requests_total", operation="create_inbound_trunk", code="200")
    refused_before = metric("livekit_requests_total", operation="create_inbound_trunk", code="400")
    conflicts_before = metric("livekit_errors_total", operation="create_inbound_trunk", kind="conflict")

    first = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="first", numbers=(A,)))
    for _ in range(RETRIES):
        with pytest.raises(LiveKitError) as caught:
            await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="second", numbers=(A,)))
        assert caught.value.conflicting_id == first.id
    assert await livekit_port.list_inbound_trunks() == [first]

    expected = {
        ("CreateSIPInboundTrunk", ""): 1,
        ("CreateSIPInboundTrunk", "invalid_argument"): RETRIES,
        ("ListSIPInboundTrunk", ""): 1,
    }
    assert server_delta(livekit, server_before, expected) == expected
    assert (
        metric("livekit_requests_total", operation="create_inbound_trunk", code="200") - created_before == 1
    )
    assert metric(
        "livekit_requests_total", operation="create_inbound_trunk", code="400"
    ) - refused_before == (RETRIES)
    assert (
        metric("livekit_errors_total", operation="create_inbound_trunk", kind="conflict") - conflicts_before
        == RETRIES
    )


async def test_a_call_while_livekit_is_down_is_one_attempt(
    livekit: LiveKitServer, livekit_port: LiveKitPort
) -> None:
    await livekit_port.list_inbound_trunks()  # a pooled connection, as in a running operator
    livekit.stop_livekit()
    calls_before = metric("livekit_requests_total", operation="list_inbound_trunks", code="error")
    unreachable_before = metric("livekit_errors_total", operation="list_inbound_trunks", kind="unreachable")

    for _ in range(3):
        with pytest.raises(LiveKitError) as caught:
            await livekit_port.list_inbound_trunks()
        assert caught.value.kind is LiveKitErrorKind.UNREACHABLE

    assert metric("livekit_requests_total", operation="list_inbound_trunks", code="error") - calls_before == 3
    assert (
        metric("livekit_errors_total", operation="list_inbound_trunks", kind="unreachable")
        - unreachable_before
        == 3
    )
