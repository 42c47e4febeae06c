"""Reliability tier: crash, fault, lifecycle-edge, hygiene and liveness tests of the operator process.

They use the shared fixtures of tests/fixtures/ (operator process, CRDs, credentials Secret) and run
against the real local control plane and the Twilio emulator. Each test is bounded; the long soak
lives in `tests/reliability/soak.py`.
"""
