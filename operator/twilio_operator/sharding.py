"""Sharding: several operator deployments, each owning a disjoint set of objects.

One leader serves everything it watches (replicas of one deployment elect it
through a Lease, ports/kube/leader.py). To spread the load, run several
deployments that each watch their own
namespaces (`--namespace`, the chart's watchNamespaces) or their own label
shard: TWILIO_OPERATOR_SHARD_SELECTOR="shard=a" makes every TwilioProvider and
TwilioPhoneNumber handler of this process ignore objects without that label.
Label a provider and its numbers alike.

Each shard needs its own finalizer name: kopf removes its finalizer from every
watched object that none of its handlers match, so shards sharing one name
would strip each other's deletion protection. With leader election on, each
shard also needs its own Lease (`lease_name`): the replicas of one shard elect
one leader among themselves, and never wait for another shard's leader.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def parse_selector(raw: str | None) -> dict[str, str]:
    """'shard=a,tier=gold' -> {'shard': 'a', 'tier': 'gold'}; empty means no sharding."""
    selector: dict[str, str] = {}
    for part in (raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _KEY.match(key) or not _VALUE.match(value):
            raise ValueError(f"{part!r} is not a label equality like shard=a")
        selector[key] = value
    return selector


def handler_filter(selector: Mapping[str, str]) -> Mapping[str, Any]:
    """Keyword arguments for kopf decorators: a labels filter when this process owns a shard
    (read-only: kopf's handlers share it)."""
    return MappingProxyType({"labels": MappingProxyType(dict(selector))} if selector else {})


def finalizer_name(group: str, selector: dict[str, str], base: str = "finalizer") -> str:
    """`<group>/finalizer` without sharding, `<group>/finalizer-shard.a` (or a digest) with one.
    `base` names other finalizers of the same shard, e.g. `in-use` on credentials Secrets."""
    if not selector:
        return f"{group}/{base}"
    text = "-".join(f"{key.rsplit('/', 1)[-1]}.{value}" for key, value in sorted(selector.items()))
    if len(text) > 40 or not re.fullmatch(r"[A-Za-z0-9._-]+", text):
        text = hashlib.sha256(",".join(f"{k}={v}" for k, v in sorted(selector.items())).encode()).hexdigest()[
            :16
        ]
    return f"{group}/{base}-{text}"


def lease_name(base: str, selector: dict[str, str]) -> str:
    """The shard's Lease: `base` without sharding, `base-shard.a` (or a digest) with one.

    A Lease name is a DNS subdomain (lowercase, digits, '-' and '.'), which is stricter than a
    finalizer's name part, so a shard text outside that alphabet becomes a digest here.
    """
    if not selector:
        return base
    text = "-".join(f"{key.rsplit('/', 1)[-1]}.{value}" for key, value in sorted(selector.items()))
    if len(text) > 40 or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", text):
        text = hashlib.sha256(",".join(f"{k}={v}" for k, v in sorted(selector.items())).encode()).hexdigest()[
            :16
        ]
    return f"{base}-{text}"
