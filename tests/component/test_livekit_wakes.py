"""Who wakes whom between a LiveKitConnection, its provider, the provider's numbers and the Secrets:
the handlers' wake-ups, called as kopf calls them, with the indexes as kopf hands them over."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from twilio_operator.api import names
from twilio_operator.api.credentials import data_digest
from twilio_operator.api.livekit import Connected
from twilio_operator.handlers import livekit_connection as handlers
from twilio_operator.handlers.indexes import SIP, ProviderRef, Providers, SecretRef, SecretUse
from twilio_operator.handlers.secrets import secret_changed
from twilio_operator.handlers.state import ObjectKey, OperatorState
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData, SecretEvent
from twilio_operator.settings import Settings

from .fake_kube import FakeKube

NAMESPACE = "voice"
CONNECTION = ObjectKey.connection(NAMESPACE, "agents")
PROVIDER = ObjectKey.provider(NAMESPACE, "acme")


class Index:
    """An index as kopf hands it over: key -> the values of that key."""

    def __init__(self, values: dict[Any, list[Any]]) -> None:
        self.values = values

    def get(self, key: Any, default: Any = None) -> Any:
        return self.values.get(key, default)


def world(username: str | None = "u1") -> tuple[OperatorState, SimpleNamespace, dict[str, Any]]:
    state = OperatorState(Deps(twilio=None, kube=FakeKube()), Settings(max_concurrent_reconciles=1))  # type: ignore[arg-type]
    state.wakeups[CONNECTION] = asyncio.Event()  # the connection's daemon runs
    state.queue.plan(PROVIDER, 3600.0)  # the provider is in the due queue, verified an hour from now
    connections = Index(
        {
            ("provider", NAMESPACE, "acme"): [Connected("agents", "sip:lk.example.com", username)],
            ("secret", NAMESPACE, "livekit-api"): ["agents"],
        }
    )
    providers = Index({SecretRef(NAMESPACE, "acme-sip-credentials"): [SecretUse("acme", "uid-1", SIP, ())]})
    kwargs = {handlers.INDEX_ID: connections, "providers": providers}
    return state, SimpleNamespace(state=state), kwargs


def woken(state: OperatorState, key: ObjectKey) -> bool:
    if key == PROVIDER:
        woke = state.queue.woken(key)
        state.queue.forget(key)
        state.queue.plan(key, 3600.0)
        return woke
    woke = state.wakeups[key].is_set()
    state.wakeups[key].clear()
    return woke


def number(agent: str | None, ready: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"providerRef": {"name": "acme"}, "phoneNumber": "+15550001111"}
    if agent:
        spec["agentRef"] = {"name": agent}
    status = {"phoneNumber": "+15550001111", "trunkSid": "TK1"}
    status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]  # type: ignore[assignment]
    return {"metadata": {"namespace": NAMESPACE, "name": "support"}, "spec": spec, "status": status}


async def test_a_number_joining_moving_or_leaving_the_trunk_wakes_the_connections() -> None:
    state, memo, kwargs = world()
    await handlers.number_changed(type=None, body=number("support"), memo=memo, **kwargs)  # initial listing
    assert not woken(state, CONNECTION)
    await handlers.number_changed(type="MODIFIED", body=number("support"), memo=memo, **kwargs)
    assert not woken(state, CONNECTION)  # nothing the connection reads changed
    await handlers.number_changed(type="MODIFIED", body=number("sales"), memo=memo, **kwargs)
    assert woken(state, CONNECTION)  # re-routed
    assert CONNECTION in state.user_wakes  # a person's change: never grows the wake spacing
    await handlers.number_changed(type="DELETED", body=number("sales"), memo=memo, **kwargs)
    assert woken(state, CONNECTION)
    # A number that never reached the trunk wakes nobody.
    await handlers.number_changed(type="ADDED", body=number("support", ready=False), memo=memo, **kwargs)
    assert not woken(state, CONNECTION)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("originationUris", ["sip:lk.example.com"]),
        ("sipCredentials", {"username": "u2"}),
        ("terminationUri", "sip:other.pstn.twilio.com"),
    ],
)
async def test_what_a_connection_reads_of_its_provider_wakes_it(field: str, value: Any) -> None:
    state, memo, kwargs = world()
    body: dict[str, Any] = {
        "metadata": {"namespace": NAMESPACE, "name": "acme"},
        "status": {"trunkSid": "TK1"},
    }
    handlers.provider_changed(None, body, memo, kwargs)  # type: ignore[arg-type]
    handlers.provider_changed("MODIFIED", body, memo, kwargs)  # type: ignore[arg-type]
    assert not woken(state, CONNECTION)
    changed = {**body, "status": {**body["status"], field: value}}
    handlers.provider_changed("MODIFIED", changed, memo, kwargs)  # type: ignore[arg-type]
    assert woken(state, CONNECTION)
    handlers.provider_changed("DELETED", changed, memo, kwargs)  # type: ignore[arg-type]
    assert woken(state, CONNECTION)


async def test_a_connections_username_or_uri_wakes_its_provider() -> None:
    state, memo, kwargs = world()

    def body(username: str | None, uri: str = "sip:lk.example.com") -> dict[str, Any]:
        status = {"outboundTrunk": {"username": username}} if username else {}
        spec = {"providerRef": {"name": "acme"}, "sipUri": uri}
        return {"metadata": {"namespace": NAMESPACE, "name": "agents"}, "spec": spec, "status": status}

    await handlers.connection_changed(type=None, body=body(None), memo=memo, **kwargs)
    await handlers.connection_changed(type="MODIFIED", body=body(None), memo=memo, **kwargs)
    assert not woken(state, PROVIDER)  # its own status writes that change nothing the provider reads
    await handlers.connection_changed(type="MODIFIED", body=body("u2"), memo=memo, **kwargs)
    assert woken(state, PROVIDER)  # switched to a rotated credential: the retirement may go on
    await handlers.connection_changed(
        type="MODIFIED", body=body("u2", "sip:new.example.com"), memo=memo, **kwargs
    )
    assert woken(state, PROVIDER)
    await handlers.connection_changed(type="DELETED", body=body("u2"), memo=memo, **kwargs)
    assert woken(state, PROVIDER)


@pytest.mark.parametrize(
    ("provider_status", "wakes"),
    [
        ({"originationUris": ["sip:LK.example.com"]}, False),  # caught up (the URI by normal form)
        ({"originationUris": []}, True),  # made while no operator ran: not on the trunk yet
        (
            {"originationUris": ["sip:lk.example.com"], "sipCredentials": {"previousKeptFor": ["agents"]}},
            True,
        ),
    ],
)
async def test_at_the_operators_start_a_provider_behind_its_connection_is_woken(
    provider_status: dict[str, Any], wakes: bool
) -> None:
    state, memo, kwargs = world()
    state.queue.forget(PROVIDER)  # not resumed yet: the wake-up must wait for it
    body = {"metadata": {"name": "acme"}, "spec": {}, "status": provider_status}
    kwargs["providers"] = Index({ProviderRef(NAMESPACE, "acme"): [body]})
    connection = {
        "metadata": {"namespace": NAMESPACE, "name": "agents"},
        "spec": {"providerRef": {"name": "acme"}, "sipUri": "sip:lk.example.com"},
        "status": {},
    }
    await handlers.connection_changed(type=None, body=connection, memo=memo, **kwargs)
    await asyncio.sleep(0.01)
    due = state.queue.due_in(PROVIDER)
    assert (due is not None and due <= 0) is wakes


def protected(
    data: dict[str, bytes], digest_of: dict[str, bytes] | None = None, deleting: bool = False
) -> SecretData:
    digest = data_digest(f"{NAMESPACE}/livekit-api", digest_of if digest_of is not None else data)
    return SecretData(
        data=data,
        annotations={names.CREDENTIALS_DIGEST: digest},
        deleting=deleting,
        finalizers=frozenset({"f"}),
    )


async def test_secrets_wake_connections() -> None:
    state, _, kwargs = world()
    connections = handlers.Connections.of(kwargs)
    providers = Providers(kwargs["providers"])
    api = {"apiKey": b"APIkey", "apiSecret": b"secret"}

    # The operator's own protection patch of the API Secret wakes nobody; a changed key does, as a person's.
    await secret_changed(
        state, providers, SecretEvent("MODIFIED", NAMESPACE, "livekit-api", protected(api)), connections
    )
    assert not woken(state, CONNECTION)
    changed = protected({**api, "apiSecret": b"rotated"}, digest_of=api)
    await secret_changed(
        state, providers, SecretEvent("MODIFIED", NAMESPACE, "livekit-api", changed), connections
    )
    assert woken(state, CONNECTION) and CONNECTION in state.user_wakes

    # The provider's SIP Secret (a rotation's new pair): its connections follow.
    sip = SecretEvent("MODIFIED", NAMESPACE, "acme-sip-credentials", SecretData(data={}, annotations={}))
    await secret_changed(state, providers, sip, connections)
    assert woken(state, CONNECTION)

    # An API Secret being deleted while a connection uses it keeps its in-use protection.
    kube = state.deps.kube
    assert isinstance(kube, FakeKube)
    deleting = SecretEvent("MODIFIED", NAMESPACE, "livekit-api", protected(api, deleting=True))
    state.deps.in_use_finalizer = "f"
    await secret_changed(state, providers, deleting, connections)
    assert not any(w.startswith("unprotect") for w in kube.writes)
