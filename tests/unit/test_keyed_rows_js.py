"""The live boards' keyed rows (KeyedRows in static/js/console.js) under Node (issue 14: a bad
day's board of 1,000 open incidents must stay fast). Random puts, moves and removals keep the
container's children in the board's sort order, a changed row replaces only its own node (the
others stay the very same nodes, nothing re-sorted or rebuilt), and a put costs one DOM write."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "static" / "js" / "console.js"

HARNESS = r"""
const src = require("fs").readFileSync(process.argv[1], "utf8");
let writes = 0;
class FakeNode {
  constructor(name) { this.name = name; this.parentNode = null; }
  remove() { if (this.parentNode) { this.parentNode.drop(this); writes++; } }
  replaceWith(other) {
    const p = this.parentNode, i = p.children.indexOf(this);
    p.children[i] = other; other.parentNode = p; this.parentNode = null; writes++;
  }
}
class FakeContainer {
  constructor() { this.children = []; }
  drop(n) { this.children.splice(this.children.indexOf(n), 1); n.parentNode = null; }
  insertBefore(n, ref) {
    if (n.parentNode) n.parentNode.drop(n);
    const i = ref ? this.children.indexOf(ref) : this.children.length;
    if (i < 0) throw new Error("reference node is not a child");
    this.children.splice(i, 0, n); n.parentNode = this; writes++;
  }
  replaceChildren(...nodes) {
    for (const n of this.children) n.parentNode = null;
    this.children = nodes; for (const n of nodes) n.parentNode = this; writes++;
  }
}
// Only the class itself: the rest of console.js needs a page.
const code = src.slice(src.indexOf("class KeyedRows"),
                       src.indexOf("/* The province's teams as a status list kept"));
const KeyedRows = new Function(code + "; return KeyedRows;")();
const PRIO = { P1: 1, P2: 2, P3: 3, P4: 4 };
const order = (a, b) => (PRIO[a.priority] - PRIO[b.priority])
  || (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0) || a.id - b.id;
let seed = 7;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const two = (n) => String(n).padStart(2, "0");
const make = (id) => ({ id, priority: "P" + (1 + rnd(4)),
                        created_at: `2026-12-02T0${rnd(3)}:${two(rnd(60))}:00` });
const box = new FakeContainer();
const rows = new KeyedRows(box, order);
const model = new Map();
const out = { ok: true, problems: [] };
const start = [];
for (let id = 1; id <= 1000; id++) {
  const inc = make(id);
  model.set(id, inc);
  start.push({ key: id, item: inc, node: new FakeNode(id) });
}
rows.reset(start);
writes = 0;
let puts = 0, maxWrites = 0, untouchedKept = true;
for (let step = 0; step < 3000; step++) {
  const op = rnd(10), id = 1 + rnd(1200);
  const before = new Map(box.children.map((n) => [n.name, n]));
  const w0 = writes;
  if (op < 2) { rows.remove(id); model.delete(id); }
  else {
    const inc = op < 6 && model.has(id) ? { ...model.get(id), status: "assigned" } : make(id);
    model.set(id, inc); rows.set(id, inc, new FakeNode(id)); puts++;
  }
  maxWrites = Math.max(maxWrites, writes - w0);
  for (const n of box.children) {
    if (n.name !== id && before.get(n.name) !== n) untouchedKept = false;
  }
  const want = [...model.values()].sort(order).map((i) => i.id);
  const got = box.children.map((n) => n.name);
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(want, got)) { out.ok = false; out.problems.push(step); break; }
  if (!same(rows.keys(), want)) { out.ok = false; out.problems.push("keys " + step); break; }
}
out.puts = puts; out.maxWrites = maxWrites; out.untouchedKept = untouchedKept; out.size = rows.size;
out.modelSize = model.size;
process.stdout.write(JSON.stringify(out));
"""


def test_keyed_rows_keep_the_board_order_and_touch_only_the_changed_row():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("Node.js is not installed (the browser tests run the same script)")
    done = subprocess.run([node, "-e", HARNESS, str(CONSOLE)], capture_output=True, text=True,
                          timeout=60, check=True)
    out = json.loads(done.stdout)
    assert out["ok"], out["problems"]
    assert out["puts"] > 1000 and out["size"] == out["modelSize"]
    assert out["untouchedKept"]  # no other row was rebuilt
    assert out["maxWrites"] <= 2  # a move: remove and insert; a change in place: one replace


def test_the_desks_update_one_row_per_event_and_never_rebuild_the_board():
    """The dispatcher and supervisor scripts draw the whole board only on a (re)load."""
    js = Path(__file__).resolve().parents[2] / "static" / "js"
    dispatch = (js / "dispatch.js").read_text(encoding="utf-8")
    supervisor = (js / "supervisor.js").read_text(encoding="utf-8")
    on_event = dispatch[dispatch.index("onEvent(name, data) {"):]
    on_event = on_event[:on_event.index("\n  },")]
    assert "renderAll" not in on_event and ".sort(" not in on_event
    assert "renderTeamList" not in dispatch and "renderTeamList" not in supervisor
    # Before the (re)load's renderAll, the only wholesale replace is the lazily filled team list.
    assert re.findall(r"\w+\.replaceChildren", dispatch.split("function renderAll")[0]) == [
        "others.replaceChildren"]


TEAMS_HARNESS = r"""
const src = require("fs").readFileSync(process.argv[1], "utf8");
class FakeNode {
  constructor(text) { this.text = text; this.parentNode = null; }
  remove() { if (this.parentNode) this.parentNode.drop(this); }
  replaceWith(other) {
    const p = this.parentNode, i = p.children.indexOf(this);
    p.children[i] = other; other.parentNode = p; this.parentNode = null;
  }
}
class FakeList {
  constructor() { this.children = []; }
  drop(n) { this.children.splice(this.children.indexOf(n), 1); n.parentNode = null; }
  append(n) { this.insertBefore(n, null); }
  insertBefore(n, ref) {
    if (n.parentNode) n.parentNode.drop(n);
    const i = ref ? this.children.indexOf(ref) : this.children.length;
    this.children.splice(i, 0, n); n.parentNode = this;
  }
  replaceChildren(...nodes) {
    for (const n of this.children) n.parentNode = null;
    this.children = nodes; for (const n of nodes) n.parentNode = this;
  }
}
// A node's text: what the list shows (el() and label() of a page, reduced to text).
const el = (tag, attrs, ...children) => new FakeNode(children.flat()
  .map((c) => (c instanceof FakeNode ? c.text : String(c ?? ""))).join(""));
const label = (group, value) => value;
const code = src.slice(src.indexOf("class KeyedRows"), src.indexOf("function el(tag"));
const TeamRows = new Function("el", "label", code + "; return TeamRows;")(el, label);
const list = new FakeList();
const rows = new TeamRows(list, null, "no teams");
const texts = () => list.children.map((n) => n.text);
const out = {};
rows.reset([]);
out.empty = texts();
rows.set({ id: 2, name: "ทีม ข", status: "available" });
out.first = texts();
rows.reset([{ id: 1, name: "ทีม ก", status: "available" },
            { id: 2, name: "ทีม ข", status: "en_route" },
            { id: 3, name: "ทีม ค", status: "available" }]);
const kept = list.children[0], last = list.children[2];
rows.set({ id: 2, name: "ทีม ข", status: "on_scene" });
out.changed = texts();
out.othersKept = list.children[0] === kept && list.children[2] === last;
rows.set({ id: 4, name: "ทีม กข", status: "available" });
out.added = texts();
process.stdout.write(JSON.stringify(out));
"""


def test_team_rows_keep_the_list_in_place_and_say_when_there_is_none():
    """TeamRows (the dispatcher's, supervisor's and call-taker's team lists): a team's change
    replaces only its own item, a new team goes to its place by name, and the empty text shows
    only while the province has no team."""
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("Node.js is not installed (the browser tests run the same script)")
    done = subprocess.run([node, "-e", TEAMS_HARNESS, str(CONSOLE)], capture_output=True,
                          text=True, timeout=60, check=True)
    out = json.loads(done.stdout)
    assert out["empty"] == ["no teams"]
    assert out["first"] == ["ทีม ข · available"]
    assert out["changed"] == ["ทีม ก · available", "ทีม ข · on_scene", "ทีม ค · available"]
    assert out["othersKept"]
    assert out["added"] == ["ทีม ก · available", "ทีม กข · available", "ทีม ข · on_scene",
                            "ทีม ค · available"]


def test_the_call_takers_team_list_is_kept_in_place_too():
    """calls.js uses the same TeamRows as the other desks: no wholesale redraw per event."""
    js = Path(__file__).resolve().parents[2] / "static" / "js"
    calls = (js / "calls.js").read_text(encoding="utf-8")
    console = (js / "console.js").read_text(encoding="utf-8")
    assert "new TeamRows(" in calls and "renderTeamList" not in calls
    assert "function renderTeamList" not in console
    on_event = calls[calls.index("onEvent(name, data) {"):]
    assert "teamRows.set(data)" in on_event[:on_event.index("\n  },")]


def test_the_alarm_banner_changes_one_item_per_alarm_event():
    """alarms.js keeps its banner in KeyedRows: a raised or handled alarm changes only its own
    item (a bad day's banner holds hundreds); the whole banner is drawn only on a (re)load."""
    js = Path(__file__).resolve().parents[2] / "static" / "js"
    alarms = (js / "alarms.js").read_text(encoding="utf-8")
    assert "new KeyedRows(" in alarms and ".replaceChildren" not in alarms
    on_event = alarms[alarms.index('addEventListener("live:alarm.changed"'):]
    on_event = on_event[:on_event.index("\n});")]
    assert "drawAlarm(a)" in on_event and "renderAlarms" not in on_event
