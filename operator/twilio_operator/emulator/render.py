"""Resource -> Twilio JSON. 2010 resources use RFC 2822 dates and relative URIs; v1/v2 use ISO 8601
and absolute URLs built on `base` (the host the client aimed at, see app.public_base)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

from twilio_operator.emulator import behaviour
from twilio_operator.emulator.state import (
    Address,
    AvailableNumber,
    Credential,
    CredentialList,
    IpAccessControlList,
    IpAddress,
    Link,
    Number,
    OriginationUrl,
    Region,
    Route,
    Trunk,
)

API = "/2010-04-01"
_ACCOUNT_SUBRESOURCES = {
    "available_phone_numbers": "AvailablePhoneNumbers",
    "calls": "Calls",
    "conferences": "Conferences",
    "incoming_phone_numbers": "IncomingPhoneNumbers",
    "notifications": "Notifications",
    "outgoing_caller_ids": "OutgoingCallerIds",
    "recordings": "Recordings",
    "transcriptions": "Transcriptions",
    "addresses": "Addresses",
    "signing_keys": "SigningKeys",
    "connect_apps": "ConnectApps",
    "sip": "SIP",
    "authorized_connect_apps": "AuthorizedConnectApps",
    "usage": "Usage",
    "keys": "Keys",
    "applications": "Applications",
    "short_codes": "SMS/ShortCodes",
    "queues": "Queues",
    "messages": "Messages",
    "balance": "Balance",
}


def rfc2822(when: datetime) -> str:
    return format_datetime(when)


def iso8601(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def account(region: Region) -> dict[str, Any]:
    """The account as seen from one processing region (the auth token is that region's)."""
    acc = region.account
    prefix = f"{API}/Accounts/{acc.sid}"
    return {
        "auth_token": region.auth_token,  # Twilio returns it too; clients must redact it
        "date_created": rfc2822(acc.date_created),
        "date_updated": rfc2822(acc.date_updated),
        "friendly_name": acc.friendly_name,
        "owner_account_sid": acc.sid,
        "sid": acc.sid,
        "status": acc.status,
        "subresource_uris": {k: f"{prefix}/{v}.json" for k, v in _ACCOUNT_SUBRESOURCES.items()},
        "type": acc.type,
        "uri": f"{prefix}.json",
    }


def credential_list(cl: CredentialList) -> dict[str, Any]:
    uri = f"{API}/Accounts/{cl.account_sid}/SIP/CredentialLists/{cl.sid}"
    return {
        "account_sid": cl.account_sid,
        "date_created": rfc2822(cl.date_created),
        "date_updated": rfc2822(cl.date_updated),
        "friendly_name": cl.friendly_name,
        "sid": cl.sid,
        "subresource_uris": {"credentials": f"{uri}/Credentials.json"},
        "uri": f"{uri}.json",
    }


def credential(cred: Credential) -> dict[str, Any]:
    uri = f"{API}/Accounts/{cred.account_sid}/SIP/CredentialLists/{cred.credential_list_sid}"
    return {
        "sid": cred.sid,
        "account_sid": cred.account_sid,
        "credential_list_sid": cred.credential_list_sid,
        "username": cred.username,
        "date_created": rfc2822(cred.date_created),
        "date_updated": rfc2822(cred.date_updated),
        "uri": f"{uri}/Credentials/{cred.sid}.json",
    }


def ip_access_control_list(acl: IpAccessControlList) -> dict[str, Any]:
    uri = f"{API}/Accounts/{acl.account_sid}/SIP/IpAccessControlLists/{acl.sid}"
    return {
        "sid": acl.sid,
        "account_sid": acl.account_sid,
        "friendly_name": acl.friendly_name,
        "date_created": rfc2822(acl.date_created),
        "date_updated": rfc2822(acl.date_updated),
        "subresource_uris": {"ip_addresses": f"{uri}/IpAddresses.json"},
        "uri": f"{uri}.json",
    }


def ip_address(ip: IpAddress) -> dict[str, Any]:
    uri = f"{API}/Accounts/{ip.account_sid}/SIP/IpAccessControlLists/{ip.ip_access_control_list_sid}"
    return {
        "sid": ip.sid,
        "account_sid": ip.account_sid,
        "friendly_name": ip.friendly_name,
        "ip_address": ip.ip_address,
        "cidr_prefix_length": ip.cidr_prefix_length,
        "ip_access_control_list_sid": ip.ip_access_control_list_sid,
        "date_created": rfc2822(ip.date_created),
        "date_updated": rfc2822(ip.date_updated),
        "uri": f"{uri}/IpAddresses/{ip.sid}.json",
    }


def friendly_phone(e164: str) -> str:
    """Twilio's default friendly name: (415) 555-0100 for NANP numbers, else the E.164 form."""
    digits = e164[2:] if e164.startswith("+1") else ""
    if len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return e164


def _number_common(num: Number, region: str) -> dict[str, Any]:
    voice = num.voice_in(region)
    return {
        "account_sid": num.account_sid,
        "address_requirements": num.address_requirements,
        "api_version": "2010-04-01",
        "beta": False,
        "capabilities": dict(num.capabilities),
        "friendly_name": num.friendly_name,
        "phone_number": num.phone_number,
        "sid": num.sid,
        "sms_application_sid": None,
        "sms_fallback_method": "POST",
        "sms_fallback_url": "",
        "sms_method": "POST",
        "sms_url": "",
        "status_callback": "",
        "status_callback_method": "POST",
        "trunk_sid": voice.trunk_sid,
        "voice_application_sid": voice.voice_application_sid,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": "POST",
        "voice_url": voice.voice_url,
    }


def emergency_status(num: Number) -> str:
    """Active with an emergency address, else Inactive (assumed: since 2021 setting it is ignored)."""
    return "Active" if num.emergency_address_sid else "Inactive"


def incoming_number(num: Number, region: str) -> dict[str, Any]:
    """The number as seen from `region` (its voice configuration there)."""
    return {
        **_number_common(num, region),
        "address_sid": num.address_sid,
        "date_created": rfc2822(num.date_created),
        "date_updated": rfc2822(num.date_updated),
        "emergency_status": emergency_status(num),
        "emergency_address_sid": num.emergency_address_sid,
        "emergency_address_status": num.emergency_address_status,
        "identity_sid": None,
        "origin": "twilio",
        "uri": f"{API}/Accounts/{num.account_sid}/IncomingPhoneNumbers/{num.sid}.json",
        "voice_receive_mode": "voice",
        "status": "in-use",
        "bundle_sid": num.bundle_sid,
        "type": num.number_type,
    }


_DEPENDENT_KEYS = frozenset(
    {
        "sid", "account_sid", "friendly_name", "phone_number", "voice_url", "voice_method",
        "voice_fallback_method", "voice_fallback_url", "voice_caller_id_lookup", "sms_fallback_method",
        "sms_fallback_url", "sms_method", "sms_url", "address_requirements", "capabilities",
        "status_callback", "status_callback_method", "api_version", "sms_application_sid",
        "voice_application_sid", "trunk_sid",
    }
)  # fmt: skip


def dependent_number(num: Number, region: str) -> dict[str, Any]:
    common = _number_common(num, region)
    keys = [k for k in common if k in _DEPENDENT_KEYS]
    return {
        **{k: common[k] for k in keys},
        "date_created": rfc2822(num.date_created),
        "date_updated": rfc2822(num.date_updated),
        "emergency_status": emergency_status(num),
        "emergency_address_sid": num.emergency_address_sid,
        "uri": f"{API}/Accounts/{num.account_sid}/IncomingPhoneNumbers/{num.sid}.json",
    }


def trunk_number(num: Number, region: str, trunk_sid: str, base: str, api_base: str) -> dict[str, Any]:
    return {
        **_number_common(num, region),
        "date_created": iso8601(num.date_created),
        "date_updated": iso8601(num.date_updated),
        "url": f"{base}/v1/Trunks/{trunk_sid}/PhoneNumbers/{num.sid}",
        "links": {
            "phone_number": f"{api_base}{API}/Accounts/{num.account_sid}/IncomingPhoneNumbers/{num.sid}"
        },
    }


def available_number(avail: AvailableNumber) -> dict[str, Any]:
    return {
        "friendly_name": friendly_phone(avail.phone_number),
        "phone_number": avail.phone_number,
        "lata": None,
        "locality": avail.locality,
        "rate_center": None,
        "latitude": None,
        "longitude": None,
        "region": avail.region,
        "postal_code": avail.postal_code,
        "iso_country": avail.iso_country,
        "address_requirements": avail.address_requirements,
        "beta": avail.beta,
        "capabilities": dict(avail.capabilities),
    }


def address(addr: Address) -> dict[str, Any]:
    return {
        "account_sid": addr.account_sid,
        "city": addr.city,
        "customer_name": addr.customer_name,
        "date_created": rfc2822(addr.date_created),
        "date_updated": rfc2822(addr.date_updated),
        "friendly_name": addr.friendly_name,
        "iso_country": addr.iso_country,
        "postal_code": addr.postal_code,
        "region": addr.region,
        "sid": addr.sid,
        "street": addr.street,
        "street_secondary": addr.street_secondary,
        "uri": f"{API}/Accounts/{addr.account_sid}/Addresses/{addr.sid}.json",
        "emergency_enabled": addr.emergency_enabled,
        "validated": addr.validated,
        "verified": addr.verified,
    }


def balance(account_sid: str, amount: Decimal, currency: str) -> dict[str, Any]:
    return {"account_sid": account_sid, "balance": f"{amount:.2f}", "currency": currency}


def trunk(tk: Trunk, base: str) -> dict[str, Any]:
    url = f"{base}/v1/Trunks/{tk.sid}"
    auth_type, auth_type_set = behaviour.auth_type_for(
        len(tk.credential_lists), len(tk.ip_access_control_lists)
    )
    return {
        "sid": tk.sid,
        "account_sid": tk.account_sid,
        "domain_name": tk.domain_name,
        "disaster_recovery_method": tk.disaster_recovery_method,
        "disaster_recovery_url": tk.disaster_recovery_url,
        "friendly_name": tk.friendly_name,
        "secure": tk.secure,
        "cnam_lookup_enabled": tk.cnam_lookup_enabled,
        "symmetric_rtp_enabled": tk.symmetric_rtp_enabled,
        "recording": {"mode": tk.recording_mode, "trim": tk.recording_trim},
        "transfer_mode": tk.transfer_mode,
        "transfer_caller_id": tk.transfer_caller_id,
        "auth_type": auth_type,
        "auth_type_set": auth_type_set,
        "date_created": iso8601(tk.date_created),
        "date_updated": iso8601(tk.date_updated),
        "url": url,
        "links": {
            "origination_urls": f"{url}/OriginationUrls",
            "credential_lists": f"{url}/CredentialLists",
            "ip_access_control_lists": f"{url}/IpAccessControlLists",
            "phone_numbers": f"{url}/PhoneNumbers",
            "recording": f"{url}/Recording",
        },
    }


def trunk_link(
    linked: CredentialList | IpAccessControlList, link: Link, base: str, noun: str
) -> dict[str, Any]:
    """A list linked to a trunk (`noun`: CredentialLists or IpAccessControlLists); its dates are the
    link's."""
    return {
        "account_sid": linked.account_sid,
        "sid": linked.sid,
        "trunk_sid": link.trunk_sid,
        "friendly_name": linked.friendly_name,
        "date_created": iso8601(link.date_created),
        "date_updated": iso8601(link.date_created),
        "url": f"{base}/v1/Trunks/{link.trunk_sid}/{noun}/{linked.sid}",
    }


def origination_url(ou: OriginationUrl, base: str) -> dict[str, Any]:
    return {
        "account_sid": ou.account_sid,
        "sid": ou.sid,
        "trunk_sid": ou.trunk_sid,
        "weight": ou.weight,
        "enabled": ou.enabled,
        "sip_url": ou.sip_url,
        "friendly_name": ou.friendly_name,
        "priority": ou.priority,
        "date_created": iso8601(ou.date_created),
        "date_updated": iso8601(ou.date_updated),
        "url": f"{base}/v1/Trunks/{ou.trunk_sid}/OriginationUrls/{ou.sid}",
    }


def route(rt: Route, base: str) -> dict[str, Any]:
    return {
        "sip_trunk_domain": rt.target,
        "url": f"{base}/v2/Trunks/{rt.target}",
        "sid": rt.sid,
        "account_sid": rt.account_sid,
        "friendly_name": rt.friendly_name,
        "voice_region": rt.voice_region,
        "date_created": iso8601(rt.date_created),
        "date_updated": iso8601(rt.date_updated),
    }


def number_route(rt: Route, base: str) -> dict[str, Any]:
    return {
        "phone_number": rt.target,
        "url": f"{base}/v2/PhoneNumbers/{rt.target}",
        "sid": rt.sid,
        "account_sid": rt.account_sid,
        "friendly_name": rt.friendly_name,
        "voice_region": rt.voice_region,
        "date_created": iso8601(rt.date_created),
        "date_updated": iso8601(rt.date_updated),
    }
