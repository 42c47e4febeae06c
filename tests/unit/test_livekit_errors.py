"""LiveKit's answers classified in one place, conflict IDs read from LiveKit's own messages, and values
and errors that never show a secret. The texts are livekit-server v1.13.5's (github.com/livekit/protocol
sip/sip.go; the same texts come back from the real server in tests/livekit_sip)."""

from __future__ import annotations

import pytest

from twilio_operator.api.errors import (
    LiveKitError,
    LiveKitErrorKind,
    classify_livekit,
    conflicting_livekit_id,
    describe,
)
from twilio_operator.api.livekit_values import LiveKitServer, OutboundTrunk, OutboundTrunkSpec

TRUNK_CONFLICT = (
    'Conflicting inbound SIP Trunks: "<new>" and "ST_6gu8aQH2JTNJ", using the same number(s) '
    '["+15550001111"] without AllowedNumbers set'
)
TRUNK_CONFLICT_ON_UPDATE = (
    'Conflicting inbound SIP Trunks: "ST_ownTrunk0001" and "ST_otherTrunk02", using the same number(s) '
    '["+15550001111"] and AllowedNumber "+15557770000"'
)
RULE_CONFLICT = (
    "Dispatch rule for the same trunk, inbound number, number, and PIN combination already exists in "
    'dispatch rule "SDR_NcGbcyspJeqB" "rule1-renamed"'
)


@pytest.mark.parametrize(
    ("status", "code", "message", "kind"),
    [
        (None, None, "", LiveKitErrorKind.UNREACHABLE),  # no answer: refused, timeout, DNS
        (404, "unknown", "", LiveKitErrorKind.UNREACHABLE),  # some HTTP server, not LiveKit's API
        (404, "bad_route", "no handler for path", LiveKitErrorKind.UNREACHABLE),  # a Twirp server, wrong path
        (401, "unknown", "", LiveKitErrorKind.AUTH),  # wrong key or secret: livekit-server's answer
        (401, "unauthenticated", "permissions denied", LiveKitErrorKind.AUTH),  # no SIP admin grant
        (403, "permission_denied", "", LiveKitErrorKind.AUTH),
        (404, "not_found", "requested sip trunk does not exist", LiveKitErrorKind.NOT_FOUND),
        (400, "invalid_argument", TRUNK_CONFLICT, LiveKitErrorKind.CONFLICT),
        (400, "invalid_argument", TRUNK_CONFLICT_ON_UPDATE, LiveKitErrorKind.CONFLICT),
        (400, "invalid_argument", RULE_CONFLICT, LiveKitErrorKind.CONFLICT),
        (409, "already_exists", "exists", LiveKitErrorKind.CONFLICT),
        (400, "invalid_argument", "no trunk numbers specified", LiveKitErrorKind.INVALID),
        (400, "malformed", "bad protobuf", LiveKitErrorKind.INVALID),
        (501, "unimplemented", "", LiveKitErrorKind.TRANSIENT),  # a 5xx is retried, whatever its code
        (500, "unknown", "dial tcp 127.0.0.1:16379: connect: connection refused", LiveKitErrorKind.TRANSIENT),
        (500, "internal", "sip not connected (redis required)", LiveKitErrorKind.TRANSIENT),
        (503, "unavailable", "", LiveKitErrorKind.TRANSIENT),
        (429, "resource_exhausted", "slow down", LiveKitErrorKind.TRANSIENT),
        (502, "unknown", "", LiveKitErrorKind.TRANSIENT),  # a proxy in front of LiveKit failing
    ],
)
def test_classify_livekit(status: int | None, code: str | None, message: str, kind: LiveKitErrorKind) -> None:
    assert classify_livekit(status, code, message) is kind


def test_a_404_is_not_found_only_with_livekits_own_code() -> None:
    # A delete that took any 404 for "already gone" would drop a trunk it never reached.
    assert classify_livekit(404, "unknown", "") is not LiveKitErrorKind.NOT_FOUND
    assert classify_livekit(404, "not_found", "requested sip dispatch rule does not exist") is (
        LiveKitErrorKind.NOT_FOUND
    )


@pytest.mark.parametrize(
    ("message", "own_id", "other"),
    [
        (TRUNK_CONFLICT, None, "ST_6gu8aQH2JTNJ"),  # a create: the new trunk is "<new>"
        (TRUNK_CONFLICT_ON_UPDATE, "ST_ownTrunk0001", "ST_otherTrunk02"),
        (TRUNK_CONFLICT_ON_UPDATE, "ST_otherTrunk02", "ST_ownTrunk0001"),  # LiveKit prints either order
        (RULE_CONFLICT, None, "SDR_NcGbcyspJeqB"),
        (RULE_CONFLICT, "SDR_NcGbcyspJeqB", None),  # an update may name the updated rule itself
        ("no trunk numbers specified", None, None),
    ],
)
def test_conflicting_livekit_id(message: str, own_id: str | None, other: str | None) -> None:
    assert conflicting_livekit_id(message, own_id) == other


def test_livekit_error_message() -> None:
    error = LiveKitError(
        "create LiveKit inbound trunk",
        LiveKitErrorKind.CONFLICT,
        status=400,
        code="invalid_argument",
        detail=TRUNK_CONFLICT,
        conflicting_id="ST_6gu8aQH2JTNJ",
    )
    assert str(error) == f"cannot create LiveKit inbound trunk: HTTP 400, invalid_argument: {TRUNK_CONFLICT}"
    assert describe(error) == str(error)
    unreachable = LiveKitError(
        "list LiveKit inbound trunks", LiveKitErrorKind.UNREACHABLE, detail="cannot connect to h:1: refused"
    )
    assert str(unreachable) == "cannot list LiveKit inbound trunks: cannot connect to h:1: refused"
    refused = LiveKitError("list LiveKit inbound trunks", LiveKitErrorKind.AUTH, status=401, code="unknown")
    assert str(refused) == "cannot list LiveKit inbound trunks: HTTP 401"  # twirp's "unknown" left out


def test_values_never_show_a_secret() -> None:
    server = LiveKitServer("http://127.0.0.1:7880", "APIkey", "s3cret-s3cret-s3cret-s3cret-s3cret-0")
    trunk = OutboundTrunk(
        "ST_x", OutboundTrunkSpec("out", "a.pstn.twilio.com", ("+15550001111",), auth_password="pw-9f8e7d")
    )
    assert "s3cret" not in repr(server) and "APIkey" in repr(server)
    assert "pw-9f8e7d" not in repr(trunk) and "a.pstn.twilio.com" in repr(trunk)
