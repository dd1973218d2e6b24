"""Settings of link tracking: the workspace's two switches (owners only; no short links without a
public address) and a campaign's UTM value, budget and currency (managers and owners)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from calendar_app.models import Campaign, Role, Workspace
from calendar_app.services import workspaces as svc
from tests.conftest import login
from tests.factories import CampaignFactory

BASE = "https://go.example.test"
GENERAL = {"name": "Acme", "timezone": "Europe/Berlin", "language": "de"}


def url(name: str, *args) -> str:
    return reverse(f"calendar:{name}", args=["acme", *args])


@pytest.fixture
def public_base(settings):
    settings.PUBLIC_BASE_URL = BASE


def checkbox(html: str, name: str) -> str:
    """The <input> tag of the checkbox `name`."""
    [tag] = re.findall(rf'<input type="checkbox" name="{name}"[^>]*>', html)
    return tag


def flags(workspace) -> tuple[bool, bool]:
    workspace = Workspace.objects.get(pk=workspace.pk)
    return workspace.utm_tagging, workspace.shorten_links


# --- workspace switches ---------------------------------------------------------------------------


def test_given_an_owner_when_switching_both_on_then_saved(client, owner, workspace, public_base):
    response = login(client, owner).post(
        url("settings"), {**GENERAL, "utm_tagging": "on", "shorten_links": "on"}
    )
    assert response.status_code == 302
    assert flags(workspace) == (True, True)


def test_given_both_on_when_the_owner_unticks_them_then_both_off(
    client, owner, workspace, public_base
):
    Workspace.objects.filter(pk=workspace.pk).update(utm_tagging=True, shorten_links=True)
    response = login(client, owner).post(url("settings"), GENERAL)
    assert response.status_code == 302
    assert flags(workspace) == (False, False)


def test_given_no_public_base_url_when_turning_shortening_on_then_refused_with_the_reason(
    client, owner, workspace, settings
):
    settings.PUBLIC_BASE_URL = ""
    response = login(client, owner).post(
        url("settings"), {**GENERAL, "name": "Renamed", "utm_tagging": "on", "shorten_links": "on"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "ask your administrator to set PUBLIC_BASE_URL" in html
    assert 'id="error_1_id_shorten_links"' in html or "is-invalid" in html
    workspace.refresh_from_db()
    assert (workspace.name, *flags(workspace)) == ("Acme", False, False)  # nothing half-done


def test_given_no_public_base_url_then_tagging_alone_is_fine(client, owner, workspace, settings):
    settings.PUBLIC_BASE_URL = ""
    response = login(client, owner).post(url("settings"), {**GENERAL, "utm_tagging": "on"})
    assert response.status_code == 302
    assert flags(workspace) == (True, False)


def test_given_no_public_base_url_then_the_form_says_shortening_is_not_available(
    client, owner, settings
):
    settings.PUBLIC_BASE_URL = ""
    html = login(client, owner).get(url("settings")).content.decode()
    assert "Not available: short links need the public address of this site" in html


def test_the_general_page_shows_the_link_tracking_switches_with_their_state(
    client, owner, workspace, public_base
):
    Workspace.objects.filter(pk=workspace.pk).update(utm_tagging=True)
    html = login(client, owner).get(url("settings")).content.decode()
    assert 'id="link-tracking"' in html
    assert " checked" in checkbox(html, "utm_tagging")
    assert " checked" not in checkbox(html, "shorten_links")


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EDITOR, Role.VIEWER])
def test_given_a_non_owner_when_switching_then_403_and_nothing_changes(
    client, members, workspace, public_base, role
):
    response = login(client, members[role]).post(
        url("settings"), {**GENERAL, "utm_tagging": "on", "shorten_links": "on"}
    )
    assert response.status_code == 403
    assert flags(workspace) == (False, False)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.VIEWER])
def test_given_a_non_owner_then_the_switches_are_shown_disabled(client, members, role):
    html = login(client, members[role]).get(url("settings")).content.decode()
    assert " disabled" in checkbox(html, "utm_tagging")
    assert " disabled" in checkbox(html, "shorten_links")


def test_the_service_keeps_the_switches_when_not_given(owner, workspace):
    Workspace.objects.filter(pk=workspace.pk).update(utm_tagging=True, shorten_links=True)
    svc.workspace_update(membership=owner, name="Acme 2", timezone="UTC", language="en")
    assert flags(workspace) == (True, True)


def test_the_service_refuses_a_manager(manager, public_base):
    with pytest.raises(PermissionDenied):
        svc.workspace_update(
            membership=manager, name="x", timezone="UTC", language="en", utm_tagging=True
        )


# --- campaign: UTM value, budget, currency --------------------------------------------------------

CAMPAIGN = {"name": "Herbst", "color": "#aa5500"}


def test_given_a_manager_when_creating_a_campaign_with_utm_budget_and_currency_then_saved(
    client, manager
):
    response = login(client, manager).post(
        url("campaign_create"),
        {**CAMPAIGN, "utm_campaign": "herbst-2026", "budget": "1250.50", "currency": "chf"},
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Herbst")
    assert (campaign.utm_campaign, campaign.budget, campaign.currency) == (
        "herbst-2026",
        Decimal("1250.50"),
        "CHF",
    )


def test_given_no_budget_and_no_currency_then_none_and_eur(client, manager):
    login(client, manager).post(url("campaign_create"), CAMPAIGN)
    campaign = Campaign.objects.get(name="Herbst")
    assert (campaign.utm_campaign, campaign.budget, campaign.currency) == ("", None, "EUR")


def test_given_a_campaign_when_editing_then_its_values_are_shown_and_can_be_cleared(
    client, manager, workspace
):
    campaign = CampaignFactory(
        workspace=workspace,
        name="Spring launch",
        utm_campaign="spring26",
        budget=Decimal("99.90"),
        currency="USD",
    )
    html = login(client, manager).get(url("campaign_edit", campaign.pk)).content.decode()
    assert 'value="spring26"' in html
    assert 'value="99.90"' in html
    assert 'value="USD"' in html
    assert 'placeholder="spring-launch"' in html  # what an empty value would stand for

    response = client.post(
        url("campaign_edit", campaign.pk),
        {"name": "Spring launch", "color": "#aa5500", "utm_campaign": "", "budget": ""},
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.utm_campaign, campaign.budget, campaign.currency) == ("", None, "EUR")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("budget", "-1", "greater than or equal to 0"),
        ("budget", "12.345", "no more than 2 decimal places"),
        ("budget", "1e20", "no more than 12 digits"),
        ("budget", "lots", "Enter a number."),
        ("currency", "EURO", "at most 3 characters"),
        ("currency", "XYZ", "is not a currency code"),
        ("currency", "€", "is not a currency code"),
        ("utm_campaign", "not a slug!", "Enter a valid “slug”"),
    ],
)
def test_given_an_invalid_value_when_creating_a_campaign_then_the_field_says_why(
    client, manager, field, value, message
):
    response = login(client, manager).post(url("campaign_create"), {**CAMPAIGN, field: value})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Campaign.objects.filter(name="Herbst").exists()


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_given_an_editor_or_viewer_when_setting_a_budget_then_403(client, members, campaign, role):
    response = login(client, members[role]).post(
        url("campaign_edit", campaign.pk),
        {"name": campaign.name, "color": "#aa5500", "budget": "10", "currency": "EUR"},
    )
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.budget is None


def test_another_workspaces_campaign_is_404(client, manager, other_workspace):
    other = Campaign.objects.get(workspace=other_workspace)
    response = login(client, manager).post(
        url("campaign_edit", other.pk), {**CAMPAIGN, "budget": "10"}
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.budget is None


def test_the_service_validates_the_currency_on_its_own(manager):
    with pytest.raises(ValidationError) as caught:
        svc.campaign_create(membership=manager, name="Bad", currency="ABC")
    assert "currency" in caught.value.error_dict
    assert not Campaign.objects.filter(name="Bad").exists()


def test_the_service_validates_budget_and_slug_on_its_own(manager):
    with pytest.raises(ValidationError) as caught:
        svc.campaign_create(
            membership=manager, name="Bad", budget=Decimal("-5"), utm_campaign="no spaces"
        )
    assert {"budget", "utm_campaign"} <= set(caught.value.error_dict)
