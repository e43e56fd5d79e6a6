"""The subsidy scripts under Node (no browser): a case page's subsidy list and the supervisors'
subsidy desk follow subsidy.updated live, in place, without a page reload."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[2] / "static" / "js"


def node(harness: list[str]) -> dict:
    binary = shutil.which("node") or shutil.which("nodejs")
    if not binary:
        pytest.skip("Node.js is not installed (the browser tests run the same scripts)")
    out = subprocess.run([binary, "-e", "\n".join(harness)], capture_output=True, text=True,
                         timeout=30, check=True)
    return json.loads(out.stdout)


def test_the_case_page_reloads_its_subsidies_for_its_own_case_once_per_burst():
    events = [{"id": 1, "case_id": 7, "status": "pending"},
              {"id": 1, "case_id": 7, "status": "approved"},
              {"id": 2, "case_id": 8, "status": "paid"}]
    out = node([
        "globalThis.window = globalThis; const handlers = {};",
        "window.addEventListener = (name, fn) => { handlers[name] = fn; };",
        "const gets = []; let rows = 0;",
        "globalThis.api = async (method, url) => { gets.push(`${method} ${url}`);",
        "  return { ok: true, data: { items: [], budget_lines: [] } }; };",
        "globalThis.el = () => ({}); globalThis.label = (g, v) => v;",
        "const node = { addEventListener() {}, replaceChildren() { rows += 1; } };",
        "globalThis.document = { getElementById: (id) => (id === 'subsidy-data'",
        "  ? { textContent: JSON.stringify({ case_id: 7, text: {} }) }",
        "  : id === 'subsidy-form' ? null : id === 'subsidy-budget-line' ? null : node) };",
        f"eval(require('fs').readFileSync({json.dumps(str(JS / 'case_subsidies.js'))}, 'utf8'));",
        f"for (const detail of {json.dumps(events)})",
        "  handlers['live:subsidy.updated']({ detail });",
        "setTimeout(() => process.stdout.write(JSON.stringify({ gets, rows })), 500);",
    ])
    # The first load, then one more for the two events of case 7; case 8's is not this page's.
    assert out["gets"] == ["GET /api/cases/7/subsidies"] * 2 and out["rows"] == 2


def test_the_subsidy_desk_reads_itself_again_and_swaps_its_tables_in_place():
    out = node([
        "globalThis.window = globalThis; window.location = { href: '/desk/subsidies?year=2569' };",
        "let live = null; const fetched = []; const swapped = [];",
        "globalThis.Live = { start(handlers, names) { live = { handlers, names }; } };",
        "globalThis.fetch = async (url, opts) => { fetched.push([url, opts.headers.Accept]);",
        "  return { ok: true, text: async () => '<html></html>' }; };",
        "globalThis.DOMParser = class { parseFromString() { return {",
        "  querySelector: (sel) => ({ fresh: sel }) }; } };",
        "globalThis.document = { importNode: (n) => n, querySelector: (sel) => ({",
        "  replaceWith: (n) => swapped.push([sel, n.fresh]) }) };",
        f"eval(require('fs').readFileSync({json.dumps(str(JS / 'subsidies.js'))}, 'utf8'));",
        "live.handlers.onState({});",  # the first state: the page is already current
        "live.handlers.onEvent('subsidy.updated', { id: 1 });",
        "live.handlers.onEvent('subsidy.updated', { id: 2 });",
        "setTimeout(() => process.stdout.write(JSON.stringify({ names: live.names, fetched,",
        "  swapped })), 600);",
    ])
    assert out["names"] == ["subsidy.updated"]
    assert out["fetched"] == [["/desk/subsidies?year=2569", "text/html"]]
    assert [s[0] for s in out["swapped"]] == ['[data-testid="subsidies-waiting"] tbody',
                                              '[data-testid="subsidy-totals"] tbody']
