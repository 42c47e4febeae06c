"""Every kind of Twilio request the adapter makes, with the two facts the rest of the operator needs:
the words for messages and metrics, and whether repeating it is safe.

`idempotent` decides retry-in-place after a transient failure (5xx, timeout): a repeated read or a
repeated "set X to Y" cannot do harm; a repeated create could make a second resource, so a create
whose outcome is unknown goes back to the reconcile, which observes what happened first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    description: str  # completes "cannot ...": "list SIP trunks"
    label: str  # the metrics label: stable, snake_case
    idempotent: bool


def _read(description: str, label: str) -> Operation:
    return Operation(description, label, idempotent=True)


def _write(description: str, label: str, *, idempotent: bool) -> Operation:
    return Operation(description, label, idempotent=idempotent)


FETCH_ACCOUNT = _read("fetch the Twilio account", "fetch_the_twilio_account")
LIST_TRUNKS = _read("list SIP trunks", "list_sip_trunks")
CREATE_TRUNK = _write("create SIP trunk", "create_sip_trunk", idempotent=False)
UPDATE_TRUNK = _write("update SIP trunk", "update_sip_trunk", idempotent=True)
DELETE_TRUNK = _write("delete SIP trunk", "delete_sip_trunk", idempotent=True)
UPDATE_TRUNK_SETTINGS = _write("update SIP trunk settings", "update_sip_trunk_settings", idempotent=True)
FETCH_RECORDING = _read("fetch the trunk's recording settings", "fetch_the_trunk_s_recording_settings")
UPDATE_RECORDING = _write(
    "update the trunk's recording settings", "update_the_trunk_s_recording_settings", idempotent=True
)
LIST_CREDENTIAL_LISTS = _read("list credential lists", "list_credential_lists")
CREATE_CREDENTIAL_LIST = _write("create credential list", "create_credential_list", idempotent=False)
DELETE_CREDENTIAL_LIST = _write("delete credential list", "delete_credential_list", idempotent=True)
LIST_CREDENTIALS = _read("list SIP credentials", "list_sip_credentials")
CREATE_CREDENTIAL = _write("create SIP credential", "create_sip_credential", idempotent=False)
DELETE_CREDENTIAL = _write("delete SIP credential", "delete_sip_credential", idempotent=True)
UPDATE_CREDENTIAL_PASSWORD = _write(
    "update SIP credential password", "update_sip_credential_password", idempotent=True
)
DELETE_CREDENTIAL = _write("delete SIP credential", "delete_sip_credential", idempotent=True)
LIST_TRUNK_CREDENTIAL_LISTS = _read("list the trunk's credential lists", "list_the_trunk_s_credential_lists")
ATTACH_CREDENTIAL_LIST = _write(
    "attach credential list to trunk", "attach_credential_list_to_trunk", idempotent=False
)
DETACH_CREDENTIAL_LIST = _write(
    "detach credential list from trunk", "detach_credential_list_from_trunk", idempotent=True
)
LIST_IP_ACLS = _read("list IP access control lists", "list_ip_access_control_lists")
CREATE_IP_ACL = _write("create IP access control list", "create_ip_access_control_list", idempotent=False)
DELETE_IP_ACL = _write("delete IP access control list", "delete_ip_access_control_list", idempotent=True)
LIST_IP_ADDRESSES = _read("list IP addresses", "list_ip_addresses")
CREATE_IP_ADDRESS = _write("create IP address", "create_ip_address", idempotent=False)
DELETE_IP_ADDRESS = _write("delete IP address", "delete_ip_address", idempotent=True)
LIST_TRUNK_IP_ACLS = _read(
    "list the trunk's IP access control lists", "list_the_trunk_s_ip_access_control_lists"
)
ATTACH_IP_ACL = _write(
    "attach IP access control list to trunk", "attach_ip_access_control_list_to_trunk", idempotent=False
)
DETACH_IP_ACL = _write(
    "detach IP access control list from trunk", "detach_ip_access_control_list_from_trunk", idempotent=True
)
LIST_ORIGINATION_URLS = _read("list origination URLs", "list_origination_urls")
CREATE_ORIGINATION_URL = _write("create origination URL", "create_origination_url", idempotent=False)
UPDATE_ORIGINATION_URL = _write("update origination URL", "update_origination_url", idempotent=True)
DELETE_ORIGINATION_URL = _write("delete origination URL", "delete_origination_url", idempotent=True)
LIST_INCOMING_NUMBERS = _read("list incoming phone numbers", "list_incoming_phone_numbers")
FETCH_INCOMING_NUMBER = _read("fetch incoming phone number", "fetch_incoming_phone_number")
FIND_INCOMING_NUMBER = _read("find incoming phone number", "find_incoming_phone_number")
LIST_TRUNK_NUMBERS = _read("list the trunk's phone numbers", "list_the_trunk_s_phone_numbers")
MOVE_NUMBER = _write("move phone number", "move_phone_number", idempotent=True)
SET_VOICE_APPLICATION = _write(
    "restore the phone number's voice application",
    "restore_the_phone_number_s_voice_application",
    idempotent=True,
)
DETACH_NUMBER = _write("detach phone number", "detach_phone_number", idempotent=True)
FETCH_VOICE_REGION = _read("fetch the trunk's voice region", "fetch_the_trunk_s_voice_region")
UPDATE_VOICE_REGION = _write("set the trunk's voice region", "set_the_trunk_s_voice_region", idempotent=True)
FETCH_NUMBER_VOICE_REGION = _read(
    "fetch the phone number's inbound processing region", "fetch_the_phone_number_s_voice_region"
)
UPDATE_NUMBER_VOICE_REGION = _write(
    "set the phone number's inbound processing region", "set_the_phone_number_s_voice_region", idempotent=True
)
REMOVE_TRUNK_NUMBER = _write(
    "remove phone number from trunk", "remove_phone_number_from_trunk", idempotent=True
)

SEARCH_NUMBERS_FOR_SALE = _read("search available phone numbers", "search_available_phone_numbers")
# Not idempotent: a repeated purchase buys a second number.
BUY_NUMBER = _write("buy phone number", "buy_phone_number", idempotent=False)
LIST_NUMBERS_NAMED = _read("find phone numbers by friendly name", "find_phone_numbers_by_friendly_name")
RELEASE_NUMBER = _write("release phone number", "release_phone_number", idempotent=True)
SET_EMERGENCY_ADDRESS = _write(
    "set the phone number's emergency address", "set_the_phone_number_s_emergency_address", idempotent=True
)
FETCH_BALANCE = _read("fetch the account balance", "fetch_the_account_balance")
LIST_ADDRESSES = _read("list addresses", "list_addresses")
FETCH_ADDRESS = _read("fetch address", "fetch_address")
CREATE_ADDRESS = _write("create emergency address", "create_emergency_address", idempotent=False)
UPDATE_ADDRESS = _write("update address", "update_address", idempotent=True)
DELETE_ADDRESS = _write("delete address", "delete_address", idempotent=True)
LIST_ADDRESS_DEPENDENTS = _read(
    "list the phone numbers that use an address", "list_the_phone_numbers_that_use_an_address"
)
