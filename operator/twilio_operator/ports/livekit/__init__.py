"""LiveKit: values (`values`), the port (`port`), the operation table (`operations`) and the adapter over
the official livekit-api library (`adapter`). Only the adapter imports `livekit`."""
