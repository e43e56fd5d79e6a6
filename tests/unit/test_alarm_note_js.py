"""The alarm banner's note (static/js/alarms.js under Node, on console.js's formatters): a short
shift's alarm is written from its facts in the page's language, English or Thai, as the SMS
is (dispatch/flows.alarm_note); an older alarm's note as it was written; an alarm that went to
every supervisor of the province says so (issue 14)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from console.config import BASE_DIR

SCRIPTS = BASE_DIR / "static" / "js"
FACTS = {"shift_id": 7, "starts_at": "2026-12-03T09:30:00+00:00",
         "ends_at": "2026-12-04T01:30:00+00:00", "short": {"call_taker": 1, "dispatcher": 2}}


@pytest.fixture(scope="module")
def babel_app():
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(BASE_DIR / "console" / "translations")
    Babel(app)
    with app.test_request_context():
        yield app


def run_alarms_js(lang: str, alarms: dict[str, dict]) -> dict:
    from console.labels import date_formats, labels_json

    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("Node.js is not installed")
    with force_locale(lang):
        page = {"labels": labels_json(), "lang": lang, "dates": date_formats(lang),
                "user": None, "text": {}}
    harness = "\n".join([
        f"const PAGE_JSON = {json.dumps(json.dumps(page))};",
        "globalThis.window = globalThis; globalThis.addEventListener = () => {};",
        "globalThis.setInterval = () => 0;",
        "globalThis.document = { getElementById: () => ({ textContent: PAGE_JSON }),",
        "  querySelector: () => ({ content: '', addEventListener() {} }), addEventListener() {} };",
        "const read = (name) => require('fs').readFileSync("
        f"require('path').join({json.dumps(str(SCRIPTS))}, name), 'utf8');",
        f"const __alarms = {json.dumps(alarms)};",
        "eval(read('console.js') + '\\n' + read('alarms.js') + '\\n;globalThis.__out = ' +",
        "  'Object.fromEntries(Object.entries(__alarms).map(([k, a]) => [k, [alarmNote(a),' +",
        "  ' a.facts && a.facts.sent_to_all ? label(\"alarm_sent_to_all\", a.facts.sent_to_all)' +",
        "  ' : null]]));');",
        "process.stdout.write(JSON.stringify(globalThis.__out));",
    ])
    out = subprocess.run([node, "-e", harness], capture_output=True, text=True, timeout=30,
                         check=True)
    return json.loads(out.stdout)


ALARMS = {
    "short": {"kind": "roster_short", "note": "", "facts": FACTS},
    "to_all": {"kind": "roster_short", "note": "",
               "facts": {**FACTS, "short": {"supervisor": 1}, "sent_to_all": "nobody_on_duty"}},
    "old": {"kind": "roster_short", "note": "เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้รับแจ้ง 1 คน",
            "facts": {}},
    "sos": {"kind": "sos", "note": "help", "facts": {"sent_to_all": "no_phone"}},
}


def test_the_banner_writes_the_short_shift_in_english(babel_app):
    out = run_alarms_js("en", ALARMS)
    assert out["short"] == ["Shift of 3 Dec 2569 BE, 16:30–08:30, is short of people: "
                            "Call-taker: 1, Dispatcher: 2", None]
    assert out["to_all"] == [
        "Shift of 3 Dec 2569 BE, 16:30–08:30, is short of people: Supervisor on duty: 1",
        "No supervisor is on duty by the roster now: sent to every supervisor of the province"]
    assert out["old"][0] == ALARMS["old"]["note"]
    assert out["sos"] == ["help", "The supervisor on duty has no phone number for SMS: sent to "
                                  "every supervisor of the province"]


def test_the_banner_writes_the_short_shift_in_thai(babel_app):
    out = run_alarms_js("th", ALARMS)
    assert out["short"] == ["เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้รับแจ้ง 1 คน ผู้สั่งการ 2 คน",
                            None]
    assert out["to_all"] == [
        "เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดหัวหน้าเวร 1 คน",
        "ขณะนี้ไม่มีหัวหน้าเวรที่อยู่เวรตามตารางเวร จึงแจ้งหัวหน้าเวรทุกคนของจังหวัด"]
    assert out["old"][0] == ALARMS["old"]["note"]
