"""The incident page's script (static/js/incident_detail.js) under Node: the page follows its own
incident live (issue 14). Events about other incidents change nothing; a burst of events about
this one reads the page's parts again once and swaps those that changed (status, timeline),
with a notice; every (re)connect reads them again (events may have been missed); the page asks
for no room of its own (it listens to the rooms the server joined it to)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "static" / "js" / "incident_detail.js"

HARNESS = r"""
const vm = require("vm");
globalThis.window = globalThis;
window.location = { pathname: "/desk/incidents/7" };
window.confirm = () => true;
const fetches = [], apis = [], replaced = [];
let server = { status: { html: "new", status: "new" }, timeline: { html: "<li>created</li>" },
               reports: { html: "" } };
function node(live, part) {
  return { dataset: { live, status: part.status }, outerHTML: `${live}:${part.html}`,
           replaceWith(other) { parts[live] = other; replaced.push(live); } };
}
const parts = {};
for (const [live, part] of Object.entries(server)) parts[live] = node(live, part);
const boxes = {};
const box = (id) => (boxes[id] = boxes[id] || { id, hidden: true, textContent: "", className: "",
                                                  replaceChildren() {} });
globalThis.document = {
  getElementById(id) {
    if (id === "incident-data") return { textContent: JSON.stringify({ id: 7, ref: "65-2569-000007",
      created_at: "2026-12-02T01:00:00+00:00", status: "new", changed: "CHANGED" }) };
    return box(id);
  },
  querySelector(sel) {
    const m = /data-live="([^"]+)"/.exec(sel);
    return m ? parts[m[1]] || null : null;
  },
  addEventListener() {},
  importNode(n) { return n; },
};
globalThis.DOMParser = class {
  parseFromString(text) {
    const fresh = JSON.parse(text);
    const nodes = Object.entries(fresh).map(([live, part]) => node(live, part));
    return { querySelectorAll: () => nodes };
  }
};
globalThis.fetch = async (url, opts) => {
  fetches.push(url);
  return { ok: true, redirected: false, url, text: async () => JSON.stringify(server) };
};
globalThis.api = async (method, url) => {
  apis.push(url);
  return { ok: true, data: { duplicates: [] } };
};
globalThis.T = { error: "error" };
globalThis.fill = (p) => p;
globalThis.label = (g, v) => v;
globalThis.Live = { start(handlers, names) { this.handlers = handlers; this.names = names; },
                    endSession() {} };
vm.runInThisContext(require("fs").readFileSync(process.argv[1], "utf8"));
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const out = { names: Live.names };
  Live.handlers.onState({});
  await wait(100);
  out.after_state = fetches.length;
  out.replaced_first = replaced.length;
  Live.handlers.onEvent("incident.updated", { id: 8, status: "assigned" });
  Live.handlers.onEvent("incident.reports", { incident_id: 8, report_count: 2 });
  Live.handlers.onEvent("alarm.changed", { incident_id: 8 });
  await wait(400);
  out.after_others = fetches.length;
  server = { status: { html: "assigned", status: "assigned" },
             timeline: { html: "<li>created</li><li>assigned</li>" }, reports: { html: "" } };
  for (let i = 0; i < 3; i++) {
    Live.handlers.onEvent("incident.updated", { id: 7, status: "assigned" });
  }
  await wait(400);
  out.after_burst = fetches.length;
  out.replaced = replaced.slice();
  out.notice = boxes["incident-notice"] ? boxes["incident-notice"].textContent : "";
  out.status = vm.runInThisContext("INCIDENT.status");
  Live.handlers.onEvent("incident.reports", { incident_id: 7, report_count: 2 });
  await wait(400);
  Live.handlers.onEvent("alarm.changed", { incident_id: 7 });
  await wait(400);
  out.after_reports_and_alarm = fetches.length;
  out.replaced_after = replaced.length;
  Live.handlers.onState({});  // a reconnect that had to load the board again
  await wait(100);
  out.after_reconnect = fetches.length;
  // Marked not a duplicate (or a merge split again): only a pair holding this incident counts.
  Live.handlers.onEvent("incident.not_duplicate", { incident_ids: [3, 8] });
  await wait(400);
  out.after_other_pair = fetches.length;
  Live.handlers.onEvent("incident.not_duplicate", { incident_ids: [7, 8] });
  await wait(400);
  out.after_own_pair = fetches.length;
  out.urls = [...new Set(fetches)];
  out.apis = [...new Set(apis)];
  process.stdout.write(JSON.stringify(out));
})();
"""


def test_the_incident_page_follows_its_own_incident_live():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("Node.js is not installed (the browser tests run the same script)")
    done = subprocess.run([node, "-e", HARNESS, str(SCRIPT)], capture_output=True, text=True,
                          timeout=30, check=True)
    out = json.loads(done.stdout)
    assert out["names"] == ["incident.updated", "incident.reports", "alarm.changed",
                            "incident.not_duplicate"]
    assert out["after_state"] == 1 and out["replaced_first"] == 0  # nothing changed yet
    assert out["after_others"] == 1  # other incidents' events: nothing read
    assert out["after_burst"] == 2  # three events, one read
    assert out["replaced"] == ["status", "timeline"] and out["notice"] == "CHANGED"
    assert out["status"] == "assigned"
    assert out["after_reports_and_alarm"] == 4 and out["replaced_after"] == 2
    assert out["after_reconnect"] == 5
    assert out["after_other_pair"] == 5 and out["after_own_pair"] == 6
    assert out["urls"] == ["/desk/incidents/7"]  # its own page, nothing else
    assert out["apis"] == []  # no duplicates list without fusion.js (not loaded here)
