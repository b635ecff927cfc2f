"""The baselines' body: a fixed 10 KB JSON document (no Django: nginx serves it too)."""

import json

FLOOR_BYTES = 10 * 1024


def floor_body(size: int = FLOOR_BYTES) -> bytes:
    """A JSON document of exactly ``size`` bytes (the same body nginx serves as a file)."""
    items = []
    body = b""
    i = 0
    while True:
        items.append({"id": i, "name": f"entry-{i:05d}", "health": "active", "stars": 1000 + i})
        candidate = json.dumps({"items": items, "pad": ""}, separators=(",", ":")).encode()
        if len(candidate) > size:
            items.pop()
            break
        body = candidate
        i += 1
    pad = size - len(body)
    return json.dumps({"items": items, "pad": "x" * pad}, separators=(",", ":")).encode()


FLOOR = floor_body()
