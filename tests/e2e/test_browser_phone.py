"""In Chromium: a simulated call pops on the call-taker desk, is accepted and logged as ONE call."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from console.db import make_engine, make_sessionmaker
from telephony.models import Call
from tests.e2e.test_browser_path import browser, live_server, open_desk  # noqa: F401

pytestmark = pytest.mark.browser


def test_simulated_call_is_accepted_and_logged_once(browser, live_server, served_db):  # noqa: F811
    calls = open_desk(browser, live_server, "calltaker", "/desk/calls")
    calls.wait_for_selector("body[data-live='1']")
    # A supervisor on the calls desk gets the pops live too (issue 14).
    on_calls = open_desk(browser, live_server, "supervisor", "/desk/calls")
    on_calls.wait_for_selector("body[data-live='1']")
    supervisor = open_desk(browser, live_server, "supervisor", "/desk/supervisor")
    for number, digit in (("089-111-2222", "2"), ("089-333-4444", "1")):  # advice, then danger
        supervisor.fill("#simulate-call input[name=number]", number)
        supervisor.select_option("#simulate-call select[name=digit]", digit)
        supervisor.click("#simulate-call button[type=submit]")
        supervisor.wait_for_selector("#simulate-call .message.ok")
        calls.wait_for_function(f"() => document.body.innerText.includes({number!r})")
    for page in (calls, on_calls):
        page.wait_for_function("() => document.querySelectorAll('[data-testid=pop]').length === 2")
    # The caller in danger is first although the advice caller waited longer; each pop shows
    # its waiting time.
    pops = calls.locator("[data-testid=pop]")
    assert pops.nth(0).get_attribute("data-reason") == "danger"
    assert "089-333-4444" in pops.nth(0).inner_text()
    calls.wait_for_function("() => /\\d/.test(document.querySelector("
                            "'[data-testid=pop-waited]').textContent)")
    # The danger caller hangs up (the simulator, played from the supervisor's calls desk): the
    # pop leaves every desk and the number joins the call-back list.
    on_calls.locator("[data-testid=pop]", has_text="089-333-4444").locator(
        "[data-testid=pop-hangup]").click()
    calls.wait_for_function("() => document.querySelectorAll('[data-testid=pop]').length === 1")
    calls.wait_for_selector("[data-testid=callback-list] li:has-text('089-333-4444')")

    pop = calls.wait_for_selector("[data-testid=pop]")
    assert "089-111-2222" in pop.inner_text()
    pop.query_selector("button").click()
    calls.wait_for_selector("#form-message.ok")
    # What the pop said about the caller stays beside the form.
    facts = calls.wait_for_selector("[data-testid=caller-facts]:not([hidden])")
    assert calls.evaluate("CT.called_before") in facts.inner_text()
    assert calls.input_value("[data-testid=number]") == "089-111-2222"
    call_id = int(calls.input_value("[data-testid=call-id]"))
    calls.fill("[data-testid=summary]", "สอบถามสิทธิผู้สูงอายุ")
    calls.check("[data-testid=action-close]")
    calls.select_option("[data-testid=outcome]", "advice_given")
    calls.click("[data-testid=submit-call]")
    calls.wait_for_function("() => document.querySelector('#form-message').textContent.length > 0 "
                            "&& document.querySelector('[data-testid=call-id]').value === ''")
    assert calls.locator("[data-testid=pop]").count() == 0
    assert calls.is_hidden("[data-testid=caller-facts]")

    engine = make_engine(served_db)
    session = make_sessionmaker(engine)()
    try:
        rows = session.scalars(select(Call).where(Call.number == "+66891112222")).all()
        assert [(c.id, c.outcome.value, c.reason.value) for c in rows] == [
            (call_id, "advice_given", "advice")]
        assert rows[0].taken_by_id is not None and rows[0].answered_at is not None
        assert rows[0].call_sid.startswith("CA") and rows[0].summary == "สอบถามสิทธิผู้สูงอายุ"
    finally:
        session.close()
        engine.dispose()
