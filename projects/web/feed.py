"""The Atom feed's format: summaries in plain text."""

from __future__ import annotations

from django.utils.feedgenerator import Atom1Feed


class PlainTextAtom1Feed(Atom1Feed):
    """Atom whose entry summaries are ``type="text"``.

    Django writes them as ``type="html"``, so a feed reader renders a description's markup;
    descriptions are maintainers' text, shown as text everywhere else on the site.
    """

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})
