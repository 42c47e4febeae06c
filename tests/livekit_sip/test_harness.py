"""The LiveKit test harness itself: loopback only, an empty server per test, state that survives a
livekit-server restart, and a missing binary that says how to get it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.livekit import livekit_address
from twilio_operator.api.livekit_values import DispatchRuleSpec, InboundTrunkSpec, OutboundTrunkSpec
from twilio_operator.ports.livekit.adapter import LiveKitLibraryConnector
from twilio_operator.ports.livekit.port import LiveKitPort
from twilio_operator.testing import livekit as harness
from twilio_operator.testing.binaries import BinaryNotFoundError
from twilio_operator.testing.livekit import LiveKitServer

A = "+15550001111"


def test_every_socket_of_livekit_and_redis_is_on_loopback(livekit: LiveKitServer) -> None:
    listening = livekit.listening_addresses()
    assert {address for _, address, _ in listening} == {"127.0.0.1"}, sorted(listening)
    # The API, the one RTC media port, and Redis, each where the config put it.
    assert {("tcp", "127.0.0.1", livekit.port), ("udp", "127.0.0.1", livekit.rtc_udp_port)} <= listening
    assert ("tcp", "127.0.0.1", livekit.redis_port) in listening


async def test_reset_leaves_no_trunk_or_rule_and_the_sip_api_working(
    livekit: LiveKitServer, livekit_port: LiveKitPort
) -> None:
    trunk = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="in", numbers=(A,)))
    await livekit_port.create_outbound_trunk(OutboundTrunkSpec(name="out", address="x.example", numbers=(A,)))
    await livekit_port.create_dispatch_rule(DispatchRuleSpec(name="r", trunk_ids=(trunk.id,), numbers=(A,)))

    livekit.reset()

    assert await livekit_port.list_inbound_trunks() == []
    assert await livekit_port.list_outbound_trunks() == []
    assert await livekit_port.list_dispatch_rules() == []
    again = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="in", numbers=(A,)))  # no conflict
    assert await livekit_port.list_inbound_trunks() == [again]


@pytest.mark.parametrize("graceful", [True, False], ids=["sigterm", "sigkill"])
async def test_trunks_survive_a_livekit_restart(
    livekit: LiveKitServer, livekit_port: LiveKitPort, graceful: bool
) -> None:
    trunk = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="in", numbers=(A,)))
    old_pid = livekit.pids["livekit-server"]

    livekit.restart_livekit(graceful=graceful)

    assert livekit.pids["livekit-server"] != old_pid
    # A fresh connection: livekit_port's pooled one went with the old process (test_errors covers that).
    connector = LiveKitLibraryConnector()
    try:
        assert await connector.connect(livekit_address(livekit)).list_inbound_trunks() == [trunk]
    finally:
        await connector.close()


def test_a_missing_livekit_server_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LIVEKIT_SERVER_BINARY", str(tmp_path / "nowhere" / "livekit-server"))
    monkeypatch.delenv("LIVEKIT_BIN", raising=False)
    monkeypatch.setattr(harness, "repo_root", lambda: tmp_path)
    with pytest.raises(BinaryNotFoundError, match=r"run `make livekit`") as caught:
        LiveKitServer(workdir=tmp_path / "work").start()
    assert str(tmp_path / ".cache" / "livekit" / "bin" / "livekit-server") in str(caught.value)
    assert not (tmp_path / "work").exists()  # failed before any side effect


def test_a_missing_redis_server_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REDIS_SERVER", str(tmp_path / "redis-server"))
    with pytest.raises(BinaryNotFoundError, match=r"is not an executable; run `make livekit`"):
        harness.find_redis_server()
