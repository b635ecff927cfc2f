"""Logo validation: only images that cannot run code or reach out when a browser shows them.

Raster logos are recognised by their magic bytes, and must carry the extension of what
they are (a PNG named ``.svg`` would be served as an SVG document).

An SVG is an XML document that may carry scripts, event handlers, stylesheets and
references to other documents. It is parsed (never by a parser that expands entities
or fetches DTDs) and accepted by allow-list, not by a list of known dangers: every
element and attribute must be one that only draws, every reference (``href``,
``url()``) must point inside the file, CSS is read after its escapes are decoded, and
no processing instruction but the XML declaration is allowed. The sandboxing CSP that
``/media/`` answers with is a second line, not the one this relies on: a deployment
that serves logos from object storage has only this check.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import PurePosixPath
from xml.etree.ElementTree import TreeBuilder

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
GIF_MAGICS = (b"GIF87a", b"GIF89a")

# The extensions each kind may be stored under (what /media/ serves them as).
EXTENSIONS = {
    "svg": (".svg",),
    "png": (".png",),
    "jpeg": (".jpg", ".jpeg"),
    "gif": (".gif",),
    "webp": (".webp",),
}

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Editors' bookkeeping (Inkscape, Sketch, RDF licence metadata): browsers draw none of
# it, so its elements and attributes are inert data.
EDITOR_NAMESPACES = {
    "http://www.inkscape.org/namespaces/inkscape",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
    "http://www.bohemiancoding.com/sketch/ns",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://creativecommons.org/ns#",
    "http://web.resource.org/cc/",
    "http://purl.org/dc/elements/1.1/",
    "http://purl.org/dc/terms/",
}

_FILTER_PRIMITIVES = {
    "feblend", "fecolormatrix", "fecomponenttransfer", "fecomposite", "feconvolvematrix",
    "fediffuselighting", "fedisplacementmap", "fedistantlight", "fedropshadow", "feflood",
    "fefunca", "fefuncb", "fefuncg", "fefuncr", "fegaussianblur", "feimage", "femerge",
    "femergenode", "femorphology", "feoffset", "fepointlight", "fespecularlighting",
    "fespotlight", "fetile", "feturbulence",
}  # fmt: skip
_ANIMATION_ELEMENTS = {"set", "animate", "animatetransform", "animatemotion"}
# SVG elements that only draw (or define what is drawn). Absent on purpose: script,
# foreignObject, a (a link), iframe/embed/object, handler/listener, cursor, font-face-uri.
ALLOWED_ELEMENTS = {
    "svg", "g", "defs", "symbol", "use", "switch", "view",
    "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
    "text", "tspan", "textpath", "title", "desc", "metadata",
    "lineargradient", "radialgradient", "stop", "pattern", "clippath", "mask", "marker",
    "filter", "image", "style", "color-profile", "mpath",
    *_FILTER_PRIMITIVES, *_ANIMATION_ELEMENTS,
}  # fmt: skip
# Geometry, presentation, filter, animation-timing and accessibility attributes.
ALLOWED_ATTRIBUTES = {
    "id", "class", "style", "lang", "tabindex", "role", "focusable", "version", "baseprofile",
    "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy", "fr",
    "dx", "dy", "d", "points", "width", "height", "viewbox", "preserveaspectratio",
    "transform", "pathlength", "rotate", "textlength", "lengthadjust", "startoffset",
    "method", "spacing", "side", "zoomandpan", "enable-background", "overflow",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
    "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray",
    "stroke-dashoffset", "opacity", "color", "display", "visibility", "clip-path",
    "clip-rule", "clip", "mask", "filter", "marker-start", "marker-mid", "marker-end",
    "stop-color", "stop-opacity", "offset", "gradientunits", "gradienttransform",
    "spreadmethod", "href", "patternunits", "patterncontentunits", "patterntransform",
    "clippathunits", "maskunits", "maskcontentunits", "markerunits", "markerwidth",
    "markerheight", "refx", "refy", "orient", "shape-rendering", "text-rendering",
    "image-rendering", "color-rendering", "color-interpolation", "color-interpolation-filters",
    "color-profile", "vector-effect", "paint-order", "mix-blend-mode", "isolation",
    "pointer-events", "cursor-none", "font-family", "font-size", "font-weight", "font-style",
    "font-variant", "font-stretch", "font-size-adjust", "letter-spacing", "word-spacing",
    "text-anchor", "text-decoration", "dominant-baseline", "alignment-baseline",
    "baseline-shift", "direction", "writing-mode", "unicode-bidi", "white-space", "kerning",
    "flood-color", "flood-opacity", "lighting-color", "filterunits", "primitiveunits",
    "in", "in2", "result", "mode", "operator", "k1", "k2", "k3", "k4", "values", "type",
    "tablevalues", "slope", "intercept", "amplitude", "exponent", "stddeviation", "edgemode",
    "order", "kernelmatrix", "divisor", "bias", "targetx", "targety", "kernelunitlength",
    "preservealpha", "surfacescale", "specularconstant", "specularexponent",
    "diffuseconstant", "azimuth", "elevation", "pointsatx", "pointsaty", "pointsatz",
    "limitingconeangle", "scale", "xchannelselector", "ychannelselector", "basefrequency",
    "numoctaves", "seed", "stitchtiles", "radius", "name", "rendering-intent",
    "requiredfeatures", "systemlanguage", "media",
    # animation (the target attribute is checked separately)
    "attributename", "attributetype", "begin", "dur", "end", "min", "max", "restart",
    "repeatcount", "repeatdur", "calcmode", "keytimes", "keysplines", "keypoints", "from",
    "to", "by", "additive", "accumulate", "path",
}  # fmt: skip
_FREE_TEXT_ATTRIBUTES = {"id", "class", "role", "lang", "name", "style", "href", "d", "points"}
_XLINK_ATTRIBUTES = {"href", "title"}
_XML_ATTRIBUTES = {"space", "lang"}

# Embedded raster data (and an ICC colour profile) is part of the file, not a reference out.
_DATA_URI = re.compile(
    r"^data:(image/(png|jpeg|jpg|gif|webp)|application/vnd\.iccprofile);base64,(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_DATA_URI_ELEMENTS = {"image", "feimage", "color-profile"}
_EVENT_HANDLER = re.compile(r"^on[a-z]+$", re.IGNORECASE)

# CSS: what may appear once escapes are decoded.
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\n\r\f]?|(\r\n|[\n\r\f])|(.))", re.DOTALL)
_CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.DOTALL)
# A function token is a name directly followed by "(" (CSS Syntax 3): "and (" is none.
_CSS_FUNCTION = re.compile(r"([-a-zA-Z_][-\w]*)\(")
_CSS_AT_RULE = re.compile(r"@([-a-zA-Z_][-\w]*)")
_CSS_URL = re.compile(r"url\(\s*(['\"]?)\s*(.*?)\s*\1\s*(\)|$)", re.IGNORECASE | re.DOTALL)
ALLOWED_CSS_AT_RULES = {"media", "keyframes", "-webkit-keyframes", "supports", "charset"}
ALLOWED_CSS_FUNCTIONS = {
    "url", "rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch", "color",
    "calc", "min", "max", "clamp", "var",
    "matrix", "matrix3d", "translate", "translatex", "translatey", "translate3d",
    "rotate", "rotatex", "rotatey", "rotatez", "rotate3d", "scale", "scalex", "scaley",
    "scale3d", "skew", "skewx", "skewy", "perspective",
    "cubic-bezier", "steps", "blur", "brightness", "contrast", "drop-shadow", "grayscale",
    "hue-rotate", "invert", "opacity", "saturate", "sepia",
}  # fmt: skip


class LogoError(ValueError):
    pass


def _sniff(data: bytes) -> str | None:
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(GIF_MAGICS):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def logo_kind(data: bytes, *, name: str | None = None) -> str:
    """Return "svg", "png", "jpeg", "gif" or "webp", or raise LogoError saying why it is
    refused. With ``name``, its extension must be the one of what the bytes are."""
    kind = _sniff(data)
    if kind is None:
        head = data[:2048].lstrip().lower()
        if head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype")) or b"<svg" in head:
            svg_check(data)
            kind = "svg"
        else:
            raise LogoError("not an image: expected SVG, PNG, JPEG, GIF or WebP data")
    if name is not None:
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in EXTENSIONS[kind]:
            raise LogoError(
                f"the file name must match its content: {name!r} holds {kind.upper()} data, "
                f"which must be named {' or '.join(EXTENSIONS[kind])}"
            )
    return kind


def _split(name: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return "", name


class _Recorder(TreeBuilder):
    """Builds the tree and keeps every processing instruction, which ElementTree drops
    (an ``<?xml-stylesheet?>`` before the root would otherwise go unseen)."""

    def __init__(self) -> None:
        super().__init__()
        self.instructions: list[str] = []

    def pi(self, target, text=None):
        self.instructions.append(target)
        return super().pi(target, text)


def svg_check(data: bytes) -> None:
    """Raise LogoError unless every part of the SVG is on the allow-list."""
    recorder = _Recorder()
    try:
        # A DOCTYPE line is common in exported logos and harmless as long as no entity is
        # declared and nothing external is loaded.
        parser = SafeET.DefusedXMLParser(
            target=recorder, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        raise LogoError(f"unsafe SVG: {exc}") from exc
    except SafeET.ParseError as exc:
        raise LogoError(f"not a well-formed SVG: {exc}") from exc
    if recorder.instructions:
        raise LogoError(
            f"unsafe SVG: the processing instruction <?{recorder.instructions[0]}?> is not "
            "allowed (only the XML declaration is)"
        )
    namespace, local = _split(root.tag)
    if local.lower() != "svg" or namespace not in (SVG_NS, ""):
        raise LogoError(f"not an SVG: the root element is <{local}>")
    for element in root.iter():
        if isinstance(element.tag, str):
            _check_element(element)


def _check_element(element) -> None:
    namespace, local = _split(element.tag)
    tag = local.lower()
    editor = namespace in EDITOR_NAMESPACES
    if not editor:
        if namespace not in (SVG_NS, ""):
            raise LogoError(
                f"unsafe SVG: <{local}> in namespace {namespace!r} is not an allowed element"
            )
        if tag not in ALLOWED_ELEMENTS:
            raise LogoError(f"unsafe SVG: <{local}> is not an allowed element")
    if tag in _ANIMATION_ELEMENTS:
        target = _split(element.get("attributeName", ""))[1].rsplit(":", 1)[-1].strip().lower()
        if target in ("href", "src", "style") or _EVENT_HANDLER.match(target):
            raise LogoError(
                f"unsafe SVG: <{local}> animates {target!r}: links, styles and event "
                "handlers may not be animated"
            )
    for attribute, value in element.attrib.items():
        _check_attribute(tag, attribute, value, editor=editor)
    if tag == "style" and not editor:
        if (element.get("type") or "text/css").strip().lower() != "text/css":
            raise LogoError("unsafe SVG: <style> must be text/css")
        # textContent: text split around a child element joins up again in the browser.
        _check_css("".join(element.itertext()), where="<style>")


def _check_attribute(tag: str, attribute: str, value: str, *, editor: bool) -> None:
    namespace, local = _split(attribute)
    name = local.lower()
    if _EVENT_HANDLER.match(name):
        raise LogoError(f"unsafe SVG: <{tag}> has an event handler attribute {local!r}")
    if namespace in EDITOR_NAMESPACES or (editor and namespace == ""):
        if name in ("href", "src"):
            raise LogoError(f"unsafe SVG: <{tag}> has a {local!r} reference in editor data")
        return  # inert bookkeeping
    if namespace == XLINK_NS:
        allowed = name in _XLINK_ATTRIBUTES
    elif namespace == XML_NS:
        allowed = name in _XML_ATTRIBUTES
    elif namespace == "":
        allowed = (
            name in ALLOWED_ATTRIBUTES or name.startswith(("data-", "aria-")) or name == "xmlns"
        )
    else:
        allowed = False
    if not allowed:
        raise LogoError(f"unsafe SVG: <{tag}> has an attribute {local!r} that is not allowed")
    if name == "href":
        _check_reference(tag, value)
    elif name == "style":
        _check_css(value, where=f"<{tag}> style")
    elif name not in _FREE_TEXT_ATTRIBUTES and not name.startswith(("data-", "aria-")):
        # Presentation attributes are CSS values (fill="url(…)", and escapes decode there).
        _check_css(value, where=f"<{tag}> {local}")


def _check_reference(tag: str, value: str) -> None:
    value = value.strip(" \t\n\r\f\x00")
    if value.startswith("#"):
        return
    match = _DATA_URI.match(value)
    if match and tag in _DATA_URI_ELEMENTS:
        kind = match.group(1).lower()
        if kind.startswith("image/"):
            try:
                payload = base64.b64decode(re.sub(r"\s+", "", match.group(3)), validate=True)
            except (binascii.Error, ValueError):
                raise LogoError(f"unsafe SVG: <{tag}> embeds data that is not base64") from None
            sniffed = _sniff(payload)
            declared = {"jpg": "jpeg"}.get(kind.split("/")[1], kind.split("/")[1])
            if sniffed != declared:
                raise LogoError(
                    f"unsafe SVG: <{tag}> embeds data declared {kind} that is not {kind}"
                )
        return
    raise LogoError(
        f"unsafe SVG: <{tag}> has an external reference {value[:80]!r}: only #fragment "
        "references inside "
        "the file (and embedded PNG, JPEG, GIF or WebP images) are allowed"
    )


def _decode_css(css: str) -> str:
    """CSS with its escapes decoded and comments removed, as the browser reads it."""

    def unescape(match: re.Match) -> str:
        hex_digits, newline, char = match.groups()
        if hex_digits:
            code = int(hex_digits, 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
        if newline:
            return ""
        return char

    return _CSS_COMMENT.sub(" ", _CSS_ESCAPE.sub(unescape, css))


def _check_css(css: str, *, where: str) -> None:
    decoded = _decode_css(css)
    for rule in _CSS_AT_RULE.findall(decoded):
        if rule.lower() not in ALLOWED_CSS_AT_RULES:
            raise LogoError(
                f"unsafe SVG: {where} uses the CSS at-rule @{rule} (after decoding CSS "
                f"escapes); only @{', @'.join(sorted(ALLOWED_CSS_AT_RULES))} are allowed"
            )
    for function in _CSS_FUNCTION.findall(decoded):
        if function.lower() not in ALLOWED_CSS_FUNCTIONS:
            raise LogoError(
                f"unsafe SVG: {where} uses the CSS function {function}() (after decoding CSS "
                "escapes), which is not allowed"
            )
    for _quote, target, _end in _CSS_URL.findall(decoded):
        if not target.startswith("#"):
            raise LogoError(
                f"unsafe SVG: {where} has an external reference url({target[:80]!r}) (after "
                "decoding CSS escapes): only #fragment references inside the file are allowed"
            )
    if "javascript:" in decoded.lower():
        raise LogoError(f"unsafe SVG: {where} contains javascript:")
