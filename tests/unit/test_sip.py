"""api/sip.py: SIP URIs that differ only as RFC 3261 allows compare equal; real differences do not."""

from __future__ import annotations

import pytest

from twilio_operator.api.sip import normalize_sip_url


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sip:Agents.Example.com", "sip:agents.example.com"),
        ("SIP:agents.example.com;transport=TCP", "sip:agents.example.com;transport=tcp"),
        ("sip:a.example.com;transport=tcp;lr", "sip:a.example.com;lr;transport=tcp"),
        (" sip:a.example.com:5060 ", "sip:a.example.com:5060"),
        ("sip:bot@A.example.com", "sip:bot@a.example.com"),
    ],
)
def test_equivalent(a: str, b: str) -> None:
    assert normalize_sip_url(a) == normalize_sip_url(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sip:Bot@a.example.com", "sip:bot@a.example.com"),  # the user part is case-sensitive
        ("sip:a.example.com:5060", "sip:a.example.com:5061"),
        ("sip:a.example.com;transport=tcp", "sip:a.example.com;transport=udp"),
        ("sip:a.example.com", "sip:b.example.com"),
    ],
)
def test_different(a: str, b: str) -> None:
    assert normalize_sip_url(a) != normalize_sip_url(b)
