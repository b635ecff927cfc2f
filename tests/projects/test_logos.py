import pytest

from projects.logos import LogoError, logo_kind

SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(body: str, attrs: str = "") -> bytes:
    return f"<svg {SVG_NS} {attrs}>{body}</svg>".encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (svg("<script>alert(1)</script>"), "<script>"),
        (svg("", 'onload="alert(1)"'), "onload"),
        (svg('<rect onclick="x()"/>'), "onclick"),
        (svg('<image xlink:href="https://example.test/a.png"/>'), "external"),
        (svg('<use href="//example.test/sprite.svg#a"/>'), "external"),
        (svg('<a href="javascript:alert(1)"><text>x</text></a>'), "external"),
        (svg('<image href="data:text/html;base64,PHNjcmlwdD4="/>'), "external"),
        (
            svg('<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'),
            "foreignobject",
        ),
        (svg("<style>@import url(https://example.test/x.css);</style>"), "import"),
        (svg('<rect style="fill:url(https://example.test/p.svg#g)"/>'), "style"),
        (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg>&x;</svg>', "Entities"),
        (
            b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>',
            "Entities",
        ),
        (b"<svg><unclosed></svg>", "well-formed"),
        (b"<html><body>hi</body></html>", "not an image"),
        (b"MZ\x90\x00 not an image", "not an image"),
    ],
)
def test_unsafe_or_non_image_logos_are_refused(data, reason):
    with pytest.raises(LogoError) as excinfo:
        logo_kind(data)
    assert reason.lower() in str(excinfo.value).lower()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (svg('<rect width="4" height="4" fill="url(#g)"/><linearGradient id="g"/>'), "svg"),
        (svg('<image href="data:image/png;base64,iVBORw0KGgo="/>'), "svg"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
            b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">' + svg(""),
            "svg",
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 16, "png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 16, "jpeg"),
    ],
)
def test_safe_logos_are_recognised(data, kind):
    assert logo_kind(data) == kind


def test_every_shared_logo_that_an_item_names_is_accepted(shared_data):
    import yaml

    doc = yaml.safe_load((shared_data / "landscape.yml").read_text())
    names = {
        item["logo"]
        for cat in doc["landscape"]
        for sub in cat["subcategories"]
        for item in sub["items"]
    }
    kinds = {name: logo_kind((shared_data / "logos" / name).read_bytes()) for name in names}
    assert set(kinds.values()) <= {"svg", "png", "jpeg"}
    assert len(kinds) == len(names)
