#!/usr/bin/env python3
"""`make demo`: the operator end to end on this machine, no cloud account and no Docker needed.

Starts a local kube-apiserver + etcd, the Twilio API emulator (seeded with the demo account of
examples/), installs the CRDs, runs the operator against both, applies examples/ and shows what the
operator did. Then it stops everything, unless --keep is given (then Ctrl-C stops it).

With --livekit (`make demo-livekit`) it also starts a real livekit-server with its Redis on loopback,
imports a second number for a second agent, applies examples/livekit/ pointed at that server, shows
LiveKit's trunks and one dispatch rule per agent, and rotates the SIP credential: LiveKit's outbound
trunk switches first, and its credentials authenticate in (emulated) Twilio before and after.

    .venv/bin/python hack/demo.py [--keep] [--livekit] [--timeout 60] [--number-timeout 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import yaml

from twilio_operator.api.livekit_values import LiveKitServer as LiveKitAddress
from twilio_operator.api.models import GROUP, VERSION
from twilio_operator.emulator.client import EmulatorAdmin, EmulatorAdminError
from twilio_operator.ports.livekit.adapter import LiveKitLibraryConnector
from twilio_operator.testing.binaries import BinaryNotFoundError, find_binary
from twilio_operator.testing.controlplane import ControlPlane, StartupError, free_port
from twilio_operator.testing.livekit import LiveKitServer, LiveKitStartupError
from twilio_operator.testing.process import ManagedProcess
from twilio_operator.testing.waiting import WaitTimeout, wait_for

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
OPENAPI_DIR = REPO / ".cache" / "twilio-openapi"
NAMESPACE = "demo"
PROVIDER = "acme"
PHONE_NUMBER = "support-line"
# Numbers the demo account owns; examples/03-twilio-phone-number.yaml imports the first one.
DEMO_NUMBERS = ("+15005550006", "+15005550007")
CRD_NAMES = ("twilioproviders", "twiliophonenumbers", "livekitconnections")
CONNECTION = "agents"
SECOND_NUMBER = "sales-line"
LIVEKIT_EXAMPLE = "livekit/livekit-connection.yaml"
ROTATE = f"{GROUP}/rotate-sip-credentials"

# Loopback only: never route the health checks through an HTTP(S)_PROXY from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_STARTED = time.monotonic()


class DemoError(Exception):
    """A step failed; the message says what and what to look at. Exit code 1."""


# --------------------------------------------------------------------------- output


def elapsed() -> float:
    return time.monotonic() - _STARTED


def section(title: str) -> None:
    print(f"\n==> {title}  [{elapsed():5.1f}s]", flush=True)


def info(message: str) -> None:
    print(f"    {message}", flush=True)


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines())


# --------------------------------------------------------------------------- helpers


def http_ok(url: str) -> bool:
    try:
        with _OPENER.open(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def demo_account() -> tuple[str, str]:
    """The account SID and auth token of examples/, so the emulator accepts exactly what is applied."""
    docs = [d for p in sorted(EXAMPLES.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]
    provider = next(d for d in docs if d["kind"] == "TwilioProvider" and d["metadata"]["name"] == PROVIDER)
    ref = provider["spec"]["credentialsSecretRef"]
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == ref["name"])
    token: str = secret["stringData"][ref.get("authTokenKey", "authToken")]
    sid: str = provider["spec"]["accountSid"]
    return sid, token


def ready_condition(obj: dict[str, Any] | None) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            found: dict[str, Any] = cond
            return found
    return {}


def is_current_and_ready(obj: dict[str, Any] | None) -> bool:
    """Ready=True for the object's current generation (not a stale verdict of an older spec)."""
    cond = ready_condition(obj)
    generation = (obj or {}).get("metadata", {}).get("generation")
    return cond.get("status") == "True" and cond.get("observedGeneration", generation) == generation


# --------------------------------------------------------------------------- the demo


class Demo:
    def __init__(self, keep: bool, timeout: float, number_timeout: float, livekit: bool = False) -> None:
        self.keep = keep
        self.timeout = timeout
        self.number_timeout = number_timeout
        self.with_livekit = livekit
        self.livekit: LiveKitServer | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="twilio-operator-demo-"))
        self.control_plane: ControlPlane | None = None
        self.emulator: ManagedProcess | None = None
        self.emulator_url = ""
        self.operator: ManagedProcess | None = None
        self.kubectl_path = ""

    # -- steps -----------------------------------------------------------------------------------

    def run(self) -> None:
        sid, token = demo_account()
        self.start_control_plane()
        self.start_emulator(sid, token)
        self.install_crds()
        self.start_operator()
        self.apply_examples()
        provider = self.wait_provider_ready()
        self.wait_phone_number()
        self.show_results(provider)
        if self.with_livekit:
            self.livekit_part()
        self.show_twilio_side(sid)
        self.check_contract()
        if self.keep:
            self.wait_for_ctrl_c()

    def start_control_plane(self) -> None:
        # No kube-controller-manager: nothing here is deleted or needs a ServiceAccount, and without it
        # `make demo` needs only what envtest's archives hold (downloaded, not compiled, where possible).
        section("Starting a local Kubernetes control plane (etcd, kube-apiserver)")
        try:
            self.kubectl_path = str(find_binary("kubectl"))
            self.control_plane = ControlPlane(controller_manager=False).start()
        except (BinaryNotFoundError, StartupError) as error:
            raise DemoError(f"{error}\n(run `make controlplane` first, or just `make demo`)") from error
        info(f"API server: {self.control_plane.url}")

    def start_emulator(self, sid: str, token: str) -> None:
        section("Starting the Twilio API emulator with the demo account of examples/")
        numbers = [{"phone_number": n, "capabilities": {"voice": True}} for n in DEMO_NUMBERS]
        account = {
            "sid": sid,
            "auth_token": token,
            "friendly_name": "demo",
            "incoming_phone_numbers": numbers,
        }
        state_file = self.workdir / "emulator-state.json"
        state_file.write_text(json.dumps({"accounts": [account]}))
        state_file.chmod(0o600)  # it holds the (demo) auth token
        port = free_port()
        argv = [sys.executable, "-m", "twilio_operator.cli", "emulator", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--state", str(state_file)]
        if OPENAPI_DIR.is_dir():  # check every exchange against Twilio's OpenAPI documents when we have them
            argv += ["--openapi-dir", str(OPENAPI_DIR)]
        self.emulator_url = f"http://127.0.0.1:{port}"
        self.emulator = ManagedProcess("emulator", argv, self.workdir / "emulator.log")
        self.emulator.start()
        admin = EmulatorAdmin(self.emulator_url)
        self._wait_alive(self.emulator, admin.healthz, "the emulator")
        info(f"emulator: {self.emulator_url}  (account {sid}, numbers {', '.join(DEMO_NUMBERS)})")

    def install_crds(self) -> None:
        section("Installing the CRDs")
        self.kubectl("apply", "--server-side", "-f", str(REPO / "crds"), show=True)
        crds = [f"crd/{plural}.{GROUP}" for plural in CRD_NAMES]
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", *crds, show=True)
        self.kubectl("create", "namespace", NAMESPACE, show=True)

    def start_operator(self) -> None:
        section(f"Starting the operator (watching namespace {NAMESPACE})")
        cp = self._cp()
        port = free_port()
        argv = [sys.executable, "-m", "twilio_operator.cli", "run", "--standalone"]
        argv += ["--namespace", NAMESPACE, "--liveness", f"http://127.0.0.1:{port}/healthz"]
        # ManagedProcess inherits our environment: this is how the operator finds both servers.
        os.environ["KUBECONFIG"] = str(cp.kubeconfig)
        os.environ["TWILIO_OPERATOR_TWILIO_BASE_URL"] = self.emulator_url
        self.operator = ManagedProcess("operator", argv, self.workdir / "operator.log")
        self.operator.start()
        self._wait_alive(self.operator, lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), "the operator")
        info(f"operator is up (pid {self.operator.pid})")

    def apply_examples(self) -> None:
        section("Applying examples/")
        self.kubectl("apply", "-n", NAMESPACE, "-f", str(EXAMPLES), show=True)

    def wait_provider_ready(self) -> dict[str, Any]:
        section(f"Waiting for TwilioProvider {PROVIDER} to become Ready (up to {self.timeout:.0f}s)")
        last = ""

        def check() -> dict[str, Any] | None:
            nonlocal last
            obj = self.get("twilioproviders", PROVIDER)
            cond = ready_condition(obj)
            seen = f"Ready={cond.get('status', '-')} reason={cond.get('reason', '-')}"
            if cond and seen != last:
                last = seen
                info(f"{seen}: {cond.get('message', '')}")
            return obj if is_current_and_ready(obj) else None

        try:
            provider = wait_for(check, self.timeout, f"TwilioProvider {PROVIDER} Ready", interval=0.5)
        except WaitTimeout as error:
            operator_log = self.operator.log_tail(40) if self.operator else "(not started)"
            raise DemoError(
                f"TwilioProvider {PROVIDER} did not become Ready: {error} (last seen: {last or 'no status'})"
                f"\n\n--- operator log (last 40 lines) ---\n{operator_log}"
            ) from error
        status = provider.get("status") or {}
        print(
            f"\n    OK: TwilioProvider {PROVIDER} is Ready after {elapsed():.1f}s"
            f" (trunk {status.get('trunkSid')}, verification {status.get('verificationStatus')})",
            flush=True,
        )
        return provider

    def wait_phone_number(self) -> None:
        """Reported, not required: TwilioPhoneNumber support may be missing from this build."""
        section(f"Waiting for TwilioPhoneNumber {PHONE_NUMBER} (up to {self.number_timeout:.0f}s)")
        deadline = time.monotonic() + self.number_timeout
        obj = self.get("twiliophonenumbers", PHONE_NUMBER)
        while not is_current_and_ready(obj) and time.monotonic() < deadline:
            time.sleep(0.5)
            obj = self.get("twiliophonenumbers", PHONE_NUMBER)
        cond = ready_condition(obj)
        if is_current_and_ready(obj):
            info(
                f"OK: TwilioPhoneNumber {PHONE_NUMBER} is Ready (on trunk {obj_status(obj).get('trunkSid')})"
            )
        elif cond:
            info(
                f"NOTE: TwilioPhoneNumber {PHONE_NUMBER} is not Ready: "
                f"Ready={cond.get('status')} reason={cond.get('reason')}: {cond.get('message', '')}"
            )
        else:
            info(
                f"NOTE: TwilioPhoneNumber {PHONE_NUMBER} has no status yet: this operator build does not "
                "reconcile phone numbers yet (the demo goes on without it)."
            )

    def show_results(self, provider: dict[str, Any]) -> None:
        section("What the operator reports")
        self.kubectl("get", "twp", "-o", "wide", "-n", NAMESPACE, show=True)
        self.kubectl("get", "twpn", "-o", "wide", "-n", NAMESPACE, show=True)
        print(f"\n    $ kubectl get twp {PROVIDER} -n {NAMESPACE} -o yaml   # status only", flush=True)
        status_yaml = yaml.safe_dump({"status": provider.get("status") or {}}, sort_keys=False)
        print(indent(status_yaml), flush=True)
        secret = obj_status(provider).get("sipCredentialsSecretName") or f"{PROVIDER}-sip-credentials"
        # A go-template listing only the keys: the values (the SIP password among them) stay in the cluster.
        template = '{{range $k, $v := .data}}{{$k}}{{"\\n"}}{{end}}'
        info("SIP credentials Secret for your voice platform's outbound trunk (keys only):")
        self.kubectl("get", "secret", secret, "-n", NAMESPACE, "-o", f"go-template={template}", show=True)

    def show_twilio_side(self, sid: str) -> None:
        section("What the (emulated) Twilio account now holds")
        try:
            state = EmulatorAdmin(self.emulator_url).state()
        except (OSError, EmulatorAdminError) as error:
            info(f"could not read the emulator state: {error}")
            return
        account = next((a for a in state["accounts"] if a["sid"] == sid), None)
        if account is None:
            info("the demo account is missing from the emulator")
            return
        numbers = {n["sid"]: n["phone_number"] for n in account.get("incoming_phone_numbers") or []}
        for trunk in account.get("trunks") or []:
            info(f"trunk {trunk['sid']}  domain {trunk.get('domain_name')}  ({trunk.get('friendly_name')})")
            info(f"  transfer mode: {trunk.get('transfer_mode')}  auth type: {trunk.get('auth_type') or '-'}")
            for url in trunk.get("origination_urls") or []:
                info(f"  origination: {url.get('sip_url')} (priority {url.get('priority')})")
            info(f"  credential lists: {', '.join(trunk.get('credential_list_sids') or []) or '-'}")
            on_trunk = [numbers.get(s, s) for s in trunk.get("phone_number_sids") or []]
            info(f"  numbers on the trunk: {', '.join(on_trunk) or '-'}")
        info(f"numbers of the account: {', '.join(numbers.values()) or '-'}")

    def check_contract(self) -> None:
        """Every emulator exchange was checked against Twilio's OpenAPI documents when they are cached."""
        try:
            admin = EmulatorAdmin(self.emulator_url)
            if not admin.contract_checking():
                return
            violations = admin.contract_violations()
        except (OSError, EmulatorAdminError):
            return
        if violations:
            info(f"WARNING: {len(violations)} exchange(s) broke Twilio's OpenAPI contract:")
            for v in violations[:5]:
                info(f"  {v.get('method')} {v.get('path')} -> {v.get('status')}: {v.get('problem')}")
        else:
            info("every Twilio API call matched Twilio's OpenAPI documents")

    def wait_for_ctrl_c(self) -> None:
        cp = self._cp()
        section("Everything keeps running (--keep). Try it:")
        print(
            f"""
    export KUBECONFIG={cp.kubeconfig}
    alias kubectl={self.kubectl_path}      # the kubectl of `make demo` (downloaded or built)
    kubectl get twp -n {NAMESPACE} -o wide
    kubectl get twpn -n {NAMESPACE}
    kubectl get lkc -n {NAMESPACE} -o wide            # with --livekit
    kubectl describe twp {PROVIDER} -n {NAMESPACE}
    kubectl patch twp {PROVIDER} -n {NAMESPACE} --type merge -p '{{"spec":{{"supportsCallTransfer":true}}}}'

    Twilio emulator admin API: {self.emulator_url}/_emulator/state   (also /requests, /faults)
    operator log:              {self.operator.log_path if self.operator else "-"}

    Press Ctrl-C to stop everything and remove the temporary files.""",
            flush=True,
        )
        while True:
            for process in (self.operator, self.emulator):
                if process is not None and not process.running():
                    raise DemoError(f"the {process.name} exited:\n{process.log_tail(30)}")
            time.sleep(1)

    # -- LiveKit (--livekit) -----------------------------------------------------------------------
    # Prints usernames, IDs and numbers; never a password or the API secret.

    def livekit_part(self) -> None:
        section("Starting a real livekit-server with its Redis (loopback only)")
        try:
            self.livekit = LiveKitServer(self.workdir / "livekit").start()
        except (BinaryNotFoundError, LiveKitStartupError) as error:
            raise DemoError(f"{error}\n(run `make livekit` first, or just `make demo-livekit`)") from error
        livekit = self.livekit
        info(f"LiveKit API: {livekit.url}")

        section("A second number, for a second agent")
        second = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "TwilioPhoneNumber",
            "metadata": {"name": SECOND_NUMBER},
            "spec": {
                "providerRef": {"name": PROVIDER},
                "phoneNumber": DEMO_NUMBERS[1],
                "agentRef": {"name": "sales-agent"},
            },
        }
        self.apply_documents([second], "sales-line.yaml")

        section(f"Applying {LIVEKIT_EXAMPLE} (pointed at the local livekit-server)")
        documents = [d for d in yaml.safe_load_all((EXAMPLES / LIVEKIT_EXAMPLE).read_text()) if d]
        for document in documents:
            if document["kind"] == "Secret":
                document["stringData"] = {"apiKey": livekit.api_key, "apiSecret": livekit.api_secret}
            else:
                document["spec"]["url"] = livekit.url
                document["spec"].pop("inbound", None)  # Twilio's address ranges mean nothing locally
        self.apply_documents(documents, "livekit-connection.yaml")

        section(f"Waiting for LiveKitConnection {CONNECTION} to become Ready (up to {self.timeout:.0f}s)")
        try:
            wait_for(
                lambda: is_current_and_ready(self.get("livekitconnections", CONNECTION)),
                self.timeout,
                f"LiveKitConnection {CONNECTION} Ready",
                interval=0.5,
            )
        except WaitTimeout as error:
            cond = ready_condition(self.get("livekitconnections", CONNECTION))
            raise DemoError(
                f"LiveKitConnection {CONNECTION} did not become Ready: {error}; last: {cond}"
            ) from error
        info(f"OK: LiveKitConnection {CONNECTION} is Ready after {elapsed():.1f}s")
        self.kubectl("get", "lkc", "-o", "wide", "-n", NAMESPACE, show=True)
        asyncio.run(self.show_livekit())
        self.rotate_with_livekit()

    def apply_documents(self, documents: list[dict[str, Any]], name: str) -> None:
        path = self.workdir / name
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        path.chmod(0o600)  # it may hold the local LiveKit API secret
        self.kubectl("apply", "-n", NAMESPACE, "-f", str(path), show=True)

    async def livekit_call(self, what: Callable[[Any], Any]) -> Any:
        livekit = self.livekit
        assert livekit is not None
        connector = LiveKitLibraryConnector()
        try:
            return await what(
                connector.connect(LiveKitAddress(livekit.url, livekit.api_key, livekit.api_secret))
            )
        finally:
            await connector.close()

    async def show_livekit(self) -> None:
        section("What LiveKit now holds (read through its API)")

        async def read(port: Any) -> tuple[Any, Any, Any]:
            return (
                await port.list_inbound_trunks(),
                await port.list_outbound_trunks(),
                await port.list_dispatch_rules(),
            )

        inbound, outbound, rules = await self.livekit_call(read)
        for trunk in inbound:
            info(f"inbound trunk {trunk.id}: numbers {', '.join(sorted(trunk.spec.numbers))}")
        for trunk in outbound:
            info(
                f"outbound trunk {trunk.id}: dials {trunk.spec.address} as {trunk.spec.auth_username}, "
                f"caller IDs {', '.join(sorted(trunk.spec.numbers))}"
            )
        for rule in sorted(rules, key=lambda r: r.spec.agents):
            agents = ", ".join(rule.spec.agents)
            info(f"dispatch rule {rule.id}: {', '.join(rule.spec.numbers)} -> agent {agents}")

    def livekit_pair(self) -> tuple[str, str]:
        async def read(port: Any) -> tuple[str, str]:
            [trunk] = await port.list_outbound_trunks()
            return trunk.spec.auth_username, trunk.spec.auth_password

        pair: tuple[str, str] = asyncio.run(self.livekit_call(read))
        return pair

    def rotate_with_livekit(self) -> None:
        section("Rotating the SIP credential: LiveKit switches before Twilio forgets the old one")
        admin = EmulatorAdmin(self.emulator_url)
        domain = obj_status(self.get("twilioproviders", PROVIDER)).get("trunkDomainName") or ""
        old = self.livekit_pair()
        info(f"before: LiveKit dials as {old[0]}; Twilio accepts it: {admin.sip_auth(domain, *old)}")
        self.kubectl("annotate", "twp", PROVIDER, "-n", NAMESPACE, f"{ROTATE}=demo", "--overwrite", show=True)

        def switched() -> tuple[str, str] | None:
            pair = self.livekit_pair()
            return pair if pair[0] != old[0] else None

        try:
            new = wait_for(switched, self.timeout, "LiveKit on the new credential", interval=0.5)
        except WaitTimeout as error:
            raise DemoError(f"LiveKit's outbound trunk did not switch: {error}") from error
        recorded = obj_status(self.get("livekitconnections", CONNECTION)).get("outboundTrunk") or {}
        info(f"after:  LiveKit dials as {new[0]} (status.outboundTrunk.username {recorded.get('username')}); "
             f"Twilio accepts it: {admin.sip_auth(domain, *new)}")  # fmt: skip
        info(f"the old credential {old[0]} works until its grace period ends: {admin.sip_auth(domain, *old)}")

    # -- plumbing ----------------------------------------------------------------------------------

    def _cp(self) -> ControlPlane:
        if self.control_plane is None:
            raise DemoError("the control plane is not running")
        return self.control_plane

    def _wait_alive(self, process: ManagedProcess, healthy: Callable[[], bool], what: str) -> None:
        def check() -> bool:
            if not process.running():
                raise DemoError(f"{what} exited at start:\n{process.log_tail(30)}")
            return healthy()

        wait_for(check, 30, what)

    def kubectl(self, *args: str, show: bool = False) -> str:
        """Run the built kubectl against the demo cluster; raise DemoError on failure."""
        cp = self._cp()
        if show:
            # Shown as a command to copy: repository-relative paths, shell quoting.
            shown = [os.path.relpath(a, REPO) if a.startswith(str(REPO)) else a for a in args]
            print(f"\n    $ kubectl {shlex.join(shown)}", flush=True)
        result = cp.kubectl(*args)
        if result.returncode != 0:
            raise DemoError(f"kubectl {' '.join(args)} failed:\n{result.stderr.strip()}")
        if show and result.stdout.strip():
            print(indent(result.stdout), flush=True)
        return result.stdout

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        status, body = self._cp().request(
            "GET", f"/apis/{GROUP}/{VERSION}/namespaces/{NAMESPACE}/{plural}/{name}"
        )
        return body if status == 200 and isinstance(body, dict) else None

    def cleanup(self) -> None:
        section("Cleaning up (operator, emulator, control plane, temporary files)")
        for process in (self.operator, self.emulator):
            if process is not None:
                process.stop(timeout=15)
        if self.livekit is not None:
            self.livekit.stop()
        if self.control_plane is not None:
            self.control_plane.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        info("done")


def obj_status(obj: dict[str, Any] | None) -> dict[str, Any]:
    status: dict[str, Any] = (obj or {}).get("status") or {}
    return status


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="keep everything running until Ctrl-C")
    parser.add_argument(
        "--livekit",
        action="store_true",
        help="also a real livekit-server and a LiveKitConnection (make livekit)",
    )
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for the provider")
    parser.add_argument(
        "--number-timeout", type=float, default=20, help="seconds to wait for the phone number (not required)"
    )
    options = parser.parse_args(argv)
    # Ctrl-C and SIGTERM (e.g. a test timeout) clean up; SIGINT explicitly, as a shell's `&` ignores it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    print("twilio-operator demo: a local Kubernetes control plane, the Twilio emulator and the operator")
    demo = Demo(options.keep, options.timeout, options.number_timeout, options.livekit)
    code = 0
    try:
        demo.run()
    except KeyboardInterrupt:
        print("\n    interrupted", flush=True)
        code = 130 if not options.keep else 0
    except (DemoError, WaitTimeout) as error:
        print(f"\nDEMO FAILED: {error}", file=sys.stderr, flush=True)
        code = 1
    finally:
        # Ctrl-C during cleanup must not leave servers behind: ignore further interrupts.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        demo.cleanup()
    if code == 0:
        print(f"\nDemo finished in {elapsed():.1f}s.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
