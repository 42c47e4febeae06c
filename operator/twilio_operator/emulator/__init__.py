"""A stateful, in-memory emulator of the Twilio REST API parts the operator uses (docs/emulator.md).

app (server, middleware) · routes_api (2010-04-01 account, SIP lists) · routes_numbers (numbers, numbers
for sale, addresses, balance) · routes_trunking (v1 trunks, v2 routes) · state (the world and its
cascades) · render/paging (Twilio JSON) · faults · journal (request log) · contract (OpenAPI checks) ·
admin, admin_numbers (/_emulator/) · client (EmulatorAdmin) · behaviour (every modelled choice, with
its source or "assumed").
"""
