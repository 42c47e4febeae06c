"""Each way LiveKit says no, from the real server, as the one typed error the reconcile will read:
conflicts that quote LiveKit and name the other trunk or rule, refusals, a missing object, a wrong key,
a wrong URL, and LiveKit (or its Redis) down. No message may carry the API secret or a SIP password."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from twilio_operator.api.errors import LiveKitError, LiveKitErrorKind
from twilio_operator.api.livekit_values import (
    DispatchRuleSpec,
    InboundTrunkSpec,
    LiveKitServer,
    OutboundTrunkSpec,
)
from twilio_operator.ports.livekit.adapter import LiveKitLibraryConnector
from twilio_operator.ports.livekit.port import LiveKitPort
from twilio_operator.testing.livekit import LiveKitServer as LiveKitProcesses
from twilio_operator.testing.ports import free_port

A, B = "+15550001111", "+15550002222"
PASSWORD = "sip-password-5a4b3c2d1e0f9g8h7i6j"


async def test_a_second_inbound_trunk_with_the_same_number_is_a_conflict_naming_the_first(
    livekit_port: LiveKitPort,
) -> None:
    first = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="first", numbers=(A, B)))
    with pytest.raises(LiveKitError) as caught:
        # The same number without "+": LiveKit's conflict check normalises numbers.
        await livekit_port.create_inbound_trunk(
            InboundTrunkSpec(name="second", numbers=(A.removeprefix("+"),))
        )
    error = caught.value
    assert (error.kind, error.status, error.code) == (LiveKitErrorKind.CONFLICT, 400, "invalid_argument")
    assert error.conflicting_id == first.id
    assert error.detail.startswith(f'Conflicting inbound SIP Trunks: "<new>" and "{first.id}"')
    assert str(error).startswith(
        "cannot create LiveKit inbound trunk: HTTP 400, invalid_argument: Conflicting"
    )
    assert await livekit_port.list_inbound_trunks() == [first]  # nothing was created


async def test_a_second_dispatch_rule_for_the_same_trunk_and_number_is_a_conflict_naming_the_first(
    livekit_port: LiveKitPort,
) -> None:
    trunk = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="in", numbers=(A,)))
    first = await livekit_port.create_dispatch_rule(
        DispatchRuleSpec(name="support", trunk_ids=(trunk.id,), numbers=(A,), agents=("support",))
    )
    with pytest.raises(LiveKitError) as caught:
        await livekit_port.create_dispatch_rule(
            DispatchRuleSpec(name="sales", trunk_ids=(trunk.id,), numbers=(A,), agents=("sales",))
        )
    error = caught.value
    assert (error.kind, error.status) == (LiveKitErrorKind.CONFLICT, 400)
    assert error.conflicting_id == first.id
    assert error.detail == (
        "Dispatch rule for the same trunk, inbound number, number, and PIN combination already exists "
        f'in dispatch rule "{first.id}" "support"'
    )
    assert await livekit_port.list_dispatch_rules() == [first]


async def test_an_outbound_trunk_without_numbers_is_invalid_and_never_shows_its_password(
    livekit: LiveKitProcesses, livekit_port: LiveKitPort
) -> None:
    spec = OutboundTrunkSpec(
        name="out", address="x.pstn.twilio.com", numbers=(), auth_username="u", auth_password=PASSWORD
    )
    with pytest.raises(LiveKitError) as caught:
        await livekit_port.create_outbound_trunk(spec)
    error = caught.value
    assert (error.kind, error.status, error.code) == (LiveKitErrorKind.INVALID, 400, "invalid_argument")
    assert str(error) == (
        "cannot create LiveKit outbound trunk: HTTP 400, invalid_argument: no trunk numbers specified"
    )
    assert PASSWORD not in repr(spec)
    assert PASSWORD not in livekit.livekit_log.read_text()  # LiveKit redacts it in its own log too


async def test_livekit_checks_numbers_on_create_but_not_on_an_update_that_adds_one(
    livekit_port: LiveKitPort,
) -> None:
    # livekit-server 1.13.5 validates an update only against trunks that already hold the new numbers,
    # which leaves out the trunk being updated: a reconcile must not count on a CONFLICT here.
    first = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="first", numbers=(A,)))
    second = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="second", numbers=(B,)))
    updated = await livekit_port.update_inbound_trunk(
        second.id, InboundTrunkSpec(name="second", numbers=(A,))
    )
    assert updated.spec.numbers == (A,)
    assert sorted(t.id for t in await livekit_port.list_inbound_trunks(numbers=[A])) == sorted(
        [first.id, second.id]
    )
    with pytest.raises(LiveKitError) as caught:  # a create still sees the clash
        await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="third", numbers=(A,)))
    assert caught.value.kind is LiveKitErrorKind.CONFLICT
    assert caught.value.conflicting_id in (first.id, second.id)


async def test_updating_a_trunk_that_does_not_exist_is_not_found(livekit_port: LiveKitPort) -> None:
    with pytest.raises(LiveKitError) as inbound:
        await livekit_port.update_inbound_trunk("ST_doesnotexist", InboundTrunkSpec(name="in", numbers=(A,)))
    with pytest.raises(LiveKitError) as outbound:
        await livekit_port.update_outbound_trunk(
            "ST_doesnotexist", OutboundTrunkSpec(name="out", address="x.pstn.twilio.com", numbers=(A,))
        )
    for error in (inbound.value, outbound.value):
        assert (error.kind, error.status, error.code) == (LiveKitErrorKind.NOT_FOUND, 404, "not_found")
        assert error.detail == "requested sip trunk does not exist"


@pytest.mark.parametrize("wrong", ["key", "secret"])
async def test_a_wrong_key_or_secret_is_auth_and_never_shows_the_secret(
    livekit: LiveKitProcesses, livekit_connector: LiveKitLibraryConnector, wrong: str
) -> None:
    other_secret = "another-secret-that-is-long-enough-0123456789"
    server = LiveKitServer(
        url=livekit.url,
        api_key="APIunknownkey" if wrong == "key" else livekit.api_key,
        api_secret=other_secret if wrong == "secret" else livekit.api_secret,
    )
    with pytest.raises(LiveKitError) as caught:
        await livekit_connector.connect(server).list_inbound_trunks()
    error = caught.value
    assert (error.kind, error.status) == (LiveKitErrorKind.AUTH, 401)
    assert (
        str(error)
        == "cannot list LiveKit inbound trunks: HTTP 401: LiveKit did not accept the API key and secret"
    )
    assert server.api_secret not in str(error) and server.api_secret not in repr(error.args)


@pytest.mark.parametrize(
    ("url_of", "kind", "detail"),
    [
        (lambda lk, port: f"http://127.0.0.1:{port}", LiveKitErrorKind.UNREACHABLE, "cannot connect to"),
        (lambda lk, port: f"{lk.url}/not-livekit", LiveKitErrorKind.UNREACHABLE, "but not as LiveKit's API"),
        (lambda lk, port: lk.url.replace("http://", "https://"), LiveKitErrorKind.UNREACHABLE, "TLS with"),
        (lambda lk, port: lk.url.removeprefix("http://"), LiveKitErrorKind.INVALID, "must start with"),
    ],
    ids=["nothing-listening", "not-livekit-path", "https-to-http", "no-scheme"],
)
async def test_a_wrong_url_says_so(
    livekit: LiveKitProcesses,
    livekit_connector: LiveKitLibraryConnector,
    url_of: Callable[[LiveKitProcesses, int], str],
    kind: LiveKitErrorKind,
    detail: str,
) -> None:
    url = url_of(livekit, free_port())
    server = LiveKitServer(url=url, api_key=livekit.api_key, api_secret=livekit.api_secret)
    with pytest.raises(LiveKitError) as caught:
        await livekit_connector.connect(server).list_inbound_trunks()
    assert caught.value.kind is kind
    assert detail in caught.value.detail
    assert livekit.api_secret not in str(caught.value)


async def test_livekit_down_is_unreachable_and_its_objects_are_there_when_it_is_back(
    livekit: LiveKitProcesses, livekit_port: LiveKitPort
) -> None:
    trunk = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="in", numbers=(A,)))
    livekit.stop_livekit()
    # The first call may go out on the pooled connection the server closed on its way down.
    for attempt in (1, 2):
        with pytest.raises(LiveKitError) as caught:
            await livekit_port.list_inbound_trunks()
        assert caught.value.kind is LiveKitErrorKind.UNREACHABLE, attempt
        assert caught.value.status is None
    assert str(caught.value) == (
        f"cannot list LiveKit inbound trunks: cannot connect to 127.0.0.1:{livekit.port}: connection refused"
    )

    livekit.start_livekit()
    assert await livekit_port.list_inbound_trunks() == [trunk]  # kept in Redis across the restart


async def test_redis_down_is_transient_not_unreachable(
    livekit: LiveKitProcesses, livekit_port: LiveKitPort
) -> None:
    livekit.stop_redis()
    with pytest.raises(LiveKitError) as caught:
        await livekit_port.list_inbound_trunks()
    error = caught.value
    # LiveKit itself answered: LiveKitReachable holds, the call is retried later.
    assert (error.kind, error.status) == (LiveKitErrorKind.TRANSIENT, 500)
    assert "connection refused" in error.detail

    livekit.start_redis()
    assert await livekit_port.list_inbound_trunks() == []  # LiveKit reconnects by itself


async def test_a_delete_of_a_missing_trunk_succeeds_as_livekit_answers_it(livekit_port: LiveKitPort) -> None:
    await livekit_port.delete_trunk("ST_doesnotexist")  # no error: LiveKit does not say "not found" here
    assert await livekit_port.list_inbound_trunks() == []
