"""Reliability tier: crash, fault, lifecycle-edge, hygiene and liveness tests of the operator process.

They reuse the integration tier's fixtures (operator process, CRDs, credentials Secret) and run
against the real local control plane and the Twilio emulator. Each test is bounded; the long soak
lives in `tests/reliability/soak.py`.
"""

from __future__ import annotations

from integration.conftest import crds, credentials, operator, start_operator

__all__ = ["crds", "credentials", "operator", "start_operator"]
