/* Supervisor desk: live Leaflet map (rendered by folium) and counts by status and priority. An
   event changes only its own marker and team item (issue 14: 1,000 open incidents and 1,000 teams
   on a bad day); a (re)load adds the markers to the cluster in one go. */
"use strict";
const BOX = document.getElementById("map-box");
const MAP = window[BOX.dataset.mapName];
const CLUSTER = window[BOX.dataset.clusterName] || MAP;  // incidents cluster when zoomed out
const FILTERS = document.getElementById("map-filters");
const COLORS = { P1: "#c0152f", P2: "#e66b00", P3: "#c9a400", P4: "#3c7d3c" };
const OPEN_S = ["new", "assigned", "acknowledged", "en_route", "on_scene"];
const incidentsS = new Map();
const teamsS = new Map();
const markers = new Map();
const teamMarkers = new Map();
const callIds = new Set();    // this shift's calls, each counted once
const handedIds = new Set();  // this shift's hand-overs, each counted once
let shiftTimer = null;
let bulk = null;  // markers made while the board (re)loads, added to the cluster at once
const teamRows = new TeamRows(document.getElementById("team-list"));

function incidentStyle(inc) {
  return { radius: inc.priority === "P1" ? 11 : 8, color: inc.status === "new" ? "#111" : COLORS[inc.priority],
           weight: inc.status === "new" ? 3 : 2, fillColor: COLORS[inc.priority],
           fillOpacity: inc.status === "new" ? 0.9 : 0.45, dashArray: inc.status === "new" ? null : "4 3" };
}

function popup(inc) {
  // Built as DOM nodes, never as HTML strings: summaries and names are user input.
  return el("div", {},
    el("a", { href: `/desk/incidents/${inc.id}`, "data-testid": `open-${inc.id}` }, el("strong", {}, inc.ref)),
    el("br"), `${label("category", inc.category)} · ${label("priority", inc.priority)}`, el("br"),
    `${label("status", inc.status)}${inc.team_name ? " · " + inc.team_name : ""}`, el("br"),
    el("small", {}, label("precision", inc.precision)));
}

function passes(inc) {
  if (!FILTERS) return true;
  const f = Object.fromEntries(new FormData(FILTERS));
  return (!f.province || inc.province_code === f.province) && (!f.category || inc.category === f.category) &&
    (!f.status || inc.status === f.status) && (!f.priority || inc.priority === f.priority);
}

function drawIncident(inc) {
  const old = markers.get(inc.id);
  if (!OPEN_S.includes(inc.status) || inc.lat === null || !passes(inc)) {
    if (old) { CLUSTER.removeLayer(old); markers.delete(inc.id); }
    return;
  }
  if (old) { old.setLatLng([inc.lat, inc.lon]); old.setStyle(incidentStyle(inc)); old.setPopupContent(popup(inc)); return; }
  const m = L.circleMarker([inc.lat, inc.lon], incidentStyle(inc)).bindPopup(popup(inc));
  if (bulk) bulk.push(m); else CLUSTER.addLayer(m);
  markers.set(inc.id, m);
}

if (FILTERS) FILTERS.addEventListener("change", () => {
  for (const inc of incidentsS.values()) drawIncident(inc);
  renderBoard();
});

function teamStyle(t) {
  return { radius: 6, color: "#1a4fa0", fillColor: t.status === "available" ? "#5b8ee6" : "#1a4fa0", fillOpacity: 0.9, weight: 2 };
}
function teamText(t) {
  return el("div", {}, el("strong", {}, t.name), el("br"), label("team_status", t.status));
}

function drawTeam(t) {
  teamRows.set(t);
  drawTeamMarker(t);
}

function drawTeamMarker(t) {
  const old = teamMarkers.get(t.id);
  if (t.lat === null || t.lat === undefined) return;
  const style = teamStyle(t), text = teamText(t);
  if (old) { old.setLatLng([t.lat, t.lon]); old.setStyle(style); old.setPopupContent(text); return; }
  teamMarkers.set(t.id, L.circleMarker([t.lat, t.lon], style).bindPopup(text).addTo(MAP));
}

function renderBoard() {
  const byStatus = {}, byPrio = {};
  for (const inc of incidentsS.values()) {
    byStatus[inc.status] = (byStatus[inc.status] || 0) + 1;
    byPrio[inc.priority] = (byPrio[inc.priority] || 0) + 1;
  }
  document.querySelectorAll("td[data-status]").forEach((td) => { td.textContent = byStatus[td.dataset.status] || 0; });
  document.querySelectorAll("td[data-priority]").forEach((td) => { td.textContent = byPrio[td.dataset.priority] || 0; });
  document.getElementById("calls-count").textContent = callIds.size;
  document.getElementById("handed-count").textContent = handedIds.size;
  document.getElementById("map-box").dataset.markers = markers.size;
}

function upsertIncident(inc) {
  const known = incidentsS.get(inc.id);
  if (known && known.updated_at > inc.updated_at) return;
  if (inc.status === "handed_over") handedIds.add(inc.id);
  if (OPEN_S.includes(inc.status)) incidentsS.set(inc.id, inc); else incidentsS.delete(inc.id);
  drawIncident(inc);
}

Live.start({
  onState(state) {
    if (CLUSTER.clearLayers && CLUSTER !== MAP) CLUSTER.clearLayers();
    else for (const m of markers.values()) CLUSTER.removeLayer(m);
    markers.clear(); incidentsS.clear();
    bulk = [];
    try { state.incidents.forEach(upsertIncident); } finally {
      const made = bulk;
      bulk = null;
      if (CLUSTER.addLayers) CLUSTER.addLayers(made); else made.forEach((m) => CLUSTER.addLayer(m));
    }
    teamsS.clear();
    state.teams.forEach((t) => teamsS.set(t.id, t));
    teamRows.reset(teamsS.values());
    state.teams.forEach(drawTeamMarker);
    const c = state.counts || {};
    callIds.clear(); handedIds.clear();
    (c.call_ids || []).forEach((id) => callIds.add(id));
    (c.handed_ids || []).forEach((id) => handedIds.add(id));
    renderBoard();
    // The duty round by its hours ("เวรนี้ (08.30–16.30 น.)"); a new one starts its counts from
    // zero: reload the board when it begins.
    const shiftName = document.getElementById("shift-name");
    if (shiftName && c.since && c.next_shift) {
      shiftName.textContent = fill(shiftName.dataset.pattern, { hours: fmtRange(c.since, c.next_shift) });
    }
    clearTimeout(shiftTimer);
    if (c.next_shift) shiftTimer = setTimeout(() => Live.loadState(), Date.parse(c.next_shift) - Date.now() + 1000);
  },
  onEvent(name, data) {
    if (name === "team.updated") { teamsS.set(data.id, data); drawTeam(data); }
    else if (name === "call.logged") callIds.add(data.id);
    else upsertIncident(data);
    renderBoard();
  },
}, ["incident.created", "incident.updated", "team.updated", "call.logged"]);

// NENA answer-time figure of this shift (phone-line calls), refreshed every 30 s.
async function loadAnswerTimes() {
  const r = await api("GET", "/api/calls/answer-times");
  if (!r.ok) return;
  const cell = (pct, n, id) => {
    document.getElementById(id).textContent = r.data.offered ? `${pct}% (${n}/${r.data.offered})` : "—";
  };
  cell(r.data.pct_15, r.data.within_15, "nena-15");
  cell(r.data.pct_20, r.data.within_20, "nena-20");
}
loadAnswerTimes();
setInterval(loadAnswerTimes, 30000);

// The phone line simulator (not with Twilio): play an incoming call's signed webhooks.
const SIMULATE = document.getElementById("simulate-call");
if (SIMULATE) SIMULATE.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = SIMULATE.querySelector("[role=status]");
  const r = await api("POST", "/api/simulator/incoming-call",
                      { number: SIMULATE.elements.number.value, digit: SIMULATE.elements.digit.value });
  out.className = r.ok ? "message ok" : "message error";
  out.textContent = r.ok ? SIMULATE.dataset.ringing
    : [r.data.error, ...Object.values(r.data.fields || {})].join(" ");
});
