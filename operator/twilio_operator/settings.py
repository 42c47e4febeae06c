"""The operator's settings: every environment variable it reads, with its type, default and meaning.

`Settings.from_environ(os.environ)` reads them once: `twilio-operator run` does it when it starts
(cli.py), hands the frozen result to kopf (process/launch.py), and the startup handler keeps it in
the OperatorState; modules below take the values they need as parameters. The other reads use the
same definitions (`read_setting`), each for a reason: kopf fixes a handler's filters when its module
is imported, before any startup handler runs, so the shard selector is read then too
(handlers/runtime.py, SHARD); kopf started directly (`kopf run -m twilio_operator.handlers`) has
its startup handler read the settings itself; and `twilio-operator check` and `numbers manifest`
read the one setting they use, the Twilio base URL.

An unset or empty variable means its default. A malformed value (one that is not of the variable's
type) means what it meant before this module existed, as the table says per variable: the default
for the delays, the liveness horizon and the interval scale; a refusal to start for the rest (a port,
a bound, a label selector or a Lease setting that cannot be read is not guessed).

docs/install.md's table of settings is generated from the fields below (`make settings-docs`); a test
fails when it drifts, and another when a module outside the entry points reads the environment.
Not settings of the operator, so not here: the Twilio variables that `twilio-operator check` reads
as its input (TWILIO_ACCOUNT_SID, ...: check_cli.py and its --help), and those of the test world
(the emulator's, the control plane harness's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from twilio_operator import sharding

LogFormat = Literal["text", "json"]


@dataclass(frozen=True)
class Kind:
    """How a variable's text becomes its value."""

    name: str  # the table's type column
    parse: Callable[[str], Any]  # raises ValueError on a malformed value
    malformed: Literal["default", "refused", "-"]  # what a malformed value does ("-": none is)
    accept: Callable[[Any], bool] = lambda _: True  # a parsed value it does not accept means the default
    refusal: str = "is not a valid value"


def _truthy(raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _log_format(raw: str) -> LogFormat:
    return "json" if raw.lower() == "json" else "text"


def _selector(raw: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(sharding.parse_selector(raw).items()))


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part for part in raw.split(",") if part)


SECONDS = Kind("seconds (>= 0)", float, "default", accept=lambda value: value >= 0)
NUMBER = Kind("number", float, "default")
SCALE = Kind("number (> 0)", float, "default", accept=lambda value: value > 0)
INTEGER = Kind("integer", int, "refused", refusal="is not an integer")
WHOLE_SECONDS = Kind(
    "whole seconds", lambda raw: int(float(raw)), "refused", refusal="is not a number of seconds"
)
STRICT_SECONDS = Kind("seconds", float, "refused", refusal="is not a number of seconds")
FLAG = Kind("boolean: true, 1, yes or on (anything else is false)", _truthy, "-")
TEXT = Kind("text", str, "-")
LOG_LEVEL = Kind("DEBUG, INFO, WARNING or ERROR", str.upper, "-")
LOG_FORMAT = Kind("text or json", _log_format, "-")
NAMES = Kind("comma-separated names", _names, "-")
SELECTOR = Kind("label equalities: key=value,...", _selector, "refused")


@dataclass(frozen=True)
class Variable:
    """One environment variable and the field of Settings it sets."""

    env: str
    kind: Kind
    description: str
    chart: str = ""  # the chart value that sets it, if any
    default_text: str | None = None  # the default as the table says it, when not the value itself


def _variable(
    env: str, kind: Kind, description: str, *, chart: str = "", default_text: str | None = None
) -> dict[str, Variable]:
    """A field's metadata: the variable that sets it."""
    return {"variable": Variable(env, kind, description, chart, default_text)}


@dataclass(frozen=True)
class Settings:
    """The operator's settings, typed; `Settings()` is every default."""

    twilio_base_url: str | None = field(
        default=None,
        metadata=_variable(
            "TWILIO_OPERATOR_TWILIO_BASE_URL",
            TEXT,
            "Twilio's API base URL, for the emulator (`twilio-operator emulator`); unset: Twilio itself",
            chart="`twilioBaseUrl`",
            default_text="Twilio",
        ),
    )
    log_level: str = field(
        default="INFO",
        metadata=_variable(
            "TWILIO_OPERATOR_LOG_LEVEL",
            LOG_LEVEL,
            "DEBUG logs every handler step (kopf's --verbose), WARNING or ERROR only problems (--quiet)",
            chart="`logLevel`",
        ),
    )
    log_format: LogFormat = field(
        default="text",
        metadata=_variable(
            "TWILIO_OPERATOR_LOG_FORMAT",
            LOG_FORMAT,
            "json writes one JSON object per line (with the object's namespace and name); anything else "
            "is text",
            chart="`logFormat` (`json` in the chart)",
        ),
    )
    metrics_port: int = field(
        default=9090,
        metadata=_variable(
            "TWILIO_OPERATOR_METRICS_PORT",
            INTEGER,
            "the port of /metrics (Prometheus), served on all interfaces; 0 serves none",
            chart="`metrics.port` (0 when `metrics.enabled` is false)",
        ),
    )
    shard_selector: tuple[tuple[str, str], ...] = field(
        default=(),
        metadata=_variable(
            "TWILIO_OPERATOR_SHARD_SELECTOR",
            SELECTOR,
            "serve only TwilioProviders and TwilioPhoneNumbers with these labels (sharding.py); each shard "
            "has its own finalizer and Lease",
            chart="`shardSelector`",
            default_text="every object",
        ),
    )
    watch_namespaces: tuple[str, ...] = field(
        default=(),
        metadata=_variable(
            "TWILIO_OPERATOR_WATCH_NAMESPACES",
            NAMES,
            "the namespaces of the operator's own Secret watches; `twilio-operator run` sets it from its "
            "`--namespace` options (it is read only when kopf runs the handlers directly)",
            chart="`watchNamespaces` (as `--namespace`)",
            default_text="every namespace",
        ),
    )
    max_concurrency_per_account: int = field(
        default=8,
        metadata=_variable(
            "TWILIO_OPERATOR_MAX_CONCURRENCY_PER_ACCOUNT",
            INTEGER,
            "Twilio requests in flight per account",
        ),
    )
    max_concurrent_reconciles: int = field(
        default=50,
        metadata=_variable(
            "TWILIO_OPERATOR_MAX_CONCURRENT_RECONCILES",
            INTEGER,
            "reconciles in flight in the process",
        ),
    )
    auth_retry_seconds: float = field(
        default=60.0,
        metadata=_variable(
            "TWILIO_OPERATOR_AUTH_RETRY_SECONDS",
            SECONDS,
            "the next try after Twilio refused the credentials or the account is inactive, when nothing "
            "else changed (re-activating an account is noticed within it). A fix of the credentials "
            "Secret, and any change of the spec (including undoing the change that broke it), is "
            "reconciled at once, not after this delay",
        ),
    )
    refused_retry_seconds: float = field(
        default=60.0,
        metadata=_variable(
            "TWILIO_OPERATOR_REFUSED_RETRY_SECONDS",
            SECONDS,
            "the first retry after Twilio refused a write for good (a quota reached, a value it does not "
            "take); then 2, 4, 5, 5 ... times it, at most 5 minutes apart. A quota freed in the account "
            "is noticed within it; a spec change is reconciled at once",
        ),
    )
    deletion_retry_seconds: float = field(
        default=30.0,
        metadata=_variable(
            "TWILIO_OPERATOR_DELETION_RETRY_SECONDS",
            SECONDS,
            "the first retry of a deletion that waits (`DeletionBlocked`: the credentials are not usable, "
            "or a number is still on the trunk because Twilio refused every way to take it off); then "
            "doubling, at most 5 minutes apart. A fix made by hand is picked up by the next retry",
        ),
    )
    purchase_retry_seconds: float = field(
        default=60.0,
        metadata=_variable(
            "TWILIO_OPERATOR_PURCHASE_RETRY_SECONDS",
            SECONDS,
            "after a purchase attempt of a TwilioPhoneNumber's `spec.purchase` that bought nothing (no "
            "matching number for sale, an address or bundle required, the funds): the next attempt waits "
            "this long, then twice as long each time, at most an hour; nothing is asked of Twilio in "
            "between. A change of the spec is tried at once. See docs/numbers.md",
        ),
    )
    livekit_resync_seconds: float = field(
        default=300.0,
        metadata=_variable(
            "TWILIO_OPERATOR_LIVEKIT_RESYNC_SECONDS",
            SECONDS,
            "how often a LiveKitConnection reads LiveKit again to repair drift (LiveKit has no watch); a "
            "change of the connection, its provider, its numbers or its Secrets is reconciled at once",
        ),
    )
    number_recheck_seconds: float = field(
        default=600.0,
        metadata=_variable(
            "TWILIO_OPERATOR_NUMBER_RECHECK_SECONDS",
            SECONDS,
            "recheck of a TwilioPhoneNumber that is not Ready; numbers in Conflict are rechecked after "
            "30 s, 1 min, then every 2 minutes (one read each), and at once when the TwilioPhoneNumber "
            "holding their number elsewhere is deleted. A number that appears in the account is imported "
            "at its provider's next verification, not after this delay",
        ),
    )
    min_wake_spacing_seconds: float = field(
        default=2.0,
        metadata=_variable(
            "TWILIO_OPERATOR_MIN_WAKE_SPACING_SECONDS",
            SECONDS,
            "the least time between two runs of one object triggered by wake-ups; doubles (up to 120 s) "
            "while wake-ups keep coming that fast, so objects cannot wake each other into a loop",
        ),
    )
    liveness_stall_seconds: float = field(
        default=600.0,
        metadata=_variable(
            "TWILIO_OPERATOR_LIVENESS_STALL_SECONDS",
            NUMBER,
            "watch silence that fails the liveness probe (at least twice the shortest verification interval)",
        ),
    )
    verification_interval_scale: float = field(
        default=1.0,
        metadata=_variable(
            "TWILIO_OPERATOR_VERIFICATION_INTERVAL_SCALE",
            SCALE,
            "multiplies every verificationInterval; for tests and benchmarks only",
        ),
    )
    leader_election: bool = field(
        default=False,
        metadata=_variable(
            "TWILIO_OPERATOR_LEADER_ELECTION",
            FLAG,
            "campaign for a Lease before starting kopf: one replica acts, the others stand by",
            chart="`leaderElection.enabled` (on when `replicaCount > 1`)",
        ),
    )
    leader_election_lease_name: str = field(
        default="twilio-operator",
        metadata=_variable(
            "TWILIO_OPERATOR_LEADER_ELECTION_LEASE_NAME",
            TEXT,
            "the Lease's name; with a shard selector the shard is appended: `twilio-operator-shard.a`",
            chart="`leaderElection.leaseName` (default: the release name)",
        ),
    )
    leader_election_namespace: str | None = field(
        default=None,
        metadata=_variable(
            "TWILIO_OPERATOR_LEADER_ELECTION_NAMESPACE",
            TEXT,
            "where the Lease lives",
            chart="the release namespace",
            default_text="`POD_NAMESPACE`, else the pod's own namespace",
        ),
    )
    leader_election_lease_duration: int = field(
        default=10,
        metadata=_variable(
            "TWILIO_OPERATOR_LEADER_ELECTION_LEASE_DURATION",
            WHOLE_SECONDS,
            "how long a standby waits after the last renewal: the bound on a crash failover. "
            "`lease duration > renew deadline > 1.2 x retry period >= 1.2` is required",
            chart="`leaderElection.leaseDuration`",
        ),
    )
    leader_election_renew_deadline: float = field(
        default=7.0,
        metadata=_variable(
            "TWILIO_OPERATOR_LEADER_ELECTION_RENEW_DEADLINE",
            STRICT_SECONDS,
            "how long a leader acts without a successful renewal before it exits",
            chart="`leaderElection.renewDeadline`",
        ),
    )
    leader_election_retry_period: float = field(
        default=1.0,
        metadata=_variable(
            "TWILIO_OPERATOR_LEADER_ELECTION_RETRY_PERIOD",
            STRICT_SECONDS,
            "time between attempts: the bound on a graceful handover",
            chart="`leaderElection.retryPeriod`",
        ),
    )
    pod_name: str | None = field(
        default=None,
        metadata=_variable(
            "POD_NAME",
            TEXT,
            "the Lease holder's name (plus a suffix per process), so that `kubectl get lease` shows the "
            "leading pod",
            chart="the pod's name",
            default_text="the host name",
        ),
    )
    pod_namespace: str | None = field(
        default=None,
        metadata=_variable(
            "POD_NAMESPACE",
            TEXT,
            "the Lease's namespace when TWILIO_OPERATOR_LEADER_ELECTION_NAMESPACE is not set",
            default_text="the pod's own namespace",
        ),
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Every setting from `environ`; ValueError names the variable of a value refused."""
        return cls(**{f.name: read_setting(f.name, environ) for f in dataclasses.fields(cls)})

    @property
    def shard_labels(self) -> dict[str, str]:
        return dict(self.shard_selector)


def variable(name: str) -> Variable:
    """The variable behind the field `name` of Settings."""
    found: Variable = next(f for f in dataclasses.fields(Settings) if f.name == name).metadata["variable"]
    return found


def env_name(name: str) -> str:
    """The environment variable of the field `name` of Settings (for messages that name it)."""
    return variable(name).env


def read_setting(name: str, environ: Mapping[str, str]) -> Any:
    """One setting's value from `environ`: its default when unset or empty, and when malformed if its
    kind says so; ValueError naming the variable otherwise."""
    setting = next(f for f in dataclasses.fields(Settings) if f.name == name)
    about: Variable = setting.metadata["variable"]
    raw = environ.get(about.env, "")
    if not raw:
        return setting.default
    try:
        value = about.kind.parse(raw)
    except (ValueError, OverflowError) as error:
        if about.kind.malformed == "default":
            return setting.default
        detail = str(error) if about.kind is SELECTOR else f"{raw!r} {about.kind.refusal}"
        raise ValueError(f"{about.env}: {detail}") from None
    return value if about.kind.accept(value) else setting.default


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The table of docs/install.md ("Timers and other settings"): one row per variable."""
    rows = [
        "| variable | type | default | if malformed | chart value | what it is |",
        "|---|---|---|---|---|---|",
    ]
    for setting in dataclasses.fields(Settings):
        about: Variable = setting.metadata["variable"]
        default = about.default_text if about.default_text is not None else _shown(setting.default)
        malformed = {"default": "the default", "refused": "refused at start", "-": "-"}[about.kind.malformed]
        cells = (f"`{about.env}`", about.kind.name, default, malformed, about.chart or "-", about.description)
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"
