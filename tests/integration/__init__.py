"""Integration tier: the operator process against the real API server and the emulator."""
