"""Template helpers of the public pages: tiles, monograms, highlights, inline SVG charts, URLs."""

from __future__ import annotations

import functools
import hashlib
import html
import re
from datetime import date

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from projects.search import highlight as _highlight

register = template.Library()

# Dark enough for white text at WCAG AA (contrast >= 4.5:1) on every one of them.
MONOGRAM_COLOURS = [
    "#1d4ed8",
    "#b91c1c",
    "#047857",
    "#7c3aed",
    "#be185d",
    "#0f766e",
    "#a16207",
    "#4338ca",
    "#c2410c",
    "#15803d",
    "#6d28d9",
    "#374151",
]


def monogram_index(name: str) -> int:
    """The same palette index for the same name, in every process (not Python's salted
    hash()); a tile's monogram carries it as its ``mono-N`` class (static/css/site.css)."""
    digest = hashlib.sha256((name or "").strip().lower().encode()).digest()
    return int.from_bytes(digest[:4], "big") % len(MONOGRAM_COLOURS)


def monogram_colour(name: str) -> str:
    return MONOGRAM_COLOURS[monogram_index(name)]


_PARENTHESES = re.compile(r"\(.*?\)")
_WORDS = re.compile(r"[^\W_]+")


def monogram_letters(name: str) -> str:
    words = _WORDS.findall(_PARENTHESES.sub("", name or ""))
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].capitalize()
    return (words[0][0] + words[1][0]).upper()


@register.simple_tag
def monogram(name: str, size: int = 48) -> SafeString:
    """The standalone SVG monogram, for pages without the site's tile styles at hand (the
    project page's 96 px header, the embeddable category). Tiles use ``tile_monogram``."""
    letters = monogram_letters(name)
    return format_html(
        '<svg class="monogram" role="img" aria-hidden="true" focusable="false" '
        'width="{size}" height="{size}" viewBox="0 0 48 48">'
        '<rect width="48" height="48" rx="8" fill="{colour}"/>'
        '<text x="24" y="24" dy=".35em" text-anchor="middle" fill="#fff" '
        'font-family="system-ui, sans-serif" font-size="{font}" font-weight="700">'
        "{letters}</text></svg>",
        size=int(size),
        colour=monogram_colour(name),
        font=20 if len(letters) > 1 else 24,
        letters=letters,
    )


def tile_monogram(name: str) -> str:
    """A tile's logo box drawn as its monogram: two letters on a palette colour, a few bytes
    where the SVG in its box took about 360 (``span.monogram`` and ``.mono-N`` in
    static/css/site.css: no style attribute, the CSP allows none). Hidden from assistive
    technology, as the SVG was: the tile's name follows it."""
    letters = monogram_letters(name)  # word characters or "?": nothing to escape
    single = " mono-single" if len(letters) < 2 else ""
    return (
        f'<span class="tile-logo monogram mono-{monogram_index(name)}{single}" '
        f'aria-hidden="true">{letters}</span>'
    )


# --- Tiles -----------------------------------------------------------------------------------

# django.utils.html.escape() is exactly html.escape(str(text)) wrapped in SafeString, behind
# keep_lazy's check of every argument for lazy strings: ten times the cost, several times a
# tile. The tile escapes plain strings with the function itself, then marks the whole safe.
_esc = html.escape

# What Django's ``slug`` path converter accepts, and what reverse() leaves unquoted.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_SLUG_MARK = "__slug__"
_URL_PARTS = object()  # the render-context key of detail_url_parts()


def detail_url_parts() -> tuple[str, str] | None:
    """The project page's URL around its slug, escaped for an attribute: ("/projects/", "/"),
    with the script prefix; None (every tile then asks get_absolute_url()) should the URL
    not carry the slug plainly."""
    url = reverse("projects:detail", kwargs={"slug": _SLUG_MARK})
    before, mark, after = url.partition(_SLUG_MARK)
    if not mark or _SLUG_MARK in after:
        return None
    return _esc(before), _esc(after)


@functools.cache
def _health_marks() -> dict[str, tuple[str, str]]:
    """Health value -> (value, label), both escaped: get_health_display() without building
    the choices dict for every tile (the labels are plain strings in projects.models.Health)."""
    from projects.models import Project

    choices = Project._meta.get_field("health").flatchoices
    return {str(k): (_esc(str(k)), _esc(str(v))) for k, v in choices}


def _highlighted(text: str, q: str) -> str:
    return _highlight(text, q) if q else _esc(text or "")


def render_tile(project, *, view: str = "cards", q: str = "", url_parts=None) -> SafeString:
    """One entry's tile: the markup of the former projects/_tile.html less its indentation,
    with the monogram as the logo box itself rather than an SVG inside it.

    Every value from the entry is escaped here, or by ``highlight`` (which escapes). Single
    spaces remain between elements whose text would otherwise run together in the link's
    accessible name ("TorchThing unknown listed archived ★ 12"). ``url_parts`` is
    detail_url_parts(), computed once per render by the ``tiles`` tag: a valid slug goes
    between them unchanged (reverse() would not quote it either), any other slug takes
    get_absolute_url() as before."""
    slug = project.slug or ""
    if url_parts is not None and _SLUG.fullmatch(slug):  # then nothing to escape in it
        url = f"{url_parts[0]}{slug}{url_parts[1]}"
    else:
        slug, url = _esc(slug), _esc(project.get_absolute_url())
    maturity = project.maturity or ""
    health, health_label = _health_marks().get(project.health) or (_esc(str(project.health)),) * 2
    if project.logo:
        logo = (
            f'<span class="tile-logo"><img src="{_esc(project.logo.url)}" alt="" width="48" '
            'height="48" loading="lazy" decoding="async"></span>'
        )
    else:
        logo = tile_monogram(project.name)
    if maturity == "archived":
        pill = ' <span class="pill pill-archived">listed archived</span>'
    elif maturity == "foundation":
        pill = ' <span class="pill pill-foundation">foundation</span>'
    else:
        pill = ""
    stars = getattr(project, "stars", None)  # annotated by the selectors, or absent
    if stars is not None:
        if settings.USE_THOUSAND_SEPARATOR:
            shown = _esc(number_format(stars))
        else:
            shown = str(stars) if type(stars) is int else _esc(str(stars))
        stars = f' <span class="stars" title="GitHub stars">★ {shown}</span>'
    else:
        stars = ""
    if view == "list":
        desc = f' <span class="tile-desc">{_highlighted(project.description, q)}</span>'
    else:
        desc = ""
    # SafeString() rather than mark_safe(), which checks for lazy strings first: every value
    # interpolated here is escaped above or made of characters that need no escaping.
    return SafeString(
        f'<li class="tile{" is-archived" if maturity == "archived" else ""}" '
        f'data-health="{health}" data-maturity="{_esc(maturity or "none")}" '
        f'data-slug="{slug}"><a class="tile-link" href="{url}">{logo}'
        f'<span class="tile-body"><span class="tile-name">{_highlighted(project.name, q)}</span> '
        f'<span class="tile-meta"><span class="health-mark health-{health}" '
        f'title="health: {health_label}"></span><span class="health-text">{health_label}</span>'
        f"{pill}{stars}</span>{desc}</span></a></li>"
    )


@register.simple_tag(takes_context=True)
def tiles(context, projects, view: str = "cards", q: str = "") -> SafeString:
    """``{% tiles box.items view=view q=params.q %}``: the tiles of these entries, for a
    ``<ul class="tiles">`` (see render_tile).

    Python rather than an ``{% include %}`` per entry, and one tag per list rather than one
    per tile: the landscape shows hundreds of tiles, and the template machinery around a
    tag (resolving its arguments, ``params.q`` through a failed subscript) costs more than
    building the tile. The project page's URL is reversed once per render, not per tile."""
    render_context = context.render_context
    if _URL_PARTS not in render_context:
        render_context[_URL_PARTS] = detail_url_parts()
    parts = render_context[_URL_PARTS]
    q = q or ""
    return SafeString("".join([render_tile(p, view=view, q=q, url_parts=parts) for p in projects]))


@register.filter
def highlight(text: str, q: str) -> SafeString:
    return _highlight(text, q or "")


@register.simple_tag(takes_context=True)
def url_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None or "" removes them)."""
    request = context["request"]
    query = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value not in (None, ""):
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key, 0)
    except AttributeError:
        return 0


@register.simple_tag
def sparkline(series, width: int = 240, height: int = 48) -> SafeString:
    """A stars-over-time line: ``series`` is [(day, stars), ...] oldest first."""
    points = [(d, int(v)) for d, v in series if v is not None]
    if len(points) < 2:
        return mark_safe("")
    first_day: date = points[0][0]
    span_days = max((points[-1][0] - first_day).days, 1)
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    spread = max(high - low, 1)
    pad = 3
    coords = []
    for day, value in points:
        x = pad + (width - 2 * pad) * (day - first_day).days / span_days
        y = height - pad - (height - 2 * pad) * (value - low) / spread
        coords.append(f"{x:.1f},{y:.1f}")
    label = (
        f"Stars from {points[0][1]:,} on {first_day:%Y-%m-%d} "
        f"to {points[-1][1]:,} on {points[-1][0]:%Y-%m-%d}"
    )
    return format_html(
        '<svg class="sparkline" role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        "<title>{label}</title>"
        '<polyline fill="none" stroke="currentColor" stroke-width="2" points="{points}"/>'
        "</svg>",
        w=int(width),
        h=int(height),
        label=label,
        points=" ".join(coords),
    )


@register.inclusion_tag("projects/_bar_chart.html")
def bar_chart(rows, title: str, chart_id: str, width: int = 560):
    """Horizontal bars: ``rows`` is [(label, count), ...] or [(label, count, key), ...]."""
    rows = [(str(r[0]), int(r[1] or 0), r[2] if len(r) > 2 else "") for r in rows]
    top = max((n for _, n, _ in rows), default=0) or 1
    label_w, bar_h, gap = 210, 22, 6
    bar_space = width - label_w - 60
    bars = [
        {
            "label": label,
            "count": n,
            "key": key,
            "y": i * (bar_h + gap),
            "text_y": i * (bar_h + gap) + bar_h / 2,
            "bar_w": round(bar_space * n / top, 1) if n else 0,
            "count_x": label_w + (round(bar_space * n / top, 1) if n else 0) + 6,
        }
        for i, (label, n, key) in enumerate(rows)
    ]
    return {
        "title": title,
        "chart_id": chart_id,
        "bars": bars,
        "width": width,
        "height": max(len(rows) * (bar_h + gap), bar_h),
        "label_w": label_w,
        "label_x": label_w - 8,
        "bar_h": bar_h,
    }


@register.filter
def health_class(value: str) -> str:
    return escape(f"health-{value or 'unknown'}")
