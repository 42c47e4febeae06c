"""kopf glue only: `twilio-operator run` loads this package (`kopf run -m twilio_operator.handlers`).

Importing it registers every handler with kopf; each module below is imported on purpose for that:
settings (startup, cleanup), provider, phone_number, secrets (Secrets wake providers), probes
(liveness fails when the provider watch stalls).
"""

from twilio_operator.handlers import phone_number, probes, provider, secrets, settings

__all__ = ["phone_number", "probes", "provider", "secrets", "settings"]
