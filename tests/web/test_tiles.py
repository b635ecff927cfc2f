"""The tiles of the landscape, the results and the project pages, built by the ``tiles`` tag
(projects/templatetags/landscape.py) instead of an ``{% include %}`` per entry: the markup of
the template it replaced, everything an entry says escaped, a text monogram coloured by a
class of the stylesheet instead of an inline SVG, and a byte budget per tile."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.core.management import call_command
from django.template import engines
from django.urls import set_script_prefix

from projects.models import Project
from projects.templatetags.landscape import MONOGRAM_COLOURS, monogram_index
from tests.conftest import REPO_ROOT

TILE = re.compile(r'<li class="tile[ "].*?</li>', re.S)

# templates/projects/_tile.html as it was, to check the tag against: same elements, same
# attributes, same text, once the monogram is set aside (an SVG in the logo box then, the logo
# box itself now).
FORMER_TILE = """{% load landscape %}<li class="tile{% if project.maturity == 'archived' %} is-archived{% endif %}" data-health="{{ project.health }}" data-maturity="{{ project.maturity|default:'none' }}" data-slug="{{ project.slug }}">
  <a class="tile-link" href="{{ project.get_absolute_url }}">
    <span class="tile-logo">{% if project.logo %}<img src="{{ project.logo.url }}" alt="" width="48" height="48" loading="lazy" decoding="async">{% else %}{% monogram project.name %}{% endif %}</span>
    <span class="tile-body">
      <span class="tile-name">{{ project.name|highlight:params.q }}</span>
      <span class="tile-meta">
        <span class="health-mark health-{{ project.health }}" title="health: {{ project.get_health_display }}"></span><span class="health-text">{{ project.get_health_display }}</span>
        {% if project.maturity == "archived" %}<span class="pill pill-archived">listed archived</span>{% elif project.maturity == "foundation" %}<span class="pill pill-foundation">foundation</span>{% endif %}
        {% if project.stars is not None %}<span class="stars" title="GitHub stars">★ {{ project.stars }}</span>{% endif %}
      </span>
      {% if view == "list" %}<span class="tile-desc">{{ project.description|highlight:params.q }}</span>{% endif %}
    </span>
  </a>
</li>"""  # noqa: E501


class Outline(HTMLParser):
    """A tile as (tags with their attributes, text as read aloud, monogram) for comparison."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple] = []
        self.text: list[str] = []
        self.monogram: list[str] = []  # [colour, letters]
        self._in_monogram = 0
        self._logo_box = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if self._in_monogram:
            self._in_monogram += 1
            if tag == "rect":
                self.monogram.append(attrs["fill"])
            return
        if "monogram" in classes:
            self._in_monogram = 1
            assert attrs["aria-hidden"] == "true"
            if tag == "span":
                (mono,) = [c for c in classes if re.fullmatch(r"mono-\d+", c)]
                self.monogram.append(MONOGRAM_COLOURS[int(mono.removeprefix("mono-"))])
            if "tile-logo" in classes:  # the box of the SVG, as it was
                self.tags.append(("span", [("class", "tile-logo")]))
                self._logo_box = True
            return
        self.tags.append((tag, sorted(attrs.items())))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self._in_monogram:
            self._in_monogram -= 1

    def handle_endtag(self, tag):
        if self._in_monogram:
            self._in_monogram -= 1
            if not self._in_monogram and self._logo_box:
                self.tags.append(("/span",))
                self._logo_box = False
            return
        self.tags.append(("/" + tag,))

    def handle_data(self, data):
        (self.monogram if self._in_monogram else self.text).append(data)

    @classmethod
    def of(cls, markup: str) -> tuple:
        outline = cls()
        outline.feed(markup)
        outline.close()
        # What a screen reader gets as the link's name: the text, its white space collapsed.
        text = " ".join("".join(outline.text).split())
        return outline.tags, text, [m.strip() for m in outline.monogram if m.strip()]


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.fixture
def variety(tree):
    """Entries with every variation a tile shows."""
    plain = Project.objects.create(
        name="TorchThing",
        slug="torchthing",
        description="Medical imaging toolkit",
        homepage_url="https://t.example.org/",
        category=tree["medical"],
    )
    archived = Project.objects.create(
        name="Old (archived) Torch",
        slug="old-torch",
        description="Gone & <em>forgotten</em>",
        homepage_url="https://o.example.org/",
        category=tree["vision"],
        maturity="archived",
        health="archived",
    )
    foundation = Project.objects.create(
        name="X",
        slug="x",
        homepage_url="https://x.example.org/",
        category=tree["foundation"],
        maturity="foundation",
        health="active",
        logo="logos/x.png",
    )
    hostile = Project.objects.create(
        name="<b onmouseover=\"alert('n')\">Bold</b> & Co",
        slug="bold-co",
        description='<img src=x onerror=alert(1)> "bold" claims',
        homepage_url="https://b.example.org/",
        category=tree["general"],
        maturity="graduated",
        health="missing",
    )
    entries = [plain, archived, foundation, hostile]
    for stars, entry in zip([None, 0, 12345, 7], entries, strict=True):
        entry.stars = stars  # as the selectors annotate it
    return entries


@pytest.mark.parametrize("view", ["cards", "list"])
@pytest.mark.parametrize("q", ["", "bold torch", "<em>"])
def test_the_tag_gives_the_markup_of_the_include_it_replaced(variety, view, q):
    new = render(
        "{% load landscape %}{% tiles projects view=view q=q %}",
        projects=variety,
        view=view,
        q=q,
    )
    new_tiles = TILE.findall(new)
    assert len(new_tiles) == len(variety)
    assert "".join(new_tiles) == new  # nothing between the tiles either
    for entry, tile in zip(variety, new_tiles, strict=True):
        former = render(FORMER_TILE, project=entry, view=view, params={"q": q})
        assert Outline.of(tile) == Outline.of(former), entry.slug
        assert "\n" not in tile and "  " not in tile


def test_everything_an_entry_says_is_escaped(client, variety):
    for url in ["/?view=list", "/?sort=name&view=list", "/?q=bold&view=list"]:
        body = client.get(url).content.decode()
        (tile,) = [t for t in TILE.findall(body) if 'data-slug="bold-co"' in t]
        assert "<b " not in tile and "<img" not in tile, url
        assert "&lt;b onmouseover=&quot;alert(&#x27;n&#x27;)&quot;&gt;" in tile, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in tile, url
    # Highlighting escapes as well: the marks are the only markup in the name and description.
    assert (
        '<span class="tile-name">&lt;b onmouseover=&quot;alert(&#x27;n&#x27;)&quot;&gt;'
        "<mark>Bold</mark>&lt;/b&gt; &amp; Co</span>"
    ) in tile
    assert (
        '<span class="tile-desc">&lt;img src=x onerror=alert(1)&gt; &quot;<mark>bold</mark>'
        "&quot; claims</span>"
    ) in tile


def test_the_monogram_is_a_span_with_the_letters_and_a_colour_class(variety):
    body = render("{% load landscape %}{% tiles projects %}", projects=variety)
    assert "<svg" not in body
    torch = monogram_index("TorchThing")
    assert f'<span class="tile-logo monogram mono-{torch}" aria-hidden="true">To</span>' in body
    old = monogram_index("Old (archived) Torch")
    assert f'<span class="tile-logo monogram mono-{old}" aria-hidden="true">OT</span>' in body
    bold = monogram_index(variety[3].name)
    assert f'<span class="tile-logo monogram mono-{bold}" aria-hidden="true">BO</span>' in body
    # An entry with a logo shows the logo, no monogram.
    x_tile = next(t for t in TILE.findall(body) if 'data-slug="x"' in t)
    assert '<img src="/media/logos/x.png" alt="" width="48" height="48"' in x_tile
    assert "monogram" not in x_tile
    # One letter is drawn larger, as the SVG did.
    lone = Project(name="Q", slug="q")
    one = render("{% load landscape %}{% tiles projects %}", projects=[lone])
    mono = f"mono-{monogram_index('Q')} mono-single"
    assert f'<span class="tile-logo monogram {mono}" aria-hidden="true">Q</span>' in one


def relative_luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_the_stylesheet_has_the_palette_of_the_monograms_white_text_at_wcag_aa():
    css = (REPO_ROOT / "static" / "css" / "site.css").read_text(encoding="utf-8")
    classes = dict(re.findall(r"\.mono-(\d+) \{ background: (#[0-9a-f]{6}); \}", css))
    assert classes == {str(i): colour for i, colour in enumerate(MONOGRAM_COLOURS)}
    rule = re.search(r"span\.monogram \{([^}]*)\}", css).group(1)
    assert "color: #fff" in rule
    assert "width: 48px" in rule and "height: 48px" in rule
    for colour in MONOGRAM_COLOURS:
        assert 1.05 / (relative_luminance(colour) + 0.05) >= 4.5, colour


def test_links_follow_the_script_prefix(variety):
    set_script_prefix("/directory/")
    try:
        body = render("{% load landscape %}{% tiles projects %}", projects=variety)
        expected = [entry.get_absolute_url() for entry in variety]
    finally:
        set_script_prefix("/")
    assert expected[0] == "/directory/projects/torchthing/"
    assert re.findall(r'<a class="tile-link" href="([^"]+)"', body) == expected


# Bytes per tile of `/` on the demo data (fixtures/landscape.yml: 121 tiles shown, no logo, no
# repository checked yet so no stars): 447 on average with the tag and the text monogram, 799
# with the include, its indentation and the inline SVG. About 400 of them are the fixed markup
# (classes, the health mark's title and text, the monogram), the rest the name, twice the
# slug. The budget leaves 5% for longer names; the SVG (+330) or the indentation (+80) back,
# or a new attribute on every tile, goes over it.
BYTES_PER_TILE = 470


def test_the_landscape_stays_within_a_byte_budget_per_tile(client, db):
    call_command("seed_demo", stdout=StringIO())
    body = client.get("/").content.decode()
    tiles = TILE.findall(body)
    assert len(tiles) > 100
    average = sum(len(t.encode()) for t in tiles) / len(tiles)
    assert average < BYTES_PER_TILE, average
    assert "<svg" not in body[body.index('id="results"') :]


@pytest.mark.parametrize("view", ["cards", "list"])
def test_landscape_boxes_render_as_the_entries_themselves(db, shared_data, view):
    """landscape_top gives Tiles (no model instances): each renders exactly as the entry
    it stands for, logos, stars, missing values and markup included."""
    from projects.selectors import ListParams, landscape_top
    from projects.templatetags.landscape import detail_url_parts, render_tile

    call_command("import_landscape", str(shared_data / "landscape.yml"), verbosity=0)
    odd = Project.objects.published().order_by("pk")[:3]
    Project.objects.filter(pk=odd[0].pk).update(slug="Odd_Slug-with-Caps", stars=None)
    Project.objects.filter(pk=odd[1].pk).update(description='<b>"bold" & co</b>', stars=0)
    Project.objects.filter(pk=odd[2].pk).update(logo="logos/a b&c.svg")
    tiles, _totals = landscape_top(ListParams(show_archived=True), limit=500)
    assert len(tiles) == Project.objects.published().count()
    assert any(t.logo for t in tiles) and any(not t.logo for t in tiles)
    entries = {p.pk: p for p in Project.objects.published()}
    parts = detail_url_parts()
    for tile in tiles:
        entry = entries[tile.pk]
        assert (tile.category_id, tile.position) == (entry.category_id, entry.position)
        for url_parts in (parts, None):
            assert render_tile(tile, view=view, q="torch", url_parts=url_parts) == render_tile(
                entry, view=view, q="torch", url_parts=url_parts
            ), entry.slug
