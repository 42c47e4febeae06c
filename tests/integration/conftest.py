"""Integration tier: the operator process against the real API server and the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .support import REPO, OperatorProcess, put_secret, wait_for


@pytest.fixture(scope="session")
def crds(control_plane: ControlPlane) -> ControlPlane:
    """The project's generated CRDs, applied server-side and Established."""
    result = control_plane.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    assert result.returncode == 0, result.stderr
    result = control_plane.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/twilioproviders.voip.twilio-operator.dev",
        "crd/twiliophonenumbers.voip.twilio-operator.dev",
    )
    assert result.returncode == 0, result.stderr
    return control_plane


@pytest.fixture
def start_operator(
    crds: ControlPlane, emulator: EmulatorAdmin, namespace: str, tmp_path: Path
) -> Iterator[Any]:
    """Start (and at the end stop) operator processes watching the test's namespace."""
    started: list[OperatorProcess] = []

    def start(**extra_env: str) -> OperatorProcess:
        process = OperatorProcess(
            crds.kubeconfig,
            emulator.base_url,
            tmp_path / f"operator-{len(started)}.log",
            [namespace],
            extra_env,
        )
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()
        # Shown by pytest only when the test failed.
        print(f"---- {process.log_path.name} (last lines) ----")
        print("\n".join(process.log().splitlines()[-80:]))


@pytest.fixture
def operator(start_operator: Any) -> OperatorProcess:
    process: OperatorProcess = start_operator()
    return process


@pytest.fixture
def credentials(crds: ControlPlane, namespace: str, twilio_account: dict[str, Any]) -> str:
    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account["auth_token"]})
    return "twilio-credentials"


def provider_spec(account: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "displayName": "Acme Voice",
        "accountSid": account["sid"],
        "credentialsSecretRef": {"name": "twilio-credentials"},
        **extra,
    }


__all__ = ["provider_spec", "wait_for"]
