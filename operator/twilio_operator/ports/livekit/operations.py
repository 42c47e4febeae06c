"""Every kind of LiveKit request the adapter makes: the words for messages ("cannot ...") and the label
for metrics (stable, snake_case, bounded)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    description: str  # completes "cannot ...": "list LiveKit inbound trunks"
    label: str  # the metrics label


LIST_INBOUND_TRUNKS = Operation("list LiveKit inbound trunks", "list_inbound_trunks")
CREATE_INBOUND_TRUNK = Operation("create LiveKit inbound trunk", "create_inbound_trunk")
UPDATE_INBOUND_TRUNK = Operation("update LiveKit inbound trunk", "update_inbound_trunk")
LIST_OUTBOUND_TRUNKS = Operation("list LiveKit outbound trunks", "list_outbound_trunks")
CREATE_OUTBOUND_TRUNK = Operation("create LiveKit outbound trunk", "create_outbound_trunk")
UPDATE_OUTBOUND_TRUNK = Operation("update LiveKit outbound trunk", "update_outbound_trunk")
DELETE_TRUNK = Operation("delete LiveKit SIP trunk", "delete_trunk")
LIST_DISPATCH_RULES = Operation("list LiveKit dispatch rules", "list_dispatch_rules")
CREATE_DISPATCH_RULE = Operation("create LiveKit dispatch rule", "create_dispatch_rule")
UPDATE_DISPATCH_RULE = Operation("update LiveKit dispatch rule", "update_dispatch_rule")
DELETE_DISPATCH_RULE = Operation("delete LiveKit dispatch rule", "delete_dispatch_rule")
