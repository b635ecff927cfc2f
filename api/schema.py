"""OpenAPI details drf-spectacular cannot infer: the token scheme, the error answers every
operation may give, and that reads need no credentials."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` for a general error; per-field messages (field name to a list "
    "of messages) for invalid or refused fields.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
ERRORS = {
    "400": "Invalid parameters or data; the body names each field.",
    "401": "No or invalid credentials for a write (see WWW-Authenticate).",
    "403": "Not allowed: the body says why, per field where fields are refused.",
    "404": "No such entry visible to you (or no such page).",
    "406": "The Accept header asks for a representation the API does not give.",
    "412": "A precondition (If-Match, If-Unmodified-Since) failed.",
    "415": "Unsupported request media type.",
    "429": "Throttled: see Retry-After.",
}
CACHE_HEADERS = {
    "ETag": {"schema": {"type": "string"}, "description": "Validator for If-None-Match."},
    "Last-Modified": {"schema": {"type": "string"}, "description": "Newest change shown."},
    "Cache-Control": {"schema": {"type": "string"}},
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`: a maintainer's named API token.",
        }


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: document the error statuses, caching headers and optional auth."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "patch", "put", "delete", "head"):
                continue
            responses = operation.setdefault("responses", {})
            success = next((r for code, r in responses.items() if code.startswith("2")), {})
            media_types = list((success.get("content") or {}).keys()) or ["application/json"]
            for code, description in ERRORS.items():
                if code in responses:
                    continue
                content = {
                    media: {"schema": ERROR_SCHEMA if media == "application/json" else {}}
                    for media in media_types
                }
                responses[code] = {"description": description, "content": content}
            if method == "get":
                responses.setdefault(
                    "304", {"description": "Not modified (a conditional GET that still holds)."}
                )
                for code, response in responses.items():
                    if code.startswith("2") or code == "304":
                        response.setdefault("headers", {}).update(CACHE_HEADERS)
                security = operation.setdefault("security", [])
                if {} not in security:
                    security.append({})
    return result
