"""The long Twilio fault storm: 50 providers (by default) through 10 % random 5xx, 429 bursts and
1-3 s stalls, against a private control plane, emulator and operator process. Prints the figures.

    .venv/bin/python tests/reliability/soak.py [--providers 50] [--fault-rate 0.1] [--timeout 900]

The CI test (test_twilio_faults.py) runs the same storm with 10 providers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from fixtures.emulator import TwilioAccount

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from fixtures.emulator import start_emulator, stop  # noqa: E402
from fixtures.kube import apply_crds  # noqa: E402
from fixtures.operator_process import OperatorProcess  # noqa: E402
from reliability.storm import storm  # noqa: E402
from twilio_operator.emulator.client import EmulatorAdmin  # noqa: E402
from twilio_operator.testing.controlplane import ControlPlane  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--providers", type=int, default=50)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="twilio-operator-soak-"))
    emulator_process, url = start_emulator(workdir / "emulator.log", "--seed", str(options.seed))
    plane = ControlPlane().start()
    operator: OperatorProcess | None = None
    try:
        apply_crds(plane)
        namespace = plane.create_namespace("soak")
        emulator = EmulatorAdmin(url)
        account = TwilioAccount.create(emulator, incoming_phone_numbers=[{}, {}])
        operator = OperatorProcess(plane.kubeconfig, url, workdir / "operator.log", [namespace]).start()
        started = time.monotonic()
        figures = storm(
            plane,
            emulator,
            namespace,
            account,
            options.providers,
            fault_rate=options.fault_rate,
            timeout=options.timeout,
        )
        print(figures.report())
        print(f"soak finished in {time.monotonic() - started:.0f}s; logs in {workdir}")
        return 0
    finally:
        if operator is not None:
            operator.stop()
        plane.stop()
        stop(emulator_process)


if __name__ == "__main__":
    sys.exit(main())
