"""The preferences form: two checkboxes (in the app, by e-mail) per notification kind."""

from __future__ import annotations

from django import forms

from notifications.selectors import PreferenceRow


class PreferencesForm(forms.Form):
    def __init__(self, *args, rows: list[PreferenceRow], **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            self.fields[f"in_app-{row.kind}"] = forms.BooleanField(
                required=False, initial=row.in_app, label=row.label
            )
            self.fields[f"email-{row.kind}"] = forms.BooleanField(
                required=False, initial=row.email, label=row.label
            )

    def table(self) -> list[tuple[PreferenceRow, forms.BoundField, forms.BoundField]]:
        return [(row, self[f"in_app-{row.kind}"], self[f"email-{row.kind}"]) for row in self.rows]

    def choices(self) -> dict[str, tuple[bool, bool]]:
        data = self.cleaned_data
        return {
            row.kind: (data[f"in_app-{row.kind}"], data[f"email-{row.kind}"]) for row in self.rows
        }
