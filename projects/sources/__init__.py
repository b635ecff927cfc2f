"""Clients for the outside sources the status workers observe.

Every outbound request goes through ``projects.sources.http`` (timeouts, user
agent, SSRF guard, bounded reads). The shared types live in ``base``.
"""

from .base import (
    AuthenticationFailed,
    OutboundRefused,
    RateLimited,
    RepoObservation,
    RepoRef,
    SourceError,
    TransientError,
    parse_repo_url,
)

__all__ = [
    "AuthenticationFailed",
    "OutboundRefused",
    "RateLimited",
    "RepoObservation",
    "RepoRef",
    "SourceError",
    "TransientError",
    "parse_repo_url",
]
