"""kopf glue only: `twilio-operator run` loads this package (`kopf run -m twilio_operator.handlers`).

Importing it registers every handler with kopf; each module below is imported on purpose for that:
settings (startup, cleanup), provider, phone_number, emergency_address, secrets (Secrets wake
providers and LiveKit connections), probes (liveness fails when the provider watch stalls),
agent_table (the number-to-agent ConfigMap), livekit_connection (LiveKit's SIP side).
"""

from twilio_operator.handlers import (
    agent_table,
    emergency_address,
    livekit_connection,
    phone_number,
    probes,
    provider,
    secrets,
    settings,
)

__all__ = [
    "agent_table",
    "emergency_address",
    "livekit_connection",
    "phone_number",
    "probes",
    "provider",
    "secrets",
    "settings",
]
