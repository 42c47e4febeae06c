"""Generate the CustomResourceDefinitions from the pydantic models.

kopf has no CRD generator and pydantic's JSON schema is not structural (it uses
$ref/$defs, anyOf with null, titles and additionalProperties:false), so this
module rewrites it into the OpenAPI v3 subset the API server accepts.
`make crds` writes crds/ and the chart's copy; a test fails if either drifts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from twilio_operator.api import models

CHART_CRD_DIR = Path("charts") / "twilio-operator" / "crds"
_DROPPED_KEYS = {"title", "$defs"}


@dataclass(frozen=True)
class Kind:
    """What the generator needs to know about one custom resource kind."""

    kind: str
    plural: str
    short_name: str
    description: str
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: list[dict[str, Any]] = field(default_factory=list)
    object_rules: tuple[dict[str, str], ...] = ()  # CEL rules on the whole object (e.g. its name)

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{models.GROUP}"


def _ready_column(priority: int = 0) -> dict[str, Any]:
    return {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        "priority": priority,
    }


def _reason_column() -> dict[str, Any]:
    return {
        "name": "Reason",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
        "priority": 1,
    }


_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}

KINDS = [
    Kind(
        kind=models.PROVIDER.kind,
        plural=models.PROVIDER.plural,
        short_name=models.PROVIDER.short_name,
        description="A customer's Twilio account connected for voice: the operator provisions an Elastic "
        "SIP trunk with a termination URI, an attached credential list and SIP credentials (kept in a "
        "Secret), verifies the credentials and reports the result in status.",
        spec=models.TwilioProviderSpec,
        status=models.TwilioProviderStatus,
        object_rules=models.PROVIDER_OBJECT_RULES,
        columns=[
            _ready_column(),
            {"name": "Verification", "type": "string", "jsonPath": ".status.verificationStatus"},
            {"name": "Trunk", "type": "string", "jsonPath": ".status.trunkSid"},
            {"name": "Numbers", "type": "integer", "jsonPath": ".status.phoneNumberCount"},
            {"name": "Region", "type": "string", "jsonPath": ".status.region"},
            {
                "name": "Paused",
                "type": "string",
                "jsonPath": '.status.conditions[?(@.type=="Paused")].status',
            },
            {"name": "Termination", "type": "string", "jsonPath": ".status.terminationUri", "priority": 1},
            _reason_column(),
            _AGE,
        ],
    ),
    Kind(
        kind=models.PHONE_NUMBER.kind,
        plural=models.PHONE_NUMBER.plural,
        short_name=models.PHONE_NUMBER.short_name,
        description="One phone number of the provider's Twilio account, imported onto the provider's "
        "trunk (or bought, spec.purchase) and routed to a voice agent. Deleting it detaches the number "
        "and keeps it in the account; only a number it bought is released, with releasePolicy Release.",
        spec=models.TwilioPhoneNumberSpec,
        status=models.TwilioPhoneNumberStatus,
        object_rules=models.PHONE_NUMBER_OBJECT_RULES,
        columns=[
            {"name": "Number", "type": "string", "jsonPath": ".status.phoneNumber"},
            {"name": "Provider", "type": "string", "jsonPath": ".spec.providerRef.name"},
            _ready_column(),
            {"name": "Agent", "type": "string", "jsonPath": ".spec.agentRef.name"},
            {"name": "Release", "type": "string", "jsonPath": ".spec.releasePolicy", "priority": 1},
            {
                "name": "Emergency",
                "type": "string",
                "jsonPath": ".status.emergencyAddressStatus",
                "priority": 1,
            },
            {"name": "Trunk", "type": "string", "jsonPath": ".status.trunkSid", "priority": 1},
            _reason_column(),
            _AGE,
        ],
    ),
    Kind(
        kind=models.EMERGENCY_ADDRESS.kind,
        plural=models.EMERGENCY_ADDRESS.plural,
        short_name=models.EMERGENCY_ADDRESS.short_name,
        description="A street address for emergency calls, kept as a Twilio Address with emergency calling "
        "enabled in the provider's account; TwilioPhoneNumbers register it with emergencyAddressRef. "
        "Deleting it deletes the Address once no number uses it.",
        spec=models.TwilioEmergencyAddressSpec,
        status=models.TwilioEmergencyAddressStatus,
        columns=[
            {"name": "Provider", "type": "string", "jsonPath": ".spec.providerRef.name"},
            {"name": "Country", "type": "string", "jsonPath": ".spec.isoCountry"},
            _ready_column(),
            {"name": "Validation", "type": "string", "jsonPath": ".status.validation"},
            {"name": "Address", "type": "string", "jsonPath": ".status.addressSid", "priority": 1},
            _reason_column(),
            _AGE,
        ],
    ),
    Kind(
        kind=models.LIVEKIT_CONNECTION.kind,
        plural=models.LIVEKIT_CONNECTION.plural,
        short_name=models.LIVEKIT_CONNECTION.short_name,
        description="LiveKit's SIP side for a TwilioProvider: the operator keeps a LiveKit inbound trunk "
        "(the provider's imported numbers), an outbound trunk (the Twilio termination URI and SIP "
        "credentials, switched before a rotation retires the old credential) and one dispatch rule per "
        "agent equal to the provider and its TwilioPhoneNumbers, and routes the Twilio trunk to sipUri.",
        spec=models.LiveKitConnectionSpec,
        status=models.LiveKitConnectionStatus,
        columns=[
            {"name": "Provider", "type": "string", "jsonPath": ".spec.providerRef.name"},
            _ready_column(),
            {"name": "Numbers", "type": "integer", "jsonPath": ".status.numberCount"},
            {"name": "Inbound", "type": "string", "jsonPath": ".status.inboundTrunk.id"},
            {"name": "Outbound", "type": "string", "jsonPath": ".status.outboundTrunk.id"},
            {
                "name": "Conflict",
                "type": "string",
                "jsonPath": '.status.conditions[?(@.type=="Conflict")].status',
            },
            {"name": "URL", "type": "string", "jsonPath": ".spec.url", "priority": 1},
            {"name": "SIP URI", "type": "string", "jsonPath": ".spec.sipUri", "priority": 1},
            _reason_column(),
            _AGE,
        ],
    ),
]


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema rewritten as a Kubernetes structural schema."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    result: dict[str, Any] = _rewrite(schema, schema.get("$defs", {}))
    return result


def _rewrite(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        # Inline the definition; the referring node's own keys (its description) win.
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return _rewrite({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
    if "anyOf" in node:
        # Optional[X] is expressed by leaving the field out of `required`, not by null.
        arms = [arm for arm in node["anyOf"] if arm != {"type": "null"}]
        if len(arms) != 1:
            raise ValueError(f"cannot express a union in a structural schema: {node['anyOf']}")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        return _rewrite({**arms[0], **rest}, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or (key == "additionalProperties" and value is False):
            continue
        if key == "default" and value is None:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out[key] = {name: _rewrite(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _rewrite(value, defs)
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def build_crd(kind: Kind) -> dict[str, Any]:
    """The CustomResourceDefinition of one kind, as a plain dict."""
    spec_schema = structural_schema(kind.spec)
    status_schema = structural_schema(kind.status)
    spec_schema["description"] = (kind.spec.__doc__ or "").strip()
    status_schema["description"] = (kind.status.__doc__ or "").strip()
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": kind.crd_name,
            "labels": {
                "app.kubernetes.io/name": "twilio-operator",
                "app.kubernetes.io/part-of": "twilio-operator",
            },
        },
        "spec": {
            "group": models.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.kind.lower(),
                "shortNames": [kind.short_name],
                "categories": ["twilio"],
            },
            "versions": [
                {
                    "name": models.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": kind.columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": kind.description,
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string", "description": "API version of the object."},
                                "kind": {"type": "string", "description": "Kind of the object."},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                            **(
                                {"x-kubernetes-validations": list(kind.object_rules)}
                                if kind.object_rules
                                else {}
                            ),
                        }
                    },
                }
            ],
        },
    }


def render(crd: dict[str, Any]) -> str:
    """YAML text of a CRD, stable across runs."""
    header = (
        "# Generated by `twilio-operator crds` from operator/twilio_operator/api/models.py. Do not edit.\n"
    )
    return header + yaml.safe_dump(crd, sort_keys=False, width=120)


def rendered_crds() -> dict[str, str]:
    """File name -> YAML text for every kind."""
    return {f"{kind.crd_name}.yaml": render(build_crd(kind)) for kind in KINDS}


def write_crds(output_dir: Path, chart_dir: Path | None = None) -> list[Path]:
    """Write every CRD to output_dir (and the chart's crds/ copy); return the paths written."""
    written = []
    for directory in [output_dir] + ([chart_dir] if chart_dir else []):
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in rendered_crds().items():
            path = directory / name
            path.write_text(text)
            written.append(path)
    return written
