"""Test support shipped with the package (like kopf.testing): a real local kube-apiserver + etcd, and a
real livekit-server with its Redis (`testing.livekit`).

Needs the `test` extra (cryptography). Names are imported lazily so that running one of these
modules (`python -m twilio_operator.testing.cluster_cli`, what `make cluster` runs) imports only
what it needs, and never its own module twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twilio_operator.testing.binaries import BinaryNotFoundError, find_binary
    from twilio_operator.testing.controlplane import ControlPlane, StartupError, run_kubectl, unique_name

__all__ = ["BinaryNotFoundError", "ControlPlane", "StartupError", "find_binary", "run_kubectl", "unique_name"]


def __getattr__(name: str) -> Any:
    if name in ("BinaryNotFoundError", "find_binary"):
        from twilio_operator.testing import binaries

        return getattr(binaries, name)
    if name in __all__:
        from twilio_operator.testing import controlplane

        return getattr(controlplane, name)
    raise AttributeError(name)
