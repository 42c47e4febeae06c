"""In-use protection of the credentials Secret: while a TwilioProvider exists, its credentials Secret
carries our finalizer, so that `kubectl delete -f dir/` or a namespace deletion cannot remove the
Secret before the provider has used it to delete the Twilio resources.

The finalizer is added when a reconcile finds the Secret, and removed when the last provider that
references the Secret is finalized (or, by the handlers, when a protected Secret that no provider
references any more is being deleted). The Secret's content is never copied anywhere.
"""

from __future__ import annotations

from twilio_operator.api import names
from twilio_operator.api.credentials import data_digest
from twilio_operator.api.models import PROVIDER
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData
from twilio_operator.provider.resource import Provider

PROTECTED_LABELS = {names.CREDENTIALS_LABEL: "in-use"}


async def protect_credentials(provider: Provider, deps: Deps, secret: SecretData | None) -> None:
    """Add the finalizer and the label if the Secret exists, lacks either and is not being deleted
    (the API server refuses new finalizers on an object that is being deleted). The label is what
    the operator's Secret watch selects by: without it, changes to the Secret go unnoticed."""
    if secret is None or secret.deleting:
        return
    ref = provider.spec.credentials_secret_ref
    labelled = all(secret.labels.get(key) == value for key, value in PROTECTED_LABELS.items())
    digest = data_digest(f"{provider.namespace}/{ref.name}", secret.data)
    current = secret.annotations.get(names.CREDENTIALS_DIGEST) == digest
    if deps.in_use_finalizer in secret.finalizers and labelled and current:
        return
    await deps.kube.protect_secret(
        provider.namespace,
        ref.name,
        deps.in_use_finalizer,
        PROTECTED_LABELS,
        {names.CREDENTIALS_DIGEST: digest},
    )


async def release_credentials(provider: Provider, deps: Deps) -> None:
    """Remove the finalizer unless another provider of the namespace still references the Secret."""
    ref_name = provider.spec.credentials_secret_ref.name
    for other in await deps.kube.list_objects(PROVIDER, provider.namespace):
        if other["metadata"].get("uid") == provider.uid:
            continue
        if ((other.get("spec") or {}).get("credentialsSecretRef") or {}).get("name") == ref_name:
            return
    await deps.kube.unprotect_secret(provider.namespace, ref_name, deps.in_use_finalizer)
