"""LiveKit: the port (`port`), the operation table (`operations`) and the adapter over the official
livekit-api library (`adapter`). The values that cross the port live in api/livekit_values.py (pure
code reads them too). Only the adapter imports `livekit`."""
