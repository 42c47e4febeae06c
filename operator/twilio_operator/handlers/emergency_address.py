"""kopf glue for TwilioEmergencyAddress: keep the Twilio Address as the spec says (create, update,
resume and a slow daemon that notices Twilio's review), delete it once no number uses it.

Two in-memory indexes serve it and the numbers: `emergency_addresses` (the objects, for the numbers
that name one) and `emergency_address_users` (which numbers name which address). Handler ids are set
explicitly (see provider.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import kopf

from twilio_operator import metrics
from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.errors import DeletionBlocked, ErrorKind, NotFoundError, TwilioError
from twilio_operator.api.models import EMERGENCY_ADDRESS, GROUP, PHONE_NUMBER, PROVIDER, VERSION
from twilio_operator.emergency_address.reconcile import AddressOutcome, EmergencyAddress, reconcile_address
from twilio_operator.emergency_address.removal import remove_address
from twilio_operator.handlers.indexes import Providers, held_body
from twilio_operator.handlers.runtime import SHARD, retry_delay, run_periodically, to_kopf_errors
from twilio_operator.handlers.state import ObjectKey, OperatorState, state_of
from twilio_operator.phone_number.emergency import AddressView
from twilio_operator.phone_number.reconcile import ProviderView

ADDRESSES = (GROUP, VERSION, EMERGENCY_ADDRESS.plural)
NUMBERS = (GROUP, VERSION, PHONE_NUMBER.plural)
PROVIDERS = (GROUP, VERSION, PROVIDER.plural)
RECHECK_READY = 3600.0  # Twilio's review (validated, verified) changes slowly
IN_USE_POLL_SECONDS = 3.0  # a deletion waiting for numbers re-reads the in-memory index this often
MAX_IN_USE_ROUNDS = 100  # then kopf's own retry takes over (and re-enters the wait)


@kopf.index(*ADDRESSES, id="emergency_addresses", **SHARD)
async def emergency_addresses(
    namespace: str | None, name: str, body: kopf.Body, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> dict[tuple[Any, ...], Any]:
    """("name", namespace, name) -> metadata, spec and status; ("provider", namespace, provider) -> name;
    ("sid", namespace, Address SID) -> name."""
    provider = (spec.get("providerRef") or {}).get("name")
    entries: dict[tuple[Any, ...], Any] = {
        ("name", namespace, name): held_body(body),
        ("provider", namespace, provider): name,
    }
    if status.get("addressSid"):
        entries[("sid", namespace, status["addressSid"])] = name
    return entries


@kopf.index(*NUMBERS, id="emergency_address_users", **SHARD)
async def emergency_address_users(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str | None, str], str]:
    """(namespace, address name) -> the TwilioPhoneNumbers whose spec.emergencyAddressRef names it.
    An empty mapping, not None, for a number without one: kopf keeps an object's previous entries
    when its indexer returns None, so a removed reference would still count."""
    ref = (spec.get("emergencyAddressRef") or {}).get("name")
    return {(namespace, ref): name} if ref else {}


def address_view(index: kopf.Index[Any, Any], namespace: str, name: str) -> AddressView | None:
    """A TwilioEmergencyAddress as a number sees it, from the index."""
    body = next(iter(index.get(("name", namespace, name), [])), None)
    return AddressView.from_body(body) if body is not None else None


def wake_let_go(
    state: OperatorState, index: kopf.Index[Any, Any], namespace: str, linked: str | None, wanted: str | None
) -> None:
    """A number that had Address `linked` and no longer names its object (`wanted`: the name it names
    now) has let it go: a deletion of that address waiting for Twilio to show it unused goes on now."""
    if not linked:
        return
    for name in index.get(("sid", namespace, linked), []):
        if name != wanted:
            state.wake(ObjectKey.emergency_address(namespace, name))


def _provider(address: EmergencyAddress, providers: Providers) -> ProviderView | None:
    found = providers.body(address.namespace, address.spec.provider_ref.name)
    if found is None or (found.get("metadata") or {}).get("deletionTimestamp"):
        return None
    return ProviderView.from_body(found)


def _users(kwargs: dict[str, Any], namespace: str, name: str) -> list[str]:
    return sorted(set(kwargs["emergency_address_users"].get((namespace, name), [])))


async def _reconcile(body: kopf.Body, state: OperatorState, kwargs: dict[str, Any]) -> AddressOutcome:
    address = EmergencyAddress.from_body(dict(body))
    with metrics.timed_reconcile(EMERGENCY_ADDRESS.kind) as record:
        async with state.turn(address.uid):
            outcome = await reconcile_address(address, _provider(address, Providers.of(kwargs)), state.deps)
        record.result = "ready" if outcome.ready else "not_ready"
    previous = c.ReadyState.of(address.status)
    if (previous.is_true, address.status.address_sid) != (outcome.ready, outcome.address_sid):
        # The numbers that name this address link it now (or learn that they cannot).
        for number in _users(kwargs, address.namespace, address.name):
            state.wake(ObjectKey.phone_number(address.namespace, number))
    return outcome


@kopf.on.resume(*ADDRESSES, id="keep_emergency_address", **SHARD)
@kopf.on.create(*ADDRESSES, id="keep_emergency_address", **SHARD)
@kopf.on.update(*ADDRESSES, id="keep_emergency_address", **SHARD)
@to_kopf_errors
async def keep_emergency_address(
    body: kopf.Body, reason: str, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any
) -> None:
    address = EmergencyAddress.from_body(dict(body))
    current = (
        c.is_true(address.status.conditions) and address.status.observed_generation == address.generation
    )
    if reason == kopf.Reason.RESUME and current:
        return  # a restart is no reason to call Twilio: the daemon re-reads the Address hourly
    try:
        outcome = await _reconcile(body, state_of(memo), kwargs)
    except NotFoundError:
        return
    logger.info("TwilioEmergencyAddress %s: %s", outcome.reason, outcome.message)


@kopf.daemon(*ADDRESSES, id="verify_emergency_address", cancellation_timeout=5.0, **SHARD)
async def verify_emergency_address(
    stopped: kopf.DaemonStopped, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any
) -> None:
    """Re-read the Address slowly (Twilio's review sets validated and verified later), at once when
    its provider changes."""
    state = state_of(memo)

    async def run_once() -> float:
        outcome = await _reconcile(body, state, kwargs)
        return RECHECK_READY if outcome.ready else state.settings.number_recheck_seconds

    key = ObjectKey.emergency_address(body["metadata"]["namespace"], body["metadata"]["name"])
    await run_periodically(key, state, stopped, body, logger, RECHECK_READY, run_once)


@kopf.on.event(*PROVIDERS, id="wake_emergency_addresses", **SHARD)
async def wake_emergency_addresses(type: str | None, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """A provider that became Ready (or changed its trunk or went away) lets its addresses go on."""
    if type is None:  # the initial listing: resume handlers cover the addresses
        return
    state = state_of(memo)
    meta = body.get("metadata", {})
    namespace, name = meta.get("namespace"), meta.get("name")
    ready = c.ReadyState.of(body.get("status") or {}).is_true
    for address in kwargs["emergency_addresses"].get(("provider", namespace, name), []):
        view = address_view(kwargs["emergency_addresses"], str(namespace), address)
        if view is None or view.ready != ready or type == "DELETED":
            state.wake(ObjectKey.emergency_address(str(namespace), address))


@kopf.on.delete(*ADDRESSES, id="delete_emergency_address", **SHARD)
@to_kopf_errors
async def delete_emergency_address(
    body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any
) -> None:
    state = state_of(memo)
    address = EmergencyAddress.from_body(dict(body))
    key = ObjectKey.emergency_address(address.namespace, address.name)
    wakeup = state.wakeups.setdefault(key, asyncio.Event())  # the daemon stopped at deletion
    rounds = 0
    while True:
        try:
            async with state.turn(address.uid):
                provider = _provider(address, Providers.of(kwargs))
                users = _users(kwargs, address.namespace, address.name)
                result = await remove_address(address, provider, state.deps, users)
            break
        except DeletionBlocked as blocked:
            rounds += 1
            if rounds > MAX_IN_USE_ROUNDS:
                raise
            logger.info("deletion waits: %s", blocked)
            address = await _wait(
                state, address, wakeup, retry_delay(blocked, rounds, state.settings), kwargs
            )
        except TwilioError as error:
            if error.kind is ErrorKind.TRANSIENT:
                raise
            message = (
                f"cannot delete the Twilio Address: {error}. Fix the provider's credentials, or annotate "
                f"with {names.DELETION_POLICY_OVERRIDE}=Orphan to keep the Address in Twilio"
            )
            await state.deps.kube.post_event(address.ref, "Warning", c.DELETION_BLOCKED, message)
            raise DeletionBlocked(message) from None
    state.forget(address.uid, key)
    metrics.STATES.forget(address.uid)
    logger.info("deleted: %s", result)


async def _wait(
    state: OperatorState,
    address: EmergencyAddress,
    wakeup: asyncio.Event,
    delay: float,
    kwargs: dict[str, Any],
) -> EmergencyAddress:
    """Until the numbers that name the address are gone (the in-memory index), a number that let it go
    wakes us (also one that did so while the last attempt ran: the wake-up is kept until consumed here),
    the annotations change (deletion-policy Orphan), or `delay` passed; one read of the object every
    few seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + delay
    users = _users(kwargs, address.namespace, address.name)
    while (left := deadline - loop.time()) > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=min(left, IN_USE_POLL_SECONDS))
            wakeup.clear()
            break
        if users and not _users(kwargs, address.namespace, address.name):
            break
        current = await state.deps.kube.read_object(EMERGENCY_ADDRESS, address.namespace, address.name)
        if current is None or (current["metadata"].get("annotations") or {}) != address.annotations:
            break
    current = await state.deps.kube.read_object(EMERGENCY_ADDRESS, address.namespace, address.name)
    return EmergencyAddress.from_body(current) if current is not None else address
