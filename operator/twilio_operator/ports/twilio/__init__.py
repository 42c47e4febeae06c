"""Twilio: values (`values`), the port (`port`), the operation table (`operations`), the adapter over the
official twilio library (`adapter`) and its HTTP client that can aim at the emulator (`http`)."""
