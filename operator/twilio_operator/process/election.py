"""The Lease settings of this process, from its settings: which Lease, where, and who campaigns."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

from twilio_operator import sharding
from twilio_operator.ports.kube.leader import ElectionSettings
from twilio_operator.settings import Settings, env_name

IN_CLUSTER_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def election_settings(
    settings: Settings, namespace_file: Path = IN_CLUSTER_NAMESPACE_FILE
) -> ElectionSettings | None:
    """The election settings, or None when election is off (the default: one replica)."""
    if not settings.leader_election:
        return None
    namespace = settings.leader_election_namespace or settings.pod_namespace or _own_namespace(namespace_file)
    if not namespace:
        raise ValueError(
            f"{env_name('leader_election')} is on: set {env_name('leader_election_namespace')} "
            f"(or {env_name('pod_namespace')}) to the Lease's namespace"
        )
    # A fresh suffix per process: a restarted pod is a new candidate, never "still the leader".
    identity = f"{settings.pod_name or socket.gethostname()}_{uuid.uuid4().hex[:8]}"
    return ElectionSettings(
        lease_name=sharding.lease_name(settings.leader_election_lease_name, settings.shard_labels),
        namespace=namespace,
        identity=identity,
        lease_duration=settings.leader_election_lease_duration,
        renew_deadline=settings.leader_election_renew_deadline,
        retry_period=settings.leader_election_retry_period,
    )


def _own_namespace(namespace_file: Path) -> str | None:
    """The pod's namespace, as Kubernetes mounts it into every pod with a ServiceAccount token."""
    try:
        return namespace_file.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
