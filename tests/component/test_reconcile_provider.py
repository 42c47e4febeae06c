"""reconcile_provider against the emulator: create, idempotency, change, drift, crash recovery, errors."""

from __future__ import annotations

import copy

import pytest

from fixtures.twilio_user import delete_trunk_as_a_user
from twilio_operator.api import names
from twilio_operator.api.credentials import meets_twilio_password_rules, password_fingerprint
from twilio_operator.api.errors import ErrorKind, KubernetesError, TwilioError
from twilio_operator.api.models import AgentTableSpec, AgentTableTemplate
from twilio_operator.api.ownership import SIP_SECRET_LABELS

from .conftest import CREDENTIALS_SECRET, NAMESPACE, World


def conditions(world: World) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in world.status.conditions}


def trunks_of(world: World) -> list[dict]:
    return world.account.state()["trunks"]


def lists_of(world: World) -> list[dict]:
    return world.account.state()["credential_lists"]


async def test_create_provisions_trunk_list_and_credential(world: World) -> None:
    outcome = await world.reconcile()

    assert outcome.ready
    status = world.status
    uid_hex = world.provider.uid.replace("-", "")
    assert status.trunk_domain_name == f"twp-{uid_hex}.pstn.twilio.com"
    assert status.termination_uri == f"sip:twp-{uid_hex}.pstn.twilio.com"
    assert status.trunk_sid and status.trunk_sid.startswith("TK")
    assert status.credential_list_sid and status.credential_list_sid.startswith("CL")
    assert status.verification_status == "verified"
    assert status.provider_type == "twilio"
    assert status.region == "us1" and status.supports_call_transfer is False
    assert status.account_phone_number_count == 2 and len(status.available_numbers) == 2
    assert status.observed_generation == 1 and status.last_verified_at
    assert {d.check_name for d in status.verification_details} >= {
        "accountActive",
        "sipTrunkingAccess",
        "credentialListAccess",
        "phoneNumbersAccess",
        "trunk",
        "credentialListAttached",
    }
    assert conditions(world) == {
        "Ready": ("True", "Provisioned"),
        "CredentialsVerified": ("True", "Verified"),
        "TrunkProvisioned": ("True", "Provisioned"),
        "SipCredentialsStored": ("True", "Stored"),
    }
    [trunk] = trunks_of(world)
    assert trunk["sid"] == status.trunk_sid and trunk["transfer_mode"] == "disable-all"
    assert status.credential_list_sid in trunk["credential_list_sids"]
    secret = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")
    assert set(secret) == {"username", "password", "sipDomain", "terminationUri", "trunkSid"}
    assert len(secret["password"]) == 32 and meets_twilio_password_rules(secret["password"])
    assert (
        world.kube.secrets[(NAMESPACE, "acme-sip-credentials")]["annotations"][names.PASSWORD_STATE]
        == "applied"
    )
    assert world.emulator.sip_auth(status.trunk_domain_name, secret["username"], secret["password"])
    assert "Provisioned" in world.kube.reasons()


async def test_password_reaches_the_secret_before_twilio(world: World) -> None:
    """If the credential create never answers, the Secret already holds the password Twilio got."""
    world.emulator.add_fault(r".*/Credentials\.json", "commit_then_error", method="POST", status=500)
    with pytest.raises(TwilioError) as failure:
        await world.reconcile()
    assert failure.value.kind is ErrorKind.TRANSIENT
    secret = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")
    annotations = world.kube.secrets[(NAMESPACE, "acme-sip-credentials")]["annotations"]
    assert annotations[names.PASSWORD_STATE] == "pending"
    domain = world.status.trunk_domain_name
    assert world.emulator.sip_auth(domain, secret["username"], secret["password"])  # Twilio committed it

    assert (await world.reconcile()).ready
    assert world.emulator.sip_auth(
        domain, secret["username"], world.kube.secret_text(NAMESPACE, "acme-sip-credentials")["password"]
    )
    [cl] = lists_of(world)
    assert len(cl["credentials"]) == 1


async def test_second_reconcile_makes_no_twilio_writes(world: World) -> None:
    await world.reconcile()
    seq = world.last_seq()
    writes_before = list(world.kube.writes)

    assert (await world.reconcile()).ready

    assert world.writes_since(seq) == []
    assert world.kube.writes == writes_before


async def test_a_removed_credentials_label_is_put_back(world: World) -> None:
    """The Secret watch selects credentials Secrets by this label; without it a rotated token would
    go unnoticed until the next verification."""
    await world.reconcile()
    stored = world.kube.secrets[(NAMESPACE, CREDENTIALS_SECRET)]
    assert stored["labels"] == {names.CREDENTIALS_LABEL: "in-use"}
    stored["labels"] = {}

    await world.reconcile()

    assert stored["labels"] == {names.CREDENTIALS_LABEL: "in-use"}
    assert world.kube.writes.count(f"protect secret {CREDENTIALS_SECRET}") == 2


async def test_lost_status_is_recovered_by_deterministic_names(world: World) -> None:
    """A crash after the creates but before status was written must not create twice."""
    await world.reconcile()
    first = world.status
    world.provider = world.provider.__class__(**{**world.provider.__dict__, "status": type(first)()})

    assert (await world.reconcile()).ready

    assert world.status.trunk_sid == first.trunk_sid
    assert world.status.credential_list_sid == first.credential_list_sid
    assert len(trunks_of(world)) == 1 and len(lists_of(world)) == 1


async def test_trunk_create_committed_but_answer_lost(world: World) -> None:
    world.emulator.add_fault(r"/v1/Trunks", "commit_then_error", method="POST", status=500)
    with pytest.raises(TwilioError):
        await world.reconcile()
    assert (await world.reconcile()).ready
    assert len(trunks_of(world)) == 1 and len(lists_of(world)) == 1


async def test_spec_changes_update_the_trunk_in_place(world: World) -> None:
    await world.reconcile()
    trunk_sid = world.status.trunk_sid
    world.with_spec(display_name="Acme Renamed", supports_call_transfer=True, region="de1")

    assert (await world.reconcile()).ready

    [trunk] = trunks_of(world)
    assert trunk["sid"] == trunk_sid
    assert trunk["friendly_name"] == "Acme Renamed" and trunk["transfer_mode"] == "enable-all"
    uid_hex = world.provider.uid.replace("-", "")
    assert world.status.termination_uri == f"sip:twp-{uid_hex}.pstn.frankfurt.twilio.com"
    assert world.status.observed_generation == 2
    secret = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")
    assert secret["terminationUri"] == world.status.termination_uri


async def test_processing_region_routes_calls_to_that_region(world: World) -> None:
    world.with_spec(region="ie1")
    seq = world.last_seq()
    assert (await world.reconcile()).ready
    hosts = {r["host"] for r in world.emulator.requests(since=seq)}
    assert "trunking.dublin.ie1.twilio.com" in hosts and "api.dublin.ie1.twilio.com" in hosts
    state = world.account.state()
    assert any(r.get("voice_region") == "ie1" for r in state.get("routes", [])), state


async def test_drift_is_repaired(world: World, twilio_client) -> None:
    await world.reconcile()
    trunk_sid, list_sid = world.status.trunk_sid, world.status.credential_list_sid
    password = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")["password"]

    # Detached credential list and changed transfer mode come back.
    twilio_client.trunking.v1.trunks(trunk_sid).credentials_lists(list_sid).delete()
    twilio_client.trunking.v1.trunks(trunk_sid).update(transfer_mode="enable-all")
    assert (await world.reconcile()).ready
    [trunk] = trunks_of(world)
    assert trunk["transfer_mode"] == "disable-all"
    assert list_sid in trunk["credential_list_sids"]

    # A trunk deleted in Twilio (emptied first, as Twilio may demand) is recreated under a new domain;
    # the Secret follows it.
    delete_trunk_as_a_user(twilio_client, world.account.sid, trunk_sid)
    assert (await world.reconcile()).ready
    [trunk] = trunks_of(world)
    assert trunk["sid"] != trunk_sid and trunk["domain_name"].endswith("-r1.pstn.twilio.com")
    assert world.status.trunk_recreations == 1
    secret = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")
    assert secret["sipDomain"] == trunk["domain_name"] and secret["trunkSid"] == trunk["sid"]
    assert world.emulator.sip_auth(trunk["domain_name"], secret["username"], secret["password"])
    assert secret["password"] == password
    assert "TrunkRecreated" in world.kube.reasons()


async def test_deleted_sip_secret_warns_even_from_a_copy_read_before_the_first_status(world: World) -> None:
    """A reconcile started on the provider as it was before its first status (a verification queued
    during the create) finds the SIP Secret deleted: Twilio's credential shows a password was lost."""
    stale = world.provider
    await world.reconcile()
    del world.kube.secrets[(NAMESPACE, "acme-sip-credentials")]
    world.provider = stale

    assert (await world.reconcile()).ready
    assert "SipCredentialRotated" in world.kube.reasons()


async def test_first_sip_secret_is_no_loss(world: World) -> None:
    await world.reconcile()
    assert "SipCredentialRotated" not in world.kube.reasons()


async def test_edited_sip_secret_rotates_the_password(world: World) -> None:
    await world.reconcile()
    domain = world.status.trunk_domain_name
    old = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")
    world.kube.secrets[(NAMESPACE, "acme-sip-credentials")]["data"]["password"] = b"Hand-Edited-Password-1"

    assert (await world.reconcile()).ready

    new = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")
    assert new["password"] not in (old["password"], "Hand-Edited-Password-1")
    assert world.emulator.sip_auth(domain, new["username"], new["password"])
    assert not world.emulator.sip_auth(domain, old["username"], old["password"])
    assert "SipCredentialRotated" in world.kube.reasons()


async def test_deleted_sip_secret_rotates_the_password(world: World) -> None:
    await world.reconcile()
    del world.kube.secrets[(NAMESPACE, "acme-sip-credentials")]
    assert (await world.reconcile()).ready
    secret = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")
    assert world.emulator.sip_auth(world.status.trunk_domain_name, secret["username"], secret["password"])
    assert len(lists_of(world)[0]["credentials"]) == 1


@pytest.mark.parametrize(
    ("data", "reason", "names"),
    [
        (None, "SecretNotFound", f"Secret {NAMESPACE}/{CREDENTIALS_SECRET} not found"),
        ({"token": "x"}, "SecretKeyMissing", "has no key authToken"),
        ({"authToken": "NOT-A-TOKEN"}, "SecretInvalid", "key authToken"),
        ({"authToken": b"\xff\xfe"}, "SecretInvalid", "not UTF-8"),
    ],
)
async def test_unusable_credentials_secret_blocks_without_calling_twilio(
    world: World, data: dict | None, reason: str, names: str
) -> None:
    if data is None:
        del world.kube.secrets[(NAMESPACE, CREDENTIALS_SECRET)]
    else:
        world.kube.put_secret(NAMESPACE, CREDENTIALS_SECRET, data)
    seq = world.last_seq()

    outcome = await world.reconcile()

    assert not outcome.ready and outcome.blocked
    assert conditions(world)["Ready"] == ("False", reason)
    message = next(c.message for c in world.status.conditions if c.type == "CredentialsVerified")
    assert names in message and "NOT-A-TOKEN" not in message
    assert world.emulator.requests(since=seq) == []


async def test_a_conflict_on_the_sip_secret_is_reported_once_and_clears(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 409 that reaches the reconcile is no race the adapter settles (those are its own "already
    exists"): an admission webhook denied the write, and may keep denying it. Ready says so, with the
    server's words; one Event, not one per retry; the first reconcile the server allows is Ready."""
    denied = KubernetesError(
        "write Secret",
        409,
        "Conflict",
        'admission webhook "policy.example.com" denied the request: owned by another writer',
    )

    async def refuse(*_: object, **__: object) -> None:
        raise denied

    monkeypatch.setattr(world.kube, "write_secret", refuse)
    for _ in range(2):
        with pytest.raises(KubernetesError):
            await world.reconcile()
        assert conditions(world)["Ready"] == ("False", "KubernetesRefused")
        message = next(c.message for c in world.status.conditions if c.type == "Ready")
        assert "HTTP 409 Conflict" in message and "owned by another writer" in message
    assert world.kube.reasons().count("KubernetesRefused") == 1

    monkeypatch.undo()
    assert (await world.reconcile()).ready
    assert conditions(world)["Ready"] == ("True", "Provisioned")


async def test_wrong_token_fails_verification(world: World) -> None:
    world.kube.put_secret(NAMESPACE, CREDENTIALS_SECRET, {"authToken": "0" * 32})
    with pytest.raises(TwilioError) as failure:
        await world.reconcile()
    assert failure.value.kind is ErrorKind.AUTH
    assert world.status.verification_status == "failed"
    failed = [d for d in world.status.verification_details if d.status == "failed"]
    assert failed and all("401" in d.message for d in failed)
    assert conditions(world)["Ready"] == ("False", "AuthFailed")
    assert "0" * 32 not in str(world.status.model_dump())


async def test_suspended_account_fails_verification(world: World) -> None:
    world.emulator.patch_account(world.account.sid, status="suspended")
    with pytest.raises(TwilioError) as failure:
        await world.reconcile()
    assert failure.value.kind is ErrorKind.AUTH
    assert world.status.verification_status == "failed"
    assert conditions(world)["CredentialsVerified"][0] == "False"


async def test_api_key_credentials(world: World) -> None:
    key = world.account.api_keys[0]
    world.kube.put_secret(NAMESPACE, CREDENTIALS_SECRET, {"sid": key.sid, "secret": key.secret})
    ref = {"name": CREDENTIALS_SECRET, "apiKeySidKey": "sid", "apiKeySecretKey": "secret"}
    world.with_spec(
        credentials_secret_ref=type(world.provider.spec.credentials_secret_ref).model_validate(ref)
    )
    assert (await world.reconcile()).ready


async def test_rate_limit_is_reported_with_retry_after(world: World) -> None:
    world.emulator.add_fault(
        r"/v1/Trunks", "error", method="GET", status=429, code=20429, retry_after=7, times=None
    )
    with pytest.raises(TwilioError) as failure:
        await world.reconcile()
    assert failure.value.kind is ErrorKind.TRANSIENT and failure.value.retry_after == 7
    assert conditions(world)["Ready"] == ("False", "TwilioUnavailable")
    assert world.status.verification_status is None  # never verified: no verdict, and not "failed"


async def test_rate_limiting_keeps_the_last_verdict_and_says_it_is_stale(world: World) -> None:
    """A 429 or an outage is no verdict on the credentials: verificationStatus keeps the last one,
    lastVerifiedAt shows its age, and Ready says that Twilio is unavailable."""
    assert (await world.reconcile()).ready
    verified_at = world.status.last_verified_at
    world.emulator.add_fault(r"/v1/Trunks", "error", method="GET", status=429, code=20429, times=None)
    with pytest.raises(TwilioError):
        await world.reconcile()
    assert world.status.verification_status == "verified"
    assert world.status.last_verified_at == verified_at
    ready = next(c for c in world.status.conditions if c.type == "Ready")
    assert ready.reason == "TwilioUnavailable"
    assert f"the last verification ({verified_at}) stands" in ready.message


async def test_origination_uris_are_kept_in_sync(world: World, twilio_client) -> None:
    from twilio_operator.api.models import OriginationUri

    uris = [OriginationUri(sip_url="sip:agents.example.com", priority=1, weight=10)]
    world.with_spec(origination_uris=uris)
    assert (await world.reconcile()).ready
    [trunk] = trunks_of(world)
    assert [o["sip_url"] for o in trunk["origination_urls"]] == ["sip:agents.example.com"]

    origination = trunk["origination_urls"][0]["sid"]
    twilio_client.trunking.v1.trunks(trunk["sid"]).origination_urls(origination).update(priority=99)
    world.with_spec(origination_uris=[*uris, OriginationUri(sip_url="sip:backup.example.com", priority=2)])
    assert (await world.reconcile()).ready
    [trunk] = trunks_of(world)
    got = {o["sip_url"]: o["priority"] for o in trunk["origination_urls"]}
    assert got == {"sip:agents.example.com": 1, "sip:backup.example.com": 2}


async def test_trunk_settings_are_set_repaired_and_unset_ones_left_alone(world: World, twilio_client) -> None:
    from twilio_operator.api.models import TrunkRecording, TrunkSettings

    wanted = TrunkSettings(
        secure=True,
        transfer_caller_id="from-transferor",
        disaster_recovery_url="https://fallback.example.com/voice",
        disaster_recovery_method="POST",
        recording=TrunkRecording(mode="record-from-answer", trim="trim-silence"),
    )
    world.with_spec(trunk=wanted)
    assert (await world.reconcile()).ready
    trunk = twilio_client.trunking.v1.trunks(world.status.trunk_sid)
    got = trunk.fetch()
    assert (got.secure, got.transfer_caller_id) == (True, "from-transferor")
    assert (got.disaster_recovery_url, got.disaster_recovery_method) == (
        "https://fallback.example.com/voice",
        "POST",
    )
    recording = trunk.recordings().fetch()
    assert (recording.mode, recording.trim) == ("record-from-answer", "trim-silence")

    # Drift in a stated setting is repaired; a setting the spec leaves unset is left alone.
    trunk.update(secure=False, cnam_lookup_enabled=True)
    trunk.recordings().update(mode="do-not-record")
    seq = world.last_seq()
    assert (await world.reconcile()).ready
    got = trunk.fetch()
    assert got.secure is True and got.cnam_lookup_enabled is True
    assert trunk.recordings().fetch().mode == "record-from-answer"
    assert "TrunkUpdated" in world.kube.reasons()

    # Converged: the next reconcile writes nothing.
    seq = world.last_seq()
    assert (await world.reconcile()).ready
    assert world.writes_since(seq) == []


async def test_no_trunk_settings_means_no_recording_read(world: World) -> None:
    assert (await world.reconcile()).ready
    seq = world.last_seq()
    assert (await world.reconcile()).ready
    assert not [r for r in world.emulator.requests(since=seq) if r["path"].endswith("/Recording")]


async def test_observe_only_writes_nothing_and_reports_what_full_would_change(
    world: World, twilio_client
) -> None:
    world.with_spec(management_policy="ObserveOnly")
    seq = world.last_seq()
    outcome = await world.reconcile()
    assert outcome.ready and world.writes_since(seq) == []
    assert trunks_of(world) == [] and (NAMESPACE, "acme-sip-credentials") not in world.kube.secrets
    assert world.status.verification_status == "warning"
    [observing] = [d for d in world.status.verification_details if d.check_name == "managedResources"]
    assert "no trunk of this provider exists" in observing.message
    assert conditions(world)["Ready"] == ("True", "Observing")

    # ObserveOnly -> Full converges.
    world.with_spec(management_policy="Full")
    assert (await world.reconcile()).ready and len(trunks_of(world)) == 1

    # Full -> ObserveOnly stops writing at once, and reports drift instead of repairing it.
    [trunk] = trunks_of(world)
    twilio_client.trunking.v1.trunks(trunk["sid"]).update(
        friendly_name="renamed by hand", transfer_mode="enable-all"
    )
    world.with_spec(management_policy="ObserveOnly")
    seq = world.last_seq()
    assert (await world.reconcile()).ready
    assert world.writes_since(seq) == []
    [observing] = [d for d in world.status.verification_details if d.check_name == "managedResources"]
    assert "friendly name is 'renamed by hand'" in observing.message
    assert "transfer mode is enable-all" in observing.message
    assert world.status.verification_status == "warning"


async def test_a_broken_agent_table_template_keeps_ready_false_until_fixed(world: World) -> None:
    broken = AgentTableSpec(
        template=AgentTableTemplate(data={"routes": "{% for n in numbers %}{{ n.nope }}"})
    )
    world.with_spec(agent_table=broken)
    outcome = await world.reconcile()

    assert not outcome.ready
    ready, table = conditions(world)["Ready"], conditions(world)["AgentTableRendered"]
    assert ready == ("False", "TemplateInvalid") and table == ("False", "TemplateInvalid")
    message = next(c.message for c in world.status.conditions if c.type == "Ready")
    assert "acme-agents" in message and "template key routes" in message
    assert world.status.trunk_sid  # the trunk itself is provisioned
    assert "TemplateInvalid" in world.kube.reasons()

    fixed = AgentTableSpec(
        template=AgentTableTemplate(data={"routes": "{% for n in numbers %}{{ n.agent }}{% endfor %}"})
    )
    world.with_spec(agent_table=fixed)
    assert (await world.reconcile()).ready
    assert conditions(world)["AgentTableRendered"] == ("True", "Rendered")

    world.with_spec(agent_table=None)
    assert (await world.reconcile()).ready
    assert conditions(world)["AgentTableRendered"] == ("True", "Rendered")


async def test_a_password_written_by_another_writer_meanwhile_is_the_one_twilio_gets(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between our Secret write and the mark "applied", another writer (a second operator by mistake)
    stores its own password: the conditional mark fails, and Twilio is given the Secret's password,
    so that the Secret stays the truth. Without a concurrent writer no read is spent on it."""
    annotate = world.kube.annotate_secret
    key = (NAMESPACE, "acme-sip-credentials")

    async def another_writer_first(namespace: str, name: str, annotations: dict, **kwargs: object) -> bool:
        if kwargs.get("unchanged_since") is not None:
            other = "Written-By-Another-Writer-1"
            world.kube.secrets[key]["data"]["password"] = other.encode()
            fingerprint = password_fingerprint(world.provider.uid, other)
            world.kube.secrets[key]["annotations"][names.PASSWORD_FINGERPRINT] = fingerprint
        return await annotate(namespace, name, annotations, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(world.kube, "annotate_secret", another_writer_first)
    assert (await world.reconcile()).ready
    assert "annotate secret acme-sip-credentials: conflict" in world.kube.writes
    secret = world.kube.secret_text(*key)
    assert secret["password"] == "Written-By-Another-Writer-1"
    assert world.kube.secrets[key]["annotations"][names.PASSWORD_STATE] == "applied"
    assert world.emulator.sip_auth(world.status.trunk_domain_name, secret["username"], secret["password"])


async def test_a_new_password_is_marked_applied_on_the_version_that_wrote_it(world: World) -> None:
    assert (await world.reconcile()).ready
    assert world.kube.writes.count("annotate secret acme-sip-credentials") == 1
    assert "annotate secret acme-sip-credentials: conflict" not in world.kube.writes


async def test_a_trunk_the_status_never_recorded_still_blocks_a_deletion_that_cannot_list_it(
    world: World,
) -> None:
    """A reconcile stopped after the creates and before its status write (one status write per create)
    leaves the trunk in the SIP Secret: with credentials that no longer work, the deletion waits
    instead of letting the object go as if nothing had been created."""
    from twilio_operator.api.errors import DeletionBlocked
    from twilio_operator.deletion import finalize_provider

    await world.reconcile()
    trunk = world.status.trunk_sid
    world.provider = world.provider.__class__(**{**world.provider.__dict__, "status": type(world.status)()})
    world.kube.secrets[(NAMESPACE, CREDENTIALS_SECRET)]["data"] = {}  # the token is gone

    with pytest.raises(DeletionBlocked):
        await finalize_provider(world.provider, world.deps)
    assert [t["sid"] for t in trunks_of(world)] == [trunk]
    assert "Deleted" not in world.kube.reasons()


async def test_one_status_write_per_create(world: World) -> None:
    """Each status write returns to every handler of the operator as a watch event."""
    assert (await world.reconcile()).ready
    assert world.kube.status_writes == [f"twilioproviders/{world.provider.name}"]


async def test_a_first_password_is_stored_without_reading_the_sip_secret_first(world: World) -> None:
    assert (await world.reconcile()).ready
    assert "secret acme-sip-credentials" not in world.kube.reads
    assert world.kube.writes.count("write secret acme-sip-credentials") == 1


async def test_a_sip_secret_left_by_an_earlier_provider_of_the_same_name_is_taken_over(world: World) -> None:
    """Created only if absent: one that exists (an Orphan-deleted provider's: our label, made for a
    provider of this name, no owner left) is read and made ours, its old keys and pairs gone; Twilio
    gets the password the Secret then holds."""
    world.kube.put_secret(
        NAMESPACE,
        "acme-sip-credentials",
        {"username": "someone-else", "password": "Old-Password-123"},
        **{names.SIP_SECRET_OF: "acme"},
    )
    world.kube.secrets[(NAMESPACE, "acme-sip-credentials")]["labels"] = dict(SIP_SECRET_LABELS)
    assert (await world.reconcile()).ready
    assert "create secret acme-sip-credentials: exists" in world.kube.writes
    secret = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")
    assert secret["username"] != "someone-else" and secret["password"] != "Old-Password-123"
    assert world.emulator.sip_auth(world.status.trunk_domain_name, secret["username"], secret["password"])
    assert world.provider.uid in world.kube.secrets[(NAMESPACE, "acme-sip-credentials")]["owners"]


@pytest.mark.parametrize(
    ("name", "made_for", "labelled", "owned_by_other", "why"),
    [
        ("tls-cert", None, False, False, "was not created by twilio-operator"),
        ("acme-sip-credentials", None, False, False, "was not created by twilio-operator"),
        ("beta-sip-credentials", "beta", True, False, "holds the SIP credentials of TwilioProvider beta"),
        ("shared", None, True, True, "is owned by another object"),
        (CREDENTIALS_SECRET, None, False, False, "is this TwilioProvider's credentials Secret"),
    ],
)
async def test_a_secret_the_operator_did_not_make_for_this_provider_is_never_written(
    world: World, name: str, made_for: str | None, labelled: bool, owned_by_other: bool, why: str
) -> None:
    """A name in the spec is no proof: a Secret that exists and is not ours is left exactly as it is
    (no key, annotation or owner reference added), the provider says why, and Twilio gets no SIP
    credential (there is no password anywhere to give it). Deleting the provider leaves it too."""
    if name != CREDENTIALS_SECRET:
        world.kube.put_secret(
            NAMESPACE, name, {"tls.crt": "cert"}, **({names.SIP_SECRET_OF: made_for} if made_for else {})
        )
    stored = world.kube.secrets[(NAMESPACE, name)]
    if labelled:
        stored["labels"] = dict(SIP_SECRET_LABELS)
    if owned_by_other:
        stored["owners"].add("another-object-uid")
    before = copy.deepcopy(stored)
    world.with_spec(sip_credentials_secret_name=name, deletion_policy="Delete")

    outcome = await world.reconcile()

    assert not outcome.ready
    assert conditions(world)["Ready"] == ("False", "SecretNotOwned")
    assert conditions(world)["SipCredentialsStored"] == ("False", "SecretNotOwned")
    message = next(c.message for c in world.status.conditions if c.type == "Ready")
    assert why in message and name in message
    after = world.kube.secrets[(NAMESPACE, name)]
    # The credentials Secret does get its in-use protection (finalizer, label, digest), by design.
    compared = (
        ("data", "owners") if name == CREDENTIALS_SECRET else ("data", "owners", "labels", "annotations")
    )
    assert {k: after.get(k) for k in compared} == {k: before.get(k) for k in compared}
    [credential_list] = lists_of(world)
    assert credential_list["credentials"] == []
    assert world.status.sip_credentials_secret_name is None  # never recorded as the SIP Secret

    from twilio_operator.deletion import finalize_provider

    await finalize_provider(world.provider, world.deps)
    assert (NAMESPACE, name) in world.kube.secrets


async def test_deletion_removes_only_a_sip_secret_the_provider_owns(world: World) -> None:
    from twilio_operator.deletion import finalize_provider

    assert (await world.reconcile()).ready
    world.kube.secrets[(NAMESPACE, "acme-sip-credentials")]["owners"] = {"someone-else"}  # re-owned by hand
    await finalize_provider(world.provider, world.deps)
    assert (NAMESPACE, "acme-sip-credentials") in world.kube.secrets


async def test_a_failing_api_server_is_reported_with_what_was_created_before_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook that times out makes the API server answer 500 to every write of the SIP Secret:
    nothing the adapter retries away. Ready says so with the server's words and the trunk is
    recorded; no Event while the provider was never Ready, one when a Ready provider loses it."""
    failing = KubernetesError(
        "write Secret", 500, "Internal Server Error", 'failed calling webhook "policy.example.com": timeout'
    )

    async def fail(*_: object, **__: object) -> None:
        raise failing

    monkeypatch.setattr(world.kube, "write_secret", fail)
    with pytest.raises(KubernetesError):
        await world.reconcile()
    assert conditions(world)["Ready"] == ("False", "KubernetesUnavailable")
    message = next(c.message for c in world.status.conditions if c.type == "Ready")
    assert "HTTP 500" in message and "failed calling webhook" in message
    assert world.status.trunk_sid and world.status.credential_list_sid
    assert "KubernetesUnavailable" not in world.kube.reasons()

    monkeypatch.undo()
    assert (await world.reconcile()).ready
    monkeypatch.setattr(world.kube, "read_secret", fail)
    with pytest.raises(KubernetesError):
        await world.reconcile()
    assert conditions(world)["Ready"] == ("False", "KubernetesUnavailable")
    assert world.kube.reasons().count("KubernetesUnavailable") == 1
    monkeypatch.undo()
    assert (await world.reconcile()).ready
