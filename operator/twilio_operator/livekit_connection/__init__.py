"""LiveKitConnection: LiveKit's SIP side kept equal to a TwilioProvider and its TwilioPhoneNumbers.

The same shape as provider/ (CONTRIBUTING.md, "The path through the layers"): `observe` reads the
provider's side (its status, SIP Secret and numbers, from Kubernetes) and LiveKit's (every trunk and
dispatch rule, ours recognised by the UID mark in their metadata); `wanted` and `diff` are pure and
say what LiveKit should hold and what to change; `act` applies the changes in a fixed order;
`readiness` decides the conditions once. `reconcile` is the order of it all, `teardown` the deletion.
"""
