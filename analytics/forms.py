"""The analytics pages' filters: the period picker and the metric to rank posts by."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.periods import (
    DEFAULT_PERIOD,
    MAX_CUSTOM_DAYS,
    PERIOD_CHOICES,
    Period,
    period_for,
    today_in,
)
from analytics.selectors import RANKING_CHOICES
from calendar_app.params import DateField


class PeriodForm(forms.Form):
    """?period=30, ?period=this_month or ?period=custom&from=2026-01-01&to=2026-01-31."""

    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, required=False)
    # "from" is a Python keyword: the field is added under that name below.
    to = DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))

    def __init__(self, data=None, *, tz: ZoneInfo, default: str = DEFAULT_PERIOD, **kwargs):
        super().__init__(data, **kwargs)
        self.tz = tz
        self.default = default
        self.fields["from"] = DateField(
            label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
        )
        self.order_fields(["period", "from", "to"])

    def clean(self):
        cleaned = super().clean()
        key = cleaned.get("period") or self.default
        first, last = cleaned.get("from"), cleaned.get("to")
        if key != "custom" and (first or last):
            # Dates that differ from the chosen preset's are a custom period (no script needed
            # to switch the select when someone types dates).
            preset = period_for(key, self.tz)
            first, last = first or preset.first, last or preset.last
            if (first, last) != (preset.first, preset.last):
                key = "custom"
                cleaned["from"], cleaned["to"] = first, last
        cleaned["period"] = key
        if key != "custom":
            return cleaned
        first, last = cleaned.get("from"), cleaned.get("to")
        if self.errors:
            return cleaned
        if first is None or last is None:
            raise forms.ValidationError(_("Choose both a start and an end date."))
        if first > last:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        if (last - first).days + 1 > MAX_CUSTOM_DAYS:
            raise forms.ValidationError(
                _("Choose at most %(days)d days.") % {"days": MAX_CUSTOM_DAYS}
            )
        return cleaned

    def chosen_period(self) -> Period:
        """The chosen period; the default one while the form has errors (shown with them)."""
        if self.is_valid():
            key = self.cleaned_data["period"]
            if key == "custom":
                return Period(self.cleaned_data["from"], self.cleaned_data["to"], self.tz)
            return period_for(key, self.tz)
        return period_for(self.default, self.tz)

    def initial_for_display(self) -> dict:
        """Values for the picker's inputs: what was asked, or the default period's dates."""
        period = self.chosen_period()
        return {
            "period": period.key if period.key != "previous" else "custom",
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "today": today_in(self.tz).isoformat(),
        }


class RankingForm(forms.Form):
    """Top and bottom posts: by which metric."""

    metric = forms.ChoiceField(label=_("Rank by"), choices=RANKING_CHOICES, required=False)

    def metric_key(self) -> str:
        if self.is_valid() and self.cleaned_data["metric"]:
            return self.cleaned_data["metric"]
        return "interactions"
