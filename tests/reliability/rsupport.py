"""Helpers of the reliability tier: who owns what in the emulator, and crash-point plumbing."""

from __future__ import annotations

import signal
import time
from typing import Any

from fixtures.emulator import account_state
from fixtures.kube import PROVIDERS, condition, decoded, get, secret
from fixtures.operator_process import OperatorProcess
from twilio_operator.api.names import object_tag
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

TRUNKS = r"/v1/Trunks"
TRUNK_LISTS = r"/v1/Trunks/TK[0-9a-f]{32}/CredentialLists"
TRUNK_LIST = r"/v1/Trunks/TK[0-9a-f]{32}/CredentialLists/CL[0-9a-f]{32}"
TRUNK = r"/v1/Trunks/TK[0-9a-f]{32}"
LISTS = r"/2010-04-01/Accounts/AC[0-9a-f]{32}/SIP/CredentialLists\.json"
LIST = r"/2010-04-01/Accounts/AC[0-9a-f]{32}/SIP/CredentialLists/CL[0-9a-f]{32}\.json"
CREDENTIALS = r"/2010-04-01/Accounts/AC[0-9a-f]{32}/SIP/CredentialLists/CL[0-9a-f]{32}/Credentials\.json"


def owned(emulator: EmulatorAdmin, account_sid: str, uid: str) -> dict[str, list[Any]]:
    """Everything in the emulator that belongs to the provider with this UID."""
    state = account_state(emulator, account_sid)
    mark = object_tag(uid)  # the operator's own mark of what it created
    username = uid.replace("-", "").lower()[:32]
    trunks = [t for t in state["trunks"] if t["domain_name"].startswith(mark)]
    lists = [cl for cl in state["credential_lists"] if f"({mark})" in cl["friendly_name"]]
    credentials = [cr for cl in lists for cr in cl["credentials"] if cr["username"] == username]
    return {"trunks": trunks, "lists": lists, "credentials": credentials}


def assert_converged_once(
    cp: ControlPlane, emulator: EmulatorAdmin, account_sid: str, namespace: str, name: str
) -> dict[str, Any]:
    """Exactly one trunk, one list (attached), one credential; the Secret's password works."""
    obj = get(cp, PROVIDERS, namespace, name)
    assert obj is not None and condition(obj).get("status") == "True", condition(obj)
    mine = owned(emulator, account_sid, obj["metadata"]["uid"])
    assert len(mine["trunks"]) == 1, (name, mine)
    assert len(mine["lists"]) == 1, (name, mine)
    assert len(mine["credentials"]) == 1, (name, mine)
    [trunk], [cl] = mine["trunks"], mine["lists"]
    assert trunk["sid"] == obj["status"]["trunkSid"] and cl["sid"] == obj["status"]["credentialListSid"]
    assert trunk["credential_list_sids"] == [cl["sid"]], trunk
    sip = secret(cp, namespace, obj["status"]["sipCredentialsSecretName"])
    assert sip is not None
    data = decoded(sip)
    assert emulator.sip_auth(trunk["domain_name"], data["username"], data["password"]), name
    annotations = sip["metadata"].get("annotations") or {}
    assert annotations.get("voip.twilio-operator.dev/password-state") == "applied", annotations
    return obj


def assert_nothing_left(emulator: EmulatorAdmin, account_sid: str, uid: str) -> None:
    mine = owned(emulator, account_sid, uid)
    assert mine == {"trunks": [], "lists": [], "credentials": []}, mine


def fault_consumed(emulator: EmulatorAdmin, fault_id: str) -> bool:
    rule = next((f for f in emulator.faults() if f["id"] == fault_id), None)
    return rule is None or rule["remaining"] == 0


def kill(process: OperatorProcess) -> float:
    """SIGKILL the operator now; returns when it is reaped."""
    assert process.process is not None
    started = time.monotonic()
    process.process.send_signal(signal.SIGKILL)
    process.process.wait(timeout=10)
    process.process = None
    return time.monotonic() - started


__all__ = [
    "assert_converged_once",
    "assert_nothing_left",
    "fault_consumed",
    "kill",
    "owned",
]
