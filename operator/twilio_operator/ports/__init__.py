"""The operator's ports to the outside world, each a narrow Protocol plus one adapter.

`twilio/`, `kube/` and `livekit/` each hold the values that cross the port, the port itself (pure: no
client library) and the adapter over the client library. Logic imports the port; only the handlers'
startup constructs an adapter.
"""
