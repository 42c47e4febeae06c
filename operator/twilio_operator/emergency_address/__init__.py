"""TwilioEmergencyAddress: a Twilio Address with emergency calling enabled, kept as the spec says."""
