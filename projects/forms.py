"""Forms of the public pages: the list's filters (GET, in the URL) and "Report a problem"."""

from __future__ import annotations

from django import forms

from projects.models import Health, Maturity
from projects.selectors import SORT_CHOICES, ListParams

MATURITY_CHOICES = [(m.value or "none", m.label) for m in Maturity]
HEALTH_CHOICES = list(Health.choices)
FINDINGS_CHOICES = [("", "any"), ("open", "with open findings"), ("none", "without findings")]
VIEW_CHOICES = [("cards", "cards"), ("list", "list")]


class FilterForm(forms.Form):
    """The list's query parameters. Unknown or malformed values are dropped, never an error."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    category = forms.CharField(required=False, max_length=220)
    maturity = forms.MultipleChoiceField(
        required=False, choices=MATURITY_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    health = forms.MultipleChoiceField(
        required=False, choices=HEALTH_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    license = forms.CharField(required=False, max_length=100)
    findings = forms.ChoiceField(required=False, choices=FINDINGS_CHOICES)
    sort = forms.ChoiceField(required=False, choices=[("", "default"), *SORT_CHOICES])
    view = forms.ChoiceField(required=False, choices=VIEW_CHOICES)
    show_archived = forms.BooleanField(required=False)

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data if data is not None else {}, *args, **kwargs)
        self.is_valid()

    def _value(self, name: str, default=None):
        if name in self.errors:
            # Keep what was valid of a multiple choice; drop anything else.
            if isinstance(self.fields[name], forms.MultipleChoiceField):
                allowed = {c for c, _ in self.fields[name].choices}
                return [v for v in self.data.getlist(name) if v in allowed]
            return default
        return self.cleaned_data.get(name, default)

    @property
    def view_mode(self) -> str:
        return self._value("view") or "cards"

    def params(self) -> ListParams:
        findings = self._value("findings") or ""
        return ListParams(
            q=(self._value("q") or "").strip(),
            category=(self._value("category") or "").strip(),
            maturity=tuple(self._value("maturity") or ()),
            health=tuple(self._value("health") or ()),
            license=(self._value("license") or "").strip(),
            has_findings={"open": True, "none": False}.get(findings),
            show_archived=bool(self._value("show_archived")),
            sort=self._value("sort") or "",
        )


class ReportForm(forms.Form):
    REASONS = [
        ("archived", "The project is archived or no longer maintained"),
        ("moved", "The repository or website moved"),
        ("broken_link", "A link is broken"),
        ("wrong_info", "The description, category or other details are wrong"),
        ("other", "Something else"),
    ]

    reason = forms.ChoiceField(choices=REASONS, label="What is wrong?")
    message = forms.CharField(
        label="Details",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What should change, with a link to the evidence if you have one.",
    )
    email = forms.EmailField(
        required=False, label="Your email (optional)", help_text="Only if you want an answer."
    )
    # A honeypot: hidden from people (and from assistive technology), filled by bots.
    website = forms.CharField(
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get("website"))
