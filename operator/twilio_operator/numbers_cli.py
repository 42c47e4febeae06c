"""`twilio-operator numbers manifest`: the provider's account numbers as TwilioPhoneNumber manifests.

The numbers are read from Twilio with the provider's own credentials Secret (status.availableNumbers
is only as fresh as the last verification). Reads only.
"""

from __future__ import annotations

import asyncio
import os
import sys

import yaml

from twilio_operator.api.credentials import CredentialProblem, parse_credentials
from twilio_operator.api.models import PROVIDER, TwilioProviderSpec
from twilio_operator.api.regions import ResolvedRegion
from twilio_operator.phone_number.manifest import manifests, select
from twilio_operator.ports.kube import adapter as kube_adapter
from twilio_operator.ports.twilio.adapter import TwilioLibraryConnector
from twilio_operator.settings import read_setting

ALL_NUMBERS = 1_000_000


def print_manifests(
    provider: str, namespace: str | None, everything: bool, pattern: str | None, wanted: list[str]
) -> int:
    try:
        available, namespace = asyncio.run(_account_numbers(provider, namespace))
    except LookupError as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 1
    chosen, absent = select(available, everything=everything, pattern=pattern, wanted=wanted)
    for number in absent:
        print(
            f"warning: {number} is not a number of the account of TwilioProvider {provider}", file=sys.stderr
        )
    if chosen:
        print(yaml.safe_dump_all(manifests(provider, namespace, chosen), sort_keys=False), end="")
    print(f"{len(chosen)} TwilioPhoneNumber manifests", file=sys.stderr)
    return 1 if absent and not chosen else 0


async def _account_numbers(provider: str, namespace: str | None) -> tuple[list[str], str]:
    kube = await kube_adapter.connect()
    try:
        namespace = namespace or kube_adapter.current_namespace()
        body = await kube.read_object(PROVIDER, namespace, provider)
        if body is None:
            raise LookupError(f"TwilioProvider {namespace}/{provider} not found")
        # The account itself, not status.availableNumbers: that is as old as the last verification
        # (numbers bought since would be missing).
        return await _from_twilio(kube, namespace, TwilioProviderSpec.model_validate(body["spec"])), namespace
    finally:
        await kube.close()


async def _from_twilio(
    kube: kube_adapter.KubernetesGateway, namespace: str, spec: TwilioProviderSpec
) -> list[str]:
    ref = spec.credentials_secret_ref
    secret = await kube.read_secret(namespace, ref.name)
    credentials = parse_credentials(
        ref, namespace, secret.data if secret else None, spec.account_sid, ResolvedRegion.of(spec.region)
    )
    if isinstance(credentials, CredentialProblem):
        raise LookupError(credentials.message)
    connector = TwilioLibraryConnector(read_setting("twilio_base_url", os.environ))
    try:
        page = await connector.connect(credentials).page_incoming_numbers(ALL_NUMBERS)
    finally:
        await connector.close()
    return [n.phone_number for n in page.numbers]
