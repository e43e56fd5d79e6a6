"""The case page's script (static/js/case_handover.js) under Node: an old-province user with the
case open is told live that the case has left the province (the case.transfer event)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "static" / "js" / "case_handover.js"


def run(user_province: str, events: list[dict]) -> dict:
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("Node.js is not installed (the browser tests run the same script)")
    harness = "\n".join([
        "globalThis.window = globalThis; const handlers = {};",
        "window.addEventListener = (name, fn) => { handlers[name] = fn; };",
        "globalThis.Live = { extraNames: ['alarm.changed'] };",
        "globalThis.CASE = { id: 7, text: { changed: 'changed' } };",
        "globalThis.PAGE = { lang: 'th' }; globalThis.T = {};",
        "let notices = 0; globalThis.showNotice = () => { notices += 1; };",
        "const buttons = [{ disabled: false }, { disabled: false }];",
        "const left = { hidden: true, textContent: '', dataset: {",
        "  text: 'เคสนี้โอนไป{p}แล้ว และไม่อยู่ในจังหวัดของท่านอีกต่อไป',",
        f"  province: {json.dumps(user_province)} }} }};",
        "globalThis.document = { getElementById: (id) => (id === 'case-left' ? left : null),",
        "  querySelectorAll: () => buttons };",
        f"eval(require('fs').readFileSync({json.dumps(str(SCRIPT))}, 'utf8'));",
        f"for (const [name, detail] of {json.dumps([[e.pop('name'), e] for e in events])})",
        "  handlers[`live:${name}`]({ detail });",
        "process.stdout.write(JSON.stringify({ names: Live.extraNames, hidden: left.hidden,",
        "  text: left.textContent, disabled: buttons.every((b) => b.disabled), notices }));",
    ])
    out = subprocess.run([node, "-e", harness], capture_output=True, text=True, timeout=30,
                         check=True)
    return json.loads(out.stdout)


ACCEPTED = {"name": "case.transfer", "case_id": 7, "status": "accepted", "to_province": "50",
            "to_place": {"province_th": "เชียงใหม่", "province_en": "Chiang Mai"}}


def test_the_old_province_is_told_the_case_left():
    out = run("65", [dict(ACCEPTED)])
    assert out["names"] == ["alarm.changed", "case.transfer", "case.handover"]
    assert out["hidden"] is False and out["disabled"] is True
    assert out["text"] == "เคสนี้โอนไปเชียงใหม่แล้ว และไม่อยู่ในจังหวัดของท่านอีกต่อไป"


def test_other_cases_steps_and_the_receiving_province_are_not_told():
    out = run("65", [dict(ACCEPTED, case_id=8), dict(ACCEPTED, status="pending"),
                     dict(ACCEPTED, status="declined"),
                     {"name": "case.handover", "case_id": 7, "status": "pending"}])
    assert out["hidden"] is True and out["disabled"] is False and out["notices"] == 1
    assert run("50", [dict(ACCEPTED)])["hidden"] is True  # the case arrived there
    assert run("", [dict(ACCEPTED)])["hidden"] is True  # national users still see it


DESK = Path(__file__).resolve().parents[2] / "static" / "js" / "case_handovers.js"


def test_the_desk_lists_offers_to_me_live_and_drops_answered_ones():
    """case_handovers.js: a pending offer to me appears in "Cases offered to me"; one to
    someone else does not; an answered or withdrawn one leaves the list, which then hides."""
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("Node.js is not installed (the browser tests run the same script)")
    offer = {"id": 3, "case_id": 7, "case_ref": "C-7", "to_user_id": 5, "status": "pending",
             "version": 1, "offered_by_name": "นภา", "category": "elderly", "summary": "s",
             "note": "ฝากดูแล"}
    steps = [offer, dict(offer, id=4, to_user_id=6), dict(offer, status="accepted")]
    harness = "\n".join([
        "globalThis.window = globalThis; const handlers = {}; const seen = [];",
        "window.addEventListener = (name, fn) => { handlers[name] = fn; };",
        "globalThis.Live = {}; globalThis.PAGE = { lang: 'th' }; globalThis.label = (g, v) => v;",
        "const rows = [];",
        "const tbody = { append: (r) => rows.push(r) };",
        "const box = { hidden: true, dataset: { me: '5', accept: 'รับเคส', decline: 'x' },",
        "  addEventListener() {} };",
        "globalThis.el = (tag, attrs, ...kids) => ({ tag, attrs, kids,",
        "  remove() { rows.splice(rows.indexOf(this), 1); } });",
        "globalThis.document = {",
        "  getElementById: (id) => (id === 'offered-to-me' ? box : tbody),",
        "  querySelector: (sel) => {",
        "    const m = sel.match(/data-handover-id=\"(\\d+)\"/);",
        "    if (m) return rows.find((r) => String(r.attrs.dataset.handoverId) === m[1]) || null;",
        "    return rows[0] || null; } };",
        f"eval(require('fs').readFileSync({json.dumps(str(DESK))}, 'utf8'));",
        f"for (const detail of {json.dumps(steps)}) {{",
        "  handlers['live:case.handover']({ detail });",
        "  seen.push([rows.map((r) => r.attrs.dataset.handoverId), box.hidden]); }",
        "process.stdout.write(JSON.stringify({ names: Live.extraNames, seen }));",
    ])
    out = json.loads(subprocess.run([node, "-e", harness], capture_output=True, text=True,
                                    timeout=30, check=True).stdout)
    assert out["names"] == ["case.handover"]
    assert out["seen"] == [[[3], False], [[3], False], [[], True]]
