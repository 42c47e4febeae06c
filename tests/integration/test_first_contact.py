"""What a new user hit in an afternoon, each reproduced against the real API server and the emulator:
deletions that wait for nothing, statuses that do not contradict each other, timers that are not an
hour long, and an Event when the termination URI moves."""

from __future__ import annotations

import time
from typing import Any

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    NUMBERS,
    PROVIDERS,
    condition,
    create,
    events,
    force_delete_secret,
    get,
    merge_patch,
    provider_spec,
    put_secret,
    wait_for,
    wait_ready,
    wait_reason,
)
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

FIRST = "+15005550006"
PROVIDER_PATH = "/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{}/twilioproviders/{}"


def delete_provider(crds: ControlPlane, namespace: str, name: str) -> None:
    status, result = crds.request("DELETE", PROVIDER_PATH.format(namespace, name))
    assert status == 200, result


def reasons(crds: ControlPlane, namespace: str, name: str) -> dict[str, str]:
    return {e["reason"]: e["message"] for e in events(crds, namespace, name)}


def test_a_provider_that_never_created_anything_is_deleted_at_once(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount, operator: Any
) -> None:
    """A wrong accountSid: Twilio answers 401, no trunk ever existed, so there is nothing to wait for."""
    put_secret(crds, namespace, "twilio-credentials", {"authToken": "f" * 32})
    create(crds, PROVIDERS, namespace, "typo", provider_spec(twilio_account))
    wait_for(lambda: condition(get(crds, PROVIDERS, namespace, "typo")).get("reason") == "AuthFailed")
    started = time.monotonic()
    delete_provider(crds, namespace, "typo")
    wait_for(lambda: get(crds, PROVIDERS, namespace, "typo") is None, timeout=20, what="provider gone")
    print(f"deleted in {time.monotonic() - started:.1f} s")
    said = reasons(crds, namespace, "typo")
    assert "nothing to delete in Twilio" in said["Deleted"], said
    assert "DeletionBlocked" not in said and "Orphaned" not in said


def test_the_orphan_annotation_releases_a_blocked_deletion_within_seconds(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: Any,
) -> None:
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    trunk_sid = wait_ready(crds, PROVIDERS, namespace, "acme")["status"]["trunkSid"]
    emulator.patch_account(twilio_account.sid, auth_token="e" * 32)  # the Secret's token is now wrong
    delete_provider(crds, namespace, "acme")
    wait_for(
        lambda: condition(get(crds, PROVIDERS, namespace, "acme")).get("reason") == "DeletionBlocked",
        what="DeletionBlocked",
    )
    started = time.monotonic()
    annotation = {"metadata": {"annotations": {"voip.twilio-operator.dev/deletion-policy": "Orphan"}}}
    merge_patch(crds, "twp", namespace, "acme", annotation)
    wait_for(lambda: get(crds, PROVIDERS, namespace, "acme") is None, timeout=20, what="object released")
    print(f"released {time.monotonic() - started:.1f} s after the annotation")
    assert trunk_sid in reasons(crds, namespace, "acme")["Orphaned"]


def test_a_restored_credentials_secret_resumes_a_blocked_deletion(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: Any,
) -> None:
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    wait_ready(crds, PROVIDERS, namespace, "acme")
    put_secret(crds, namespace, "twilio-credentials", {"authToken": "e" * 32})
    delete_provider(crds, namespace, "acme")
    wait_for(
        lambda: condition(get(crds, PROVIDERS, namespace, "acme")).get("reason") == "DeletionBlocked",
        what="DeletionBlocked",
    )
    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account.auth_token})
    wait_for(lambda: get(crds, PROVIDERS, namespace, "acme") is None, timeout=20, what="deletion finished")
    account = twilio_account.state()
    assert account["trunks"] == [] and account["credential_lists"] == []


def test_a_missing_credentials_secret_fails_verification_but_does_not_page_about_numbers(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: Any,
) -> None:
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    wait_ready(crds, PROVIDERS, namespace, "acme")
    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": FIRST})
    wait_ready(crds, NUMBERS, namespace, "line")
    paged_before = sum(
        int(e.get("count") or 1) for e in events(crds, namespace, "line") if e["reason"] == "ProviderNotReady"
    )  # the import itself may have waited a moment for the provider's Ready to reach the operator
    # A plain delete leaves the Secret Terminating (in-use protection): still usable, and said so.
    status, _ = crds.request("DELETE", f"/api/v1/namespaces/{namespace}/secrets/twilio-credentials")
    assert status == 200
    warned = wait_for(
        lambda: (
            (o := get(crds, PROVIDERS, namespace, "acme"))
            and o["status"].get("verificationStatus") == "warning"
            and o
        ),
        what="the deletion reported",
    )
    assert any("is being deleted" in d["message"] for d in warned["status"]["verificationDetails"])
    assert condition(warned)["status"] == "True"
    # Forcing it away (finalizer removed by hand) loses the credentials.
    force_delete_secret(crds, namespace, "twilio-credentials")

    acme = wait_reason(crds, namespace, "acme", "SecretNotFound")
    assert acme["status"]["verificationStatus"] == "failed"  # not "verified" beside Ready=False
    assert acme["status"]["verificationDetails"][0]["checkName"] == "credentialsSecret"
    time.sleep(5)  # the number would be told now if it were going to be
    line = get(crds, NUMBERS, namespace, "line")
    assert condition(line)["status"] == "True", condition(line)  # its calls still route
    paged_after = sum(
        int(e.get("count") or 1) for e in events(crds, namespace, "line") if e["reason"] == "ProviderNotReady"
    )
    assert paged_after == paged_before


def test_siblings_on_a_suspended_account_stop_saying_verified_soon(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: Any,
) -> None:
    # Each provider has its own Secret, so touching one wakes only that provider.
    put_secret(crds, namespace, "other-credentials", {"authToken": twilio_account.auth_token})
    create(crds, PROVIDERS, namespace, "one", provider_spec(twilio_account))
    spec = provider_spec(twilio_account, credentialsSecretRef={"name": "other-credentials"})
    create(crds, PROVIDERS, namespace, "two", spec)
    for name in ("one", "two"):
        wait_ready(crds, PROVIDERS, namespace, name)
    emulator.patch_account(twilio_account.sid, status="suspended")
    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account.auth_token, "touch": "1"})
    for name in ("one", "two"):
        wait_for(
            lambda n=name: condition(get(crds, PROVIDERS, namespace, n)).get("reason") == "AccountInactive",
            timeout=30,
            what=f"{name} AccountInactive",
        )


def test_a_number_added_to_the_account_is_imported_at_the_next_verification(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: Any,
) -> None:
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    wait_ready(crds, PROVIDERS, namespace, "acme")
    later = "+15005550123"
    create(crds, NUMBERS, namespace, "later", {"providerRef": {"name": "acme"}, "phoneNumber": later})
    wait_for(lambda: condition(get(crds, NUMBERS, namespace, "later")).get("reason") == "NotFound")
    emulator.add_numbers(twilio_account.sid, numbers=[{"phone_number": later}])
    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account.auth_token, "touch": "2"})
    wait_ready(crds, NUMBERS, namespace, "later", timeout=30)  # not the 10-minute recheck


def test_a_region_change_that_moves_the_termination_uri_posts_an_event(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: Any,
) -> None:
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account, region="us1"))
    before = wait_ready(crds, PROVIDERS, namespace, "acme")["status"]["terminationUri"]
    assert ".pstn.ashburn.twilio.com" in before
    merge_patch(crds, "twp", namespace, "acme", {"spec": {"region": "de1"}})
    after = wait_ready(crds, PROVIDERS, namespace, "acme")["status"]["terminationUri"]
    assert ".pstn.frankfurt.twilio.com" in after
    said = wait_for(lambda: reasons(crds, namespace, "acme").get("TerminationUriChanged"), what="the Event")
    assert before in said and after in said
