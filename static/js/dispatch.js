/* Dispatcher desk: open incidents sorted by priority and age, live, with assignment. Each event
   changes only its own row (keyed by incident id, put at its place by binary search: KeyedRows in
   console.js) and its team's item, so the board stays fast with 1,000 open incidents (issue 14). */
"use strict";
const incidents = new Map();
const teams = new Map();
const freeTeams = new Map();  // province code -> Map(team id -> available team)
let teamsVersion = 0;         // bumped on every team change: lazily filled team lists refill
const OPEN = ["new", "assigned", "acknowledged", "en_route", "on_scene"];
const PRIO = { P1: 1, P2: 2, P3: 3, P4: 4 };

function boardOrder(a, b) {
  return (PRIO[a.priority] - PRIO[b.priority])
    || (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0) || a.id - b.id;
}
const boardRows = new KeyedRows(document.getElementById("incident-rows"), boardOrder);

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
    message(`${incident.ref}: ${T.saved}`, "ok"); upsert(r.data); drawRow(r.data.id);
  } else message(`${incident.ref}: ${r.data.error}`, "error");
}

async function cancelIncident(incident) {
  const reason = window.prompt(`${incident.ref}: ${T.cancel_reason}`);
  if (reason === null) return;
  const r = await api("POST", `/api/incidents/${incident.id}/cancel`, { reason });
  if (r.ok) { message(`${incident.ref}: ${T.saved}`, "ok"); upsert(r.data); drawRow(r.data.id); }
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
    // Only the rows whose suggestions changed are drawn again.
    const fresh = new Map(Object.entries(r.data).map(([id, items]) => [Number(id), items]));
    const changed = [...new Set([...duplicates.keys(), ...fresh.keys()])].filter((id) =>
      JSON.stringify(duplicates.get(id) || []) !== JSON.stringify(fresh.get(id) || []));
    duplicates.clear();
    for (const [id, items] of fresh) duplicates.set(id, items);
    changed.forEach(drawRow);
  }, 300);
}

const notDuplicates = new Set();  // "low:high" pairs marked not duplicates since the desk loaded
const pairKey = (a, b) => (a < b ? `${a}:${b}` : `${b}:${a}`);
function duplicateList(inc) {
  const items = (duplicates.get(inc.id) || []).filter((d) => incidents.has(d.incident_id)
    && !notDuplicates.has(pairKey(inc.id, d.incident_id)));
  if (!items.length || !window.Fusion) return null;
  return el("div", { class: "duplicates", "data-testid": `duplicates-${inc.id}` },
    el("small", {}, Fusion.text.title, ":"),
    el("ul", {}, items.map((d) => Fusion.item(inc, d, (res) => {
      message(res.text, res.ok ? "ok" : "error");
      if (!res.ok) return;
      if (res.kind === "dismiss") { forgetPair(res.subject.id, res.other.id); return; }
      incidents.delete(res.dup.id); drawRow(res.dup.id);
      upsert(res.data); drawRow(res.data.id); refreshDuplicates();
      // Merged by mistake: split it off again from here (or later from the incident page).
      document.getElementById("desk-message").append(" ", el("button", {
        type: "button", class: "link split-merge", "data-testid": `split-merge-${res.dup.id}`,
        onclick: async () => {
          const s = await Fusion.split(res.keep, res.dup);
          if (!s) return;
          message(s.text, s.ok ? "ok" : "error");
          if (!s.ok) return;
          for (const x of [s.data.kept, s.data.restored]) if (upsert(x)) drawRow(x.id);
          forgetPair(res.keep.id, res.dup.id); refreshDuplicates();
        } }, fill(Fusion.text.split_merge, { ref: res.dup.ref })));
    }))));
}

/* A pair marked not a duplicate: neither row lists the other any more. */
function forgetPair(a, b) {
  notDuplicates.add(pairKey(a, b));  // a read of the suggestions begun before still holds it
  for (const [x, y] of [[a, b], [b, a]]) {
    const items = duplicates.get(x);
    if (!items) continue;
    const left = items.filter((d) => d.incident_id !== y);
    if (left.length === items.length) continue;
    if (left.length) duplicates.set(x, left); else duplicates.delete(x);
    drawRow(x);
  }
}

const reportCounts = new Map();  // incident id -> citizen reports gathered (ESS Help Me)
const suggestions = new Map();  // incident id -> [{team, distance_km, eta_minutes, ...}]
/* Suggested teams are read for the new incidents the dispatcher can see (rows on screen, or all
   without IntersectionObserver), one at a time, again after the teams or the board changed
   (`suggestGen`); a row scrolled into view later is read then. */
const suggestedGen = new Map();  // incident id -> the generation its suggestions were read at
const onScreen = new Set();
let suggestGen = 0, suggestTimer = null, pumping = false;
const suggestQueue = new Set();
const VIEW = window.IntersectionObserver ? new IntersectionObserver((entries) => {
  for (const e of entries) {
    const id = Number(e.target.dataset.id);
    if (e.isIntersecting) { onScreen.add(id); wantSuggestions(id); } else onScreen.delete(id);
  }
}) : null;

function wantSuggestions(id) {
  const inc = incidents.get(id);
  if (!inc || inc.status !== "new" || suggestedGen.get(id) === suggestGen) return;
  suggestQueue.add(id);
  pumpSuggestions();
}

async function pumpSuggestions() {
  if (pumping) return;
  pumping = true;
  try {
    while (suggestQueue.size) {
      const id = suggestQueue.values().next().value;
      suggestQueue.delete(id);
      const inc = incidents.get(id);
      if (!inc || inc.status !== "new" || suggestedGen.get(id) === suggestGen) continue;
      const gen = suggestGen;
      const r = await api("GET", `/api/incidents/${id}/recommendations`);
      if (!r.ok) continue;
      const changed = JSON.stringify(suggestions.get(id) || []) !== JSON.stringify(r.data);
      suggestions.set(id, r.data);
      suggestedGen.set(id, gen);
      if (changed) drawTeamCell(id);
    }
  } finally { pumping = false; }
}

function refreshSuggestions() {
  suggestGen += 1;
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(() => {
    for (const inc of incidents.values()) {
      if (inc.status === "new" && (!VIEW || onScreen.has(inc.id))) wantSuggestions(inc.id);
    }
  }, 300);
}

function setTeam(t) {
  const old = teams.get(t.id);
  teams.set(t.id, t);
  teamsVersion += 1;
  for (const x of [old, t]) {
    if (!x) continue;
    if (!freeTeams.has(x.province_code)) freeTeams.set(x.province_code, new Map());
  }
  if (old) freeTeams.get(old.province_code).delete(old.id);
  if (t.status === "available") freeTeams.get(t.province_code).set(t.id, t);
  return old;
}

/* The team choice of a new incident: the suggested teams, and the province's other available
   teams filled in when the dispatcher opens the list (1,000 teams in 1,000 rows would be a million
   options). */
function teamCell(inc) {
  if (inc.status !== "new") return el("span", {}, inc.team_name || "");
  const free = freeTeams.get(inc.province_code) || new Map();
  if (!free.size) return el("span", { class: "muted" }, T.no_team);
  const suggested = (suggestions.get(inc.id) || []).filter((s) => free.has(s.team.id));
  const ago = (iso) => Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
  const why = (s) => [s.team.name, s.on_call ? DT.on_call : null, fill(DT.km, { km: s.distance_km }),
    fill(DT.eta, { minutes: Math.round(s.eta_minutes) }), s.skill ? label("skill", s.skill) : null,
    plural(DT.seen, ago(s.last_seen))].filter(Boolean).join(" · ");
  const others = el("optgroup", { label: T.other_teams });
  const fillOthers = () => {
    if (others.dataset.version === String(teamsVersion)) return;
    const value = select.value;
    const now = freeTeams.get(inc.province_code) || new Map();
    const shown = new Set(suggested.map((s) => s.team.id));
    others.replaceChildren(...[...now.values()].filter((t) => !shown.has(t.id))
      .sort((a, b) => TEAM_COLLATOR.compare(a.name, b.name))
      .map((t) => el("option", { value: t.id }, t.name)));
    select.value = value;
    others.dataset.version = String(teamsVersion);
  };
  const select = el("select", { "aria-label": T.choose_team, "data-testid": `team-select-${inc.id}`,
                                onfocus: fillOthers, onpointerdown: fillOthers, onkeydown: fillOthers },
    el("option", { value: "" }, "—"),
    suggested.length ? el("optgroup", { label: T.suggested }, suggested.map((s) =>
      el("option", { value: s.team.id, "data-suggested": "1" }, why(s)))) : null,
    others);
  return el("span", { class: "assign-cell" }, select,
    el("button", { class: "primary", "data-testid": `assign-${inc.id}`, onclick: () => assign(inc, select) }, T.assign));
}

function buildRow(inc) {
  return el("tr",
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
    el("td", { class: "wait", dataset: { since: inc.created_at, until: inc.dispatched_at || "" } },
      el("span", { class: "wait-time" })),
    el("td", { class: "team-cell" }, teamCell(inc), inc.status !== "on_scene" ? el("button", { class: "link cancel-incident",
      "data-testid": `cancel-${inc.id}`, onclick: () => cancelIncident(inc) }, T.cancel) : null));
}

/* Keep a half-made team choice through a live redraw of its row. */
function keepChoice(oldNode, newNode) {
  const before = oldNode && oldNode.querySelector("select");
  const after = newNode.querySelector("select");
  if (!before || !after || !before.value) return;
  if (![...after.options].some((o) => o.value === before.value)) {
    after.dispatchEvent(new Event("focus"));  // fill the other teams, then choose
  }
  after.value = before.value;
  if (document.activeElement === before) after.focus();
}

function observe(oldNode, newNode) {
  if (!VIEW) return;
  if (oldNode) VIEW.unobserve(oldNode);
  if (newNode) VIEW.observe(newNode);
}

/* Draw one incident's row again (or remove it when it left the board). */
function drawRow(id) {
  const inc = incidents.get(id);
  if (!inc) {
    observe(boardRows.remove(id), null);
  } else {
    const node = buildRow(inc);
    keepChoice(boardRows.node(id), node);
    tickCell(node.querySelector("td.wait"), Date.now());
    observe(boardRows.set(id, inc, node), node);
  }
  document.getElementById("open-count").textContent = incidents.size;
}

/* Draw only a row's team choice again (suggestions or teams changed). */
function drawTeamCell(id) {
  const inc = incidents.get(id);
  const row = boardRows.node(id);
  if (!inc || !row) return;
  const cell = row.querySelector("td.team-cell");
  const fresh = el("td", { class: "team-cell" }, teamCell(inc), inc.status !== "on_scene"
    ? el("button", { class: "link cancel-incident", "data-testid": `cancel-${inc.id}`,
                     onclick: () => cancelIncident(inc) }, T.cancel) : null);
  keepChoice(cell, fresh);
  cell.replaceWith(fresh);
}

/* A team clearing after a job: the dispatcher can make it available (e.g. it phoned in). */
const teamRows = new TeamRows(document.getElementById("team-list"), (t) => t.status !== "clearing" ? null : [
  " ", el("button", {
    type: "button", "data-testid": `make-available-${t.id}`, onclick: async () => {
      const r = await api("POST", `/api/teams/${t.id}/availability`, { available: true });
      if (r.ok) { onTeam(r.data); message(`${t.name}: ${T.saved}`, "ok"); }
      else message(`${t.name}: ${r.data.error || T.error}`, "error");
    } }, DT.make_available)]);

/* One team changed: its item, and the team choice of the rows it matters to. */
function onTeam(t) {
  const old = setTeam(t);
  teamRows.set(t);
  const was = old && old.status === "available", is = t.status === "available";
  if (was === is && old && old.province_code === t.province_code) return;
  for (const p of new Set([t.province_code, old && old.province_code])) {
    const free = (freeTeams.get(p) || new Map()).size;
    const emptied = (free === 0 && was) || (free === 1 && is);  // "no team" appears or goes
    for (const inc of incidents.values()) {
      if (inc.status !== "new" || inc.province_code !== p) continue;
      if (emptied || (suggestions.get(inc.id) || []).some((s) => s.team.id === t.id)) drawTeamCell(inc.id);
    }
  }
}

function renderAll() {
  const body = document.getElementById("incident-rows");
  const chosen = {};  // keep a half-made choice through a reload of the board
  for (const sel of body.querySelectorAll("select")) chosen[sel.dataset.testid] = sel.value;
  if (VIEW) VIEW.disconnect();
  onScreen.clear();
  boardRows.reset([...incidents.values()].map((inc) => ({ key: inc.id, item: inc, node: buildRow(inc) })));
  for (const sel of body.querySelectorAll("select")) {
    const v = chosen[sel.dataset.testid];
    if (!v) continue;
    if (![...sel.options].some((o) => o.value === v)) sel.dispatchEvent(new Event("focus"));
    sel.value = v;
  }
  if (VIEW) for (const inc of incidents.values()) if (inc.status === "new") VIEW.observe(boardRows.node(inc.id));
  document.getElementById("open-count").textContent = incidents.size;
  tick();
  teamRows.reset(teams.values());
}

/* A row's waiting time, ticking every second: written into its own fixed-size box (CSS
   .wait-time: size and layout contained), so a new time never lays out the 1,000-row table. */
function tickCell(cell, now) {
  const end = cell.dataset.until ? Date.parse(cell.dataset.until) : now;
  const text = fmtWait((end - Date.parse(cell.dataset.since)) / 1000);
  const box = cell.firstChild;
  if (box.textContent !== text) box.textContent = text;
  cell.classList.toggle("stopped", Boolean(cell.dataset.until));
}

function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll("#incident-rows td.wait")) tickCell(cell, now);
}

function upsert(inc) {
  const known = incidents.get(inc.id);
  if (known && known.updated_at > inc.updated_at) return false;
  if (OPEN.includes(inc.status)) incidents.set(inc.id, inc); else incidents.delete(inc.id);
  // Rows that list it as a likely duplicate lose it when it leaves the board.
  if (!incidents.has(inc.id)) {
    for (const [id, items] of duplicates) if (items.some((d) => d.incident_id === inc.id)) drawRow(id);
  }
  return true;
}

Live.start({
  onState(state) {
    incidents.clear(); teams.clear(); freeTeams.clear();
    state.incidents.forEach(upsert);
    state.teams.forEach(setTeam);
    renderAll();
    refreshSuggestions();
    refreshDuplicates();
    loadReportCounts(state.incidents.filter((i) => i.source !== "hotline").map((i) => i.id));
  },
  onEvent(name, data) {
    // Marked not a duplicate (here or on another console), or a merge split again.
    if (name === "incident.not_duplicate") { forgetPair(...data.incident_ids); return; }
    // A merged incident split off again comes back: its likely duplicates are read again.
    const back = name === "incident.updated" && !incidents.has(data.id) && OPEN.includes(data.status);
    if (name === "team.updated") onTeam(data);
    else if (name === "incident.reports") {
      reportCounts.set(data.incident_id, data.report_count);
      drawRow(data.incident_id);
    } else if (upsert(data)) drawRow(data.id);
    // A team's change may change every new incident's suggestions (those on screen are read
    // again); an incident's own change only its own.
    if (name === "team.updated") refreshSuggestions();
    else if (name !== "incident.reports" && data.status === "new") {
      suggestedGen.delete(data.id);
      wantSuggestions(data.id);
    }
    if (name === "incident.created" || back || (name === "incident.updated" && !OPEN.includes(data.status))) {
      refreshDuplicates();
    }
  },
}, ["incident.created", "incident.updated", "team.updated", "incident.reports", "incident.not_duplicate"]);

async function loadReportCounts(ids) {
  for (const id of ids) {
    const r = await api("GET", `/api/incidents/${id}/reports`);
    if (!r.ok || reportCounts.get(id) === r.data.report_count) continue;
    reportCounts.set(id, r.data.report_count);
    if (r.data.report_count > 1) drawRow(id);
  }
}
setInterval(tick, 1000);
