/* Supervisor desk: live Leaflet map (rendered by folium) and counts by status and priority. */
"use strict";
const MAP = window[document.getElementById("map-box").dataset.mapName];
const COLORS = { P1: "#c0152f", P2: "#e66b00", P3: "#c9a400", P4: "#3c7d3c" };
const OPEN_S = ["new", "assigned", "acknowledged", "en_route", "on_scene"];
const incidentsS = new Map();
const teamsS = new Map();
const markers = new Map();
const teamMarkers = new Map();
let counts = { calls: 0, handed: 0 };

function incidentStyle(inc) {
  return { radius: inc.priority === "P1" ? 11 : 8, color: inc.status === "new" ? "#111" : COLORS[inc.priority],
           weight: inc.status === "new" ? 3 : 2, fillColor: COLORS[inc.priority],
           fillOpacity: inc.status === "new" ? 0.9 : 0.45, dashArray: inc.status === "new" ? null : "4 3" };
}

function popup(inc) {
  return `<strong>${inc.ref}</strong><br>${label("category", inc.category)} · ${inc.priority}<br>` +
    `${label("status", inc.status)}${inc.team_name ? " · " + inc.team_name : ""}<br>` +
    `<small>${label("precision", inc.precision)}</small>`;
}

function drawIncident(inc) {
  const old = markers.get(inc.id);
  if (!OPEN_S.includes(inc.status) || inc.lat === null) {
    if (old) { MAP.removeLayer(old); markers.delete(inc.id); }
    return;
  }
  if (old) { old.setLatLng([inc.lat, inc.lon]); old.setStyle(incidentStyle(inc)); old.setPopupContent(popup(inc)); return; }
  const m = L.circleMarker([inc.lat, inc.lon], incidentStyle(inc)).bindPopup(popup(inc)).addTo(MAP);
  m.getElement && m.getElement()?.setAttribute("data-incident", inc.id);
  markers.set(inc.id, m);
}

function drawTeam(t) {
  const old = teamMarkers.get(t.id);
  if (t.lat === null || t.lat === undefined) return;
  const style = { radius: 6, color: "#1a4fa0", fillColor: t.status === "available" ? "#5b8ee6" : "#1a4fa0", fillOpacity: 0.9, weight: 2 };
  const text = `${t.name}<br>${label("team_status", t.status)}`;
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
  document.getElementById("calls-count").textContent = counts.calls;
  document.getElementById("handed-count").textContent = counts.handed;
  document.getElementById("team-list").replaceChildren(...[...teamsS.values()].map((t) =>
    el("li", { class: `team team-${t.status}`, "data-testid": `team-${t.id}` }, el("strong", {}, t.name), " · ", label("team_status", t.status))));
  document.getElementById("map-box").dataset.markers = markers.size;
}

function upsertIncident(inc) {
  const known = incidentsS.get(inc.id);
  if (known && known.updated_at > inc.updated_at) return;
  if (inc.status === "handed_over" && (!known || known.status !== "handed_over")) counts.handed += 1;
  if (OPEN_S.includes(inc.status)) incidentsS.set(inc.id, inc); else incidentsS.delete(inc.id);
  drawIncident(inc);
}

Live.start({
  onState(state) {
    for (const m of markers.values()) MAP.removeLayer(m);
    markers.clear(); incidentsS.clear();
    state.incidents.forEach(upsertIncident);
    state.teams.forEach((t) => { teamsS.set(t.id, t); drawTeam(t); });
    const c = state.counts || {};
    counts = { calls: Object.values(c.calls || {}).reduce((a, b) => a + b, 0), handed: c.handed_over || 0 };
    renderBoard();
  },
  onEvent(name, data) {
    if (name === "team.updated") { teamsS.set(data.id, data); drawTeam(data); }
    else if (name === "call.logged") counts.calls += 1;
    else upsertIncident(data);
    renderBoard();
  },
}, ["incident.created", "incident.updated", "team.updated", "call.logged"]);
