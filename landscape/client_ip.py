"""The client's address, decided once for every limit that counts by address: the API's
throttles (api.throttling), login throttling (axes, AXES_CLIENT_IP_CALLABLE), allauth's
own rate limits (projects.account_adapter.AccountAdapter) and the report form
(projects.web.reports).

``TRUSTED_PROXY_COUNT`` says how many proxies in front of the application append to
``X-Forwarded-For``. Only the entries those proxies appended can be believed; whatever the
client sent itself sits to their left and is ignored, so a forged header buys nothing.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """The address of whoever reached the outermost trusted proxy (``REMOTE_ADDR`` with no
    trusted proxy). A header with fewer entries than there are proxies, or an entry that is
    not an address, did not come through them: ``REMOTE_ADDR`` is used then. ``""`` when
    nothing names an address (a request built in process, a Unix socket)."""
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < proxies:
        return remote
    return _address(hops[-proxies]) or remote


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return ""
