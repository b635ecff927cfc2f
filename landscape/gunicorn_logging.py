"""gunicorn's access log without the secrets some URLs carry (docker-compose turns the
access log on): ``gunicorn --logger-class landscape.gunicorn_logging.RedactingLogger``."""

from __future__ import annotations

from gunicorn.glogging import Logger

from landscape.logging import RedactSecretsFilter, redact_secrets


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        # The error log names a request's URI too ("Error handling request /...").
        if not any(isinstance(f, RedactSecretsFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RedactSecretsFilter())

    def atoms(self, resp, req, environ, request_time):
        # Every atom a format may use: the request line, path, query string, the referer
        # (the page a reset link opened) and any header or environ value.
        return {
            name: redact_secrets(value) if isinstance(value, str) else value
            for name, value in super().atoms(resp, req, environ, request_time).items()
        }
