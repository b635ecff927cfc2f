"""Logo validation: only images that cannot run code or reach out when a browser shows them.

An SVG is an XML document that may carry scripts, event handlers and references
to other documents; it is parsed (never by a parser that expands entities or
fetches DTDs) and accepted only when none of those is present. Raster logos are
recognised by their magic bytes, not their names.
"""

from __future__ import annotations

import re

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
GIF_MAGICS = (b"GIF87a", b"GIF89a")

# Elements that run code or embed other documents.
_FORBIDDEN_ELEMENTS = {
    "script",
    "foreignobject",
    "iframe",
    "embed",
    "object",
    "handler",
    "listener",
}
_HREF_ATTRIBUTES = {"href", "src"}
# Embedded raster data is not an external reference; any other data: type could carry markup.
_SAFE_DATA_URI = re.compile(
    r"^data:(image/(png|jpe?g|gif|webp)|application/vnd\.iccprofile|font/[a-z0-9.+-]+"
    r"|application/(x-)?font-[a-z0-9.+-]+)[;,]",
    re.IGNORECASE,
)
_EVENT_HANDLER = re.compile(r"^on[a-z]+$")
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]+)", re.IGNORECASE)


class LogoError(ValueError):
    pass


def logo_kind(data: bytes) -> str:
    """Return "svg", "png", "jpeg" or "gif", or raise LogoError saying why it is refused."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(GIF_MAGICS):
        return "gif"
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) or b"<svg" in head:
        svg_check(data)
        return "svg"
    raise LogoError("not an image: expected SVG, PNG, JPEG or GIF data")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _reference_is_external(value: str) -> bool:
    value = value.strip()
    return not (value.startswith("#") or _SAFE_DATA_URI.match(value) or value == "")


def svg_check(data: bytes) -> None:
    """Raise LogoError unless the SVG has no script, event handler or external reference."""
    try:
        # A DOCTYPE line is common in exported logos and harmless as long as no entity is
        # declared and nothing external is loaded.
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise LogoError(f"unsafe SVG: {exc}") from exc
    except SafeET.ParseError as exc:
        raise LogoError(f"not a well-formed SVG: {exc}") from exc
    if _local(root.tag) != "svg":
        raise LogoError(f"not an SVG: the root element is <{_local(root.tag)}>")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = _local(element.tag)
        if tag in _FORBIDDEN_ELEMENTS:
            raise LogoError(f"unsafe SVG: it contains a <{tag}> element")
        for attribute, value in element.attrib.items():
            name = _local(attribute)
            if _EVENT_HANDLER.match(name):
                raise LogoError(f"unsafe SVG: <{tag}> has an event handler attribute {name!r}")
            if name in _HREF_ATTRIBUTES and _reference_is_external(value):
                raise LogoError(
                    f"unsafe SVG: <{tag}> refers to an external resource {value[:80]!r}"
                )
            if name == "style":
                _check_css(value, tag)
        if tag == "style" and element.text:
            _check_css(element.text, tag)


def _check_css(css: str, tag: str) -> None:
    if "@import" in css.lower():
        raise LogoError(f"unsafe SVG: <{tag}> imports an external stylesheet")
    for reference in _CSS_URL.findall(css):
        if _reference_is_external(reference):
            raise LogoError(f"unsafe SVG: <{tag}> style refers to {reference[:80]!r}")
    if "javascript:" in css.lower() or "expression(" in css.lower():
        raise LogoError(f"unsafe SVG: <{tag}> style contains script")
