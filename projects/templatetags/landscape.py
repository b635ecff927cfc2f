"""Template helpers of the public pages: monograms, highlights, inline SVG charts, URLs."""

from __future__ import annotations

import hashlib
import re
from datetime import date

from django import template
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


def monogram_colour(name: str) -> str:
    """The same colour for the same name, in every process (not Python's salted hash())."""
    digest = hashlib.sha256((name or "").strip().lower().encode()).digest()
    return MONOGRAM_COLOURS[int.from_bytes(digest[:4], "big") % len(MONOGRAM_COLOURS)]


def monogram_letters(name: str) -> str:
    words = re.findall(r"[^\W_]+", re.sub(r"\(.*?\)", "", name or ""))
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].capitalize()
    return (words[0][0] + words[1][0]).upper()


@register.simple_tag
def monogram(name: str, size: int = 48) -> SafeString:
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
