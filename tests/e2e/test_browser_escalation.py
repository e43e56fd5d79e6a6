"""In Chromium: an administrator sets a province's escalation ladder; bad rows say what to fix.
A supervisor sets the province's subsidy approvals (levels in order, who approves at each,
budget lines) the same way (same server)."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser_path import browser, live_server, open_desk  # noqa: F401

pytestmark = pytest.mark.browser


def test_admin_sets_the_p2_ladder_and_a_bad_number_is_shown_on_its_field(
    browser, live_server  # noqa: F811
):
    page = open_desk(browser, live_server, "admin", "/desk/escalation")
    form = page.locator("[data-testid=ladder-P2]")
    assert form.locator("[data-testid=default-P2]").is_visible()  # not set yet: the default
    rows = form.locator("tr.rung")
    # The default P2 ladder (team, team, supervisor) is filled in; replace it.
    for i in range(rows.count()):
        rows.nth(i).locator("select[name=action]").select_option("")
    rows.nth(0).locator("select[name=action]").select_option("team")
    rows.nth(0).locator("input[name=wait_seconds]").fill("90")
    rows.nth(1).locator("select[name=action]").select_option("provincial_office")
    rows.nth(1).locator("input[name=wait_seconds]").fill("300")
    rows.nth(1).locator("input[name=contact_name]").fill("พมจ.พิษณุโลก")
    rows.nth(1).locator("input[name=contact_phone]").fill("โทรหาเวร")
    form.locator("[data-testid=save-P2]").click()
    error = rows.nth(1).locator(".field-error")
    error.wait_for()
    assert "081-234-5678" in error.inner_text()  # says what a good number looks like
    assert rows.nth(1).locator("input[name=contact_phone]").get_attribute("aria-invalid")
    assert form.locator("[data-testid=msg-P2]").get_attribute("class") == "message error"

    rows.nth(1).locator("input[name=contact_phone]").fill("081-234-5678")
    form.locator("[data-testid=save-P2]").click()
    page.wait_for_selector("[data-testid=msg-P2].ok")
    assert form.locator(".field-error").count() == 0

    page.reload()
    form = page.locator("[data-testid=ladder-P2]")
    assert form.locator("[data-testid=default-P2]").count() == 0
    rows = form.locator("tr.rung")
    assert rows.nth(0).locator("select[name=action]").input_value() == "team"
    assert rows.nth(0).locator("input[name=wait_seconds]").input_value() == "90"
    assert rows.nth(1).locator("select[name=action]").input_value() == "provincial_office"
    assert rows.nth(1).locator("input[name=contact_phone]").input_value() == "+66812345678"
    assert rows.nth(2).locator("select[name=action]").input_value() == ""


def test_supervisor_reorders_the_chain_adds_a_level_and_a_missing_name_is_shown(
    browser, live_server  # noqa: F811
):
    # The subsidy desk is live (subsidy.updated); its settings page has no feed.
    page = open_desk(browser, live_server, "supervisor", "/desk/subsidies")
    page.click("[data-testid=subsidy-settings-link]")
    levels = page.locator("#level-rows tr.level")
    levels.nth(1).wait_for()
    assert [levels.nth(i).locator("[name=code]").input_value() for i in range(2)] == [
        "team_head", "provincial_office"]
    levels.nth(1).locator("button[data-move='-1']").click()  # the office decides first
    page.locator("[data-testid=add-level]").click()
    new = levels.nth(2)
    new.locator("[name=code]").fill("director")
    new.locator("label.check input").first.check()
    page.locator("[data-testid=settings-save]").click()
    error = new.locator(".field-error")
    error.wait_for()
    assert "ภาษาไทย" in error.inner_text()  # the Thai name is asked for, on its row
    assert page.locator("[data-testid=settings-message]").get_attribute("class") == \
        "message error"

    new.locator("[name=name_th]").fill("ผู้อำนวยการ")
    page.locator("[data-testid=settings-save]").click()
    page.wait_for_selector("[data-testid=settings-message].ok")
    page.reload()
    levels = page.locator("#level-rows tr.level")
    levels.nth(2).wait_for()
    assert [levels.nth(i).locator("[name=code]").input_value() for i in range(3)] == [
        "provincial_office", "team_head", "director"]
    assert levels.nth(2).locator("label.check input:checked").count() == 1
