"""SIP URIs compared the way a server may rewrite them.

Whether Twilio normalises an origination `sip_url` is not documented. If it did (lower-case host,
reordered or lower-cased parameters) and the operator compared exact strings, every reconcile would
see a difference and rewrite (or delete and recreate) the URL forever. So URLs are matched by a
normal form: RFC 3261 compares the scheme, host and parameter names case-insensitively and
parameter order does not matter; the user part stays case-sensitive.
"""

from __future__ import annotations


def normalize_sip_url(url: str) -> str:
    text = url.strip()
    scheme, sep, rest = text.partition(":")
    if not sep:
        return text
    address, _, params = rest.partition(";")
    user, at, hostport = address.rpartition("@")
    canonical = f"{user}{at}{hostport.lower()}" if at else hostport.lower()
    parts = []
    for param in filter(None, params.split(";")):
        name, eq, value = param.partition("=")
        name = name.strip().lower()
        value = value.strip()
        if name in ("transport", "lr", "maddr", "method", "ttl", "user"):
            value = value.lower()
        parts.append(f"{name}{eq}{value}")
    return ";".join([f"{scheme.lower()}:{canonical}", *sorted(parts)])
