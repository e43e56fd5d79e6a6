"""Pure telephony logic: numbers and lines, flag rules, and the providers (no network)."""

from __future__ import annotations

import pytest

from dispatch.models import Incident
from telephony.enums import FlagLevel
from telephony.models import CallerFlag
from telephony.providers import SimulatorProvider, TwilioProvider, make_provider
from telephony.service import (
    CallerContext,
    carrier_number,
    parse_number_map,
    province_for_line,
    queue_name,
)
from tests.telephony_fakes import ACCOUNT, Recorder


def test_numbers_as_the_carrier_sends_them():
    assert carrier_number("+66812345678") == "+66812345678"
    assert carrier_number("0812345678") == "+66812345678"
    assert carrier_number("+14155550100") == "+14155550100"  # foreign numbers are kept
    for withheld in ("anonymous", "", None, "restricted", "+", "266696687x"):
        assert carrier_number(withheld) is None


def test_lines_map_to_province_queues():
    mapping = parse_number_map("055-123-456=65, 053123456=50,junk,=1,0812345678=")
    assert mapping == {"+6655123456": "65", "+6653123456": "50"}
    assert province_for_line(called="+6655123456", mapping=mapping, default="10") == "65"
    assert province_for_line(called="+6621111111", mapping=mapping, default="10") == "10"
    assert province_for_line(called=None, mapping=mapping, default="") is None
    assert queue_name(province_code="65", level=None) == "65"
    assert queue_name(province_code="65", level=FlagLevel.LOW_PRIORITY) == "65-low"
    assert queue_name(province_code=None, level=FlagLevel.SUPERVISOR) == "national-supervisors"
    assert queue_name(province_code="65", level=FlagLevel.WARN) == "65"


def flags(*levels: FlagLevel) -> list[CallerFlag]:
    return [CallerFlag(number="+66812345678", level=level, reason="r") for level in levels]


def test_the_strongest_nuisance_level_applies_unless_protected():
    ctx = CallerContext(number="+66812345678", flags=flags(FlagLevel.WARN,
                                                           FlagLevel.LOW_PRIORITY))
    assert ctx.applied_level is FlagLevel.LOW_PRIORITY and ctx.protected_because == []
    ctx.flags += flags(FlagLevel.SUPERVISOR)
    assert ctx.applied_level is FlagLevel.SUPERVISOR
    ctx.open_incidents = [Incident(id=1)]
    assert ctx.applied_level is None and ctx.nuisance_level is FlagLevel.SUPERVISOR
    assert ctx.protected_because == ["open_incident"]
    at_risk = CallerContext(number="x", flags=flags(FlagLevel.LOW_PRIORITY, FlagLevel.AT_RISK))
    assert at_risk.applied_level is None and at_risk.protected_because == ["at_risk"]
    assert CallerContext(number=None).applied_level is None


def test_simulator_never_reaches_a_network():
    sim = SimulatorProvider(fail_numbers={"+66800000000"})
    ok = sim.send_sms("+66812345678", "hello")
    failed = sim.call_back("+66800000000", twiml="<Response/>")
    assert ok.ok and ok.sid.startswith("SIM") and not failed.ok and failed.error
    assert [(m["kind"], m["to"]) for m in sim.sent] == [("sms", "+66812345678"),
                                                         ("call", "+66800000000")]
    assert sim.webhook_token not in repr(sim)


def test_provider_choice_follows_config():
    assert isinstance(make_provider({"TELEPHONY_PROVIDER": "simulator"}), SimulatorProvider)
    assert make_provider({"SIMULATOR_AUTH_TOKEN": "t"}).webhook_token == "t"
    twilio = make_provider({"TELEPHONY_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT,
                            "TWILIO_AUTH_TOKEN": "tok", "TWILIO_NUMBER": "+6621234567"})
    assert isinstance(twilio, TwilioProvider) and twilio.webhook_token == "tok"


def test_config_switches_to_twilio_only_with_all_three(monkeypatch):
    from console.config import load_config

    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "tok")
    assert load_config()["TELEPHONY_PROVIDER"] == "simulator"
    monkeypatch.setenv("TWILIO_NUMBER", "+6621234567")
    assert load_config()["TELEPHONY_PROVIDER"] == "twilio"


@pytest.fixture
def recorder():
    rec = Recorder()
    yield rec
    rec.close()


def test_twilio_client_requests_go_to_the_loopback_server(recorder):
    provider = TwilioProvider(account_sid=ACCOUNT, auth_token="tok", number="+6621234567",
                              base_url=recorder.url)
    sms = provider.send_sms("+66812345678", "ทดสอบ")
    call = provider.call_back("+66812345678", twiml_url="https://example.org/twiml")
    recorder.fail_to.add("+66800000000")
    failed = provider.send_sms("+66800000000", "x")
    assert sms.ok and sms.sid.startswith("SM") and call.ok and call.sid.startswith("CA")
    assert not failed.ok and "21211" in failed.error
    paths = [r["path"] for r in recorder.requests]
    assert paths == [f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
                     f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json",
                     f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"]
    assert recorder.requests[0]["form"] == {"To": "+66812345678", "From": "+6621234567",
                                            "Body": "ทดสอบ"}
    assert recorder.requests[1]["form"]["Url"] == "https://example.org/twiml"


def test_an_unreachable_api_is_a_failed_result():
    provider = TwilioProvider(account_sid=ACCOUNT, auth_token="tok", number="+6621234567",
                              base_url="http://127.0.0.1:9")
    result = provider.send_sms("+66812345678", "x")
    assert not result.ok and result.status == "failed" and result.error

