"""Shared pytest configuration: fixtures live in tests/fixtures/ as plugins."""

pytest_plugins = [
    "fixtures.emulator",
    "fixtures.controlplane",
    "fixtures.operator_process",
    "fixtures.livekit",
]
