"""Throttles whose rates are read at request time from REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES (DRF's own bind them at import, which settings overrides miss), and
that count an anonymous caller by the address landscape.client_ip decides (DRF's own
get_ident believes any X-Forwarded-For unless NUM_PROXIES is set, and would be a second
answer to the same question)."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from landscape.client_ip import client_ip


class _LiveRate:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request)


class AnonThrottle(_LiveRate, AnonRateThrottle):
    scope = "anon"


class UserThrottle(_LiveRate, UserRateThrottle):
    scope = "user"


class WriteThrottle(_LiveRate, SimpleRateThrottle):
    """Writes by a signed-in user, on top of their overall rate."""

    scope = "write"

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.user.is_authenticated:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
