/* Dispatcher desk: open incidents sorted by priority and age, live, with assignment. */
"use strict";
const incidents = new Map();
const teams = new Map();
const OPEN = ["new", "assigned", "acknowledged", "en_route", "on_scene"];
const PRIO = { P1: 1, P2: 2, P3: 3, P4: 4 };

function sorted() {
  return [...incidents.values()].sort((a, b) =>
    (PRIO[a.priority] - PRIO[b.priority]) || (a.created_at < b.created_at ? -1 : 1) || a.id - b.id);
}

function message(text, kind) {
  const m = document.getElementById("desk-message");
  m.textContent = text; m.className = "message " + (kind || "");
}

async function assign(incident, select) {
  if (!select.value) { message(T.choose_team, "error"); return; }
  const r = await api("POST", `/api/incidents/${incident.id}/assign`, { team_id: Number(select.value) });
  if (r.ok) {
    // The team's SMS are queued with the offer; one that cannot be delivered shows in the
    // "Messages not delivered" list (outbound.js) with the reason.
    message(`${incident.ref}: ${T.saved}`, "ok"); upsert(r.data); render();
  } else message(`${incident.ref}: ${r.data.error}`, "error");
}

async function cancelIncident(incident) {
  const reason = window.prompt(`${incident.ref}: ${T.cancel_reason}`);
  if (reason === null) return;
  const r = await api("POST", `/api/incidents/${incident.id}/cancel`, { reason });
  if (r.ok) { message(`${incident.ref}: ${T.saved}`, "ok"); upsert(r.data); render(); }
  else message(`${incident.ref}: ${(r.data.fields && r.data.fields.reason) || r.data.error}`, "error");
}

const DT = JSON.parse(document.getElementById("dispatch-text").textContent);

// A report whose reporter already has another open incident: the number only when the payload
// gives it (same province), else just the fact.
function sameReporter(inc) {
  const s = inc.same_reporter;
  if (!s) return null;
  return el("small", { class: "same-reporter", "data-testid": `same-reporter-${inc.id}` },
    s.ref ? DT.same_reporter.replace("%(ref)s", s.ref) : DT.same_reporter_other);
}

/* Where the incident came from (issue 14): the source, who referred it, the news item's link. */
function sourceLine(inc) {
  return el("small", { class: "incident-source", "data-testid": `source-${inc.id}` },
    label("source", inc.source), inc.source_org ? ` · ${inc.source_org}` : "",
    inc.source_link ? [" · ", el("a", { href: inc.source_link, target: "_blank",
      rel: "noopener noreferrer nofollow" }, Fusion.text.link)] : null);
}

/* Likely duplicates of each open incident (fusion.js), read again after the board changes. */
const duplicates = new Map();  // incident id -> [{incident_id, ref, reasons, ...}]
let duplicatesTimer = null;
function refreshDuplicates() {
  clearTimeout(duplicatesTimer);
  duplicatesTimer = setTimeout(async () => {
    const r = await api("GET", "/api/incidents/duplicates");
    if (!r.ok) return;
    duplicates.clear();
    for (const [id, items] of Object.entries(r.data)) duplicates.set(Number(id), items);
    render();
  }, 300);
}

function duplicateList(inc) {
  const items = (duplicates.get(inc.id) || []).filter((d) => incidents.has(d.incident_id));
  if (!items.length || !window.Fusion) return null;
  return el("div", { class: "duplicates", "data-testid": `duplicates-${inc.id}` },
    el("small", {}, Fusion.text.title, ":"),
    el("ul", {}, items.map((d) => Fusion.item(inc, d, (res) => {
      message(res.text, res.ok ? "ok" : "error");
      if (res.ok) { incidents.delete(res.dup.id); upsert(res.data); refreshDuplicates(); render(); }
    }))));
}

const reportCounts = new Map();  // incident id -> citizen reports gathered (ESS Help Me)
const suggestions = new Map();  // incident id -> [{team, distance_km, eta_minutes, ...}]
let suggestTimer = null;

async function loadSuggestions(ids) {
  for (const id of ids) {
    const r = await api("GET", `/api/incidents/${id}/recommendations`);
    if (r.ok) suggestions.set(id, r.data);
  }
  render();
}

function refreshSuggestions() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(() => loadSuggestions(
    [...incidents.values()].filter((i) => i.status === "new").map((i) => i.id)), 300);
}

function teamCell(inc) {
  if (inc.status !== "new") return el("span", {}, inc.team_name || "");
  const free = [...teams.values()].filter((t) => t.status === "available" && t.province_code === inc.province_code);
  if (!free.length) return el("span", { class: "muted" }, T.no_team);
  const suggested = (suggestions.get(inc.id) || []).filter((s) => free.some((t) => t.id === s.team.id));
  const rest = free.filter((t) => !suggested.some((s) => s.team.id === t.id));
  const ago = (iso) => Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
  const why = (s) => [s.team.name, fill(DT.km, { km: s.distance_km }),
    fill(DT.eta, { minutes: Math.round(s.eta_minutes) }), s.skill ? label("skill", s.skill) : null,
    plural(DT.seen, ago(s.last_seen))].filter(Boolean).join(" · ");
  const select = el("select", { "aria-label": T.choose_team, "data-testid": `team-select-${inc.id}` },
    el("option", { value: "" }, "—"),
    suggested.length ? el("optgroup", { label: T.suggested }, suggested.map((s) =>
      el("option", { value: s.team.id, "data-suggested": "1" }, why(s)))) : null,
    el("optgroup", { label: T.other_teams }, rest.map((t) => el("option", { value: t.id }, t.name))));
  return el("span", { class: "assign-cell" }, select,
    el("button", { class: "primary", "data-testid": `assign-${inc.id}`, onclick: () => assign(inc, select) }, T.assign));
}

function render() {
  const body = document.getElementById("incident-rows");
  const chosen = {};  // keep a half-made choice through live re-renders
  for (const sel of body.querySelectorAll("select")) chosen[sel.dataset.testid] = sel.value;
  body.replaceChildren(...sorted().map((inc) => el("tr",
    { class: `prio-row-${inc.priority} status-${inc.status}`, dataset: { id: inc.id, status: inc.status }, "data-testid": `incident-${inc.id}` },
    el("td", {}, el("span", { class: `prio-badge prio-${inc.priority}`, title: label("priority", inc.priority) }, label("priority_short", inc.priority))),
    el("td", {}, el("a", { href: `/desk/incidents/${inc.id}` }, el("strong", {}, inc.ref)),
      (reportCounts.get(inc.id) || 0) > 1 ? el("span", { class: "count", "data-testid": `reports-${inc.id}` },
        ` ${reportCounts.get(inc.id)} ${T.reports}`) : null, el("br"),
      el("small", {}, inc.summary), el("br"), sourceLine(inc),
      inc.same_reporter ? el("br") : null, sameReporter(inc), duplicateList(inc)),
    el("td", {}, label("category", inc.category)),
    el("td", {}, inc.place_unknown ? [el("strong", { class: "place-unknown-badge",
      "data-testid": `place-unknown-${inc.id}` }, DT.place_unknown), el("br")] : null,
    placeName(inc), el("br"), el("small", {}, label("precision", inc.precision))),
    el("td", { "data-testid": `status-${inc.id}` }, label("status", inc.status)),
    el("td", { class: "wait", dataset: { since: inc.created_at, until: inc.dispatched_at || "" } }),
    el("td", {}, teamCell(inc), inc.status !== "on_scene" ? el("button", { class: "link cancel-incident",
      "data-testid": `cancel-${inc.id}`, onclick: () => cancelIncident(inc) }, T.cancel) : null))));
  for (const sel of body.querySelectorAll("select")) {
    if (chosen[sel.dataset.testid]) sel.value = chosen[sel.dataset.testid];
  }
  document.getElementById("open-count").textContent = incidents.size;
  tick();
  renderTeamList(document.getElementById("team-list"), teams.values());
  // A team clearing after a job: the dispatcher can make it available (e.g. it phoned in).
  for (const t of teams.values()) {
    if (t.status !== "clearing") continue;
    document.querySelector(`#team-list [data-testid="team-${t.id}"]`)?.append(" ", el("button", {
      type: "button", "data-testid": `make-available-${t.id}`, onclick: async () => {
        const r = await api("POST", `/api/teams/${t.id}/availability`, { available: true });
        if (r.ok) { teams.set(r.data.id, r.data); message(`${t.name}: ${T.saved}`, "ok"); render(); }
        else message(`${t.name}: ${r.data.error || T.error}`, "error");
      } }, DT.make_available));
  }
}

function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll("td.wait")) {
    const end = cell.dataset.until ? Date.parse(cell.dataset.until) : now;
    cell.textContent = fmtWait((end - Date.parse(cell.dataset.since)) / 1000);
    cell.classList.toggle("stopped", Boolean(cell.dataset.until));
  }
}

function upsert(inc) {
  const known = incidents.get(inc.id);
  if (known && known.updated_at > inc.updated_at) return;
  if (OPEN.includes(inc.status)) incidents.set(inc.id, inc); else incidents.delete(inc.id);
}

Live.start({
  onState(state) {
    incidents.clear(); teams.clear();
    state.incidents.forEach(upsert);
    state.teams.forEach((t) => teams.set(t.id, t));
    render();
    refreshSuggestions();
    refreshDuplicates();
    loadReportCounts(state.incidents.filter((i) => i.source !== "hotline").map((i) => i.id));
  },
  onEvent(name, data) {
    if (name === "team.updated") teams.set(data.id, data);
    else if (name === "incident.reports") reportCounts.set(data.incident_id, data.report_count);
    else upsert(data);
    render();
    if (name !== "incident.updated" || data.status === "new") refreshSuggestions();
    if (name === "incident.created" || (name === "incident.updated" && !OPEN.includes(data.status))) {
      refreshDuplicates();
    }
  },
}, ["incident.created", "incident.updated", "team.updated", "incident.reports"]);

async function loadReportCounts(ids) {
  for (const id of ids) {
    const r = await api("GET", `/api/incidents/${id}/reports`);
    if (r.ok) reportCounts.set(id, r.data.report_count);
  }
  render();
}
setInterval(tick, 1000);
