/* The incident page, live (issue 14). It follows its own incident's realtime events, heard in the
   rooms the server let this user join on connect (never asking for others), and reads its
   changing parts again from the server (status, team, citizen reports, SMS, timeline), so it
   shows the committed state without a reload: after a burst of events once, and again after
   every (re)connect, since events may have been missed meanwhile. It also shows the incident's
   likely duplicates with a merge button, and splits a wrongly joined citizen report off. */
"use strict";
const INCIDENT = JSON.parse(document.getElementById("incident-data").textContent);
const OPEN_STATUSES = ["new", "assigned", "acknowledged", "en_route", "on_scene"];

const IncidentLive = {
  timer: null, running: false, pending: false, loaded: false,
  /* Is this event about this page's incident? */
  concerns(name, data) {
    if (!data) return false;
    if (name === "incident.updated" || name === "incident.created") return data.id === INCIDENT.id;
    if (name === "incident.reports" || name === "alarm.changed") return data.incident_id === INCIDENT.id;
    return false;
  },
  schedule(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), delay === undefined ? 250 : delay);
  },
  async refresh() {
    if (this.running) { this.pending = true; return; }
    this.running = true;
    let changed = false;
    try {
      const resp = await fetch(window.location.pathname, {
        credentials: "same-origin", headers: { Accept: "text/html" } });
      if (resp.redirected && new URL(resp.url).pathname === "/login") Live.endSession();
      else if (resp.ok) changed = this.swap(await resp.text());
    } catch (err) {
      // Offline: the reconnect (Live's onState after its replay) reads the page again.
    }
    this.running = false;
    const status = document.querySelector('[data-live="status"]');
    if (status && status.dataset.status) INCIDENT.status = status.dataset.status;
    if (changed && this.loaded) showIncidentNotice(INCIDENT.changed);
    this.loaded = true;
    if (changed) loadDuplicates();
    if (this.pending) { this.pending = false; this.refresh(); }
  },
  /* Swap each live part ([data-live]) whose content differs; true when one did. */
  swap(html) {
    const fresh = new DOMParser().parseFromString(html, "text/html");
    let changed = false;
    for (const part of fresh.querySelectorAll("[data-live]")) {
      const current = document.querySelector(`[data-live="${part.dataset.live}"]`);
      if (current && current.outerHTML !== part.outerHTML) {
        current.replaceWith(document.importNode(part, true));
        changed = true;
      }
    }
    return changed;
  },
};

function showIncidentNotice(text, kind) {
  const box = document.getElementById("incident-notice");
  if (!box) return;
  box.className = `message ${kind || "ok"}`;
  box.textContent = text;
}

/* Likely duplicates of this incident (fusion.js), while it is open. */
async function loadDuplicates() {
  const section = document.getElementById("duplicates");
  if (!section || !window.Fusion) return;
  if (!OPEN_STATUSES.includes(INCIDENT.status)) { section.hidden = true; return; }
  const r = await api("GET", `/api/incidents/${INCIDENT.id}/duplicates`);
  if (!r.ok) return;
  const list = document.getElementById("duplicate-list");
  list.replaceChildren(...r.data.duplicates.map((d) => Fusion.item(INCIDENT, d, (res) => {
    const msg = document.getElementById("duplicates-message");
    msg.className = `message ${res.ok ? "ok" : "error"}`;
    msg.textContent = res.text;
    if (res.ok && res.dup.id !== INCIDENT.id) loadDuplicates();
    IncidentLive.schedule(0);
  })));
  section.hidden = !r.data.duplicates.length;
}

/* A citizen report joined by mistake becomes an incident of its own. */
document.addEventListener("click", async (ev) => {
  const button = ev.target.closest && ev.target.closest("button.split-report");
  if (!button) return;
  if (!window.confirm(Fusion.text.split_confirm)) return;
  button.disabled = true;
  const r = await api("POST", `/api/ess/reports/${button.dataset.reportId}/split`, {});
  button.disabled = false;
  if (r.ok) showIncidentNotice(fill(Fusion.text.split_done, { ref: r.data.ref }));
  else showIncidentNotice(r.data.error || T.error, "error");
  IncidentLive.schedule(0);
});

Live.start({
  onState() { IncidentLive.schedule(0); },
  onEvent(name, data) {
    if (!IncidentLive.concerns(name, data)) return;
    if (name === "incident.updated" && data.status) INCIDENT.status = data.status;
    IncidentLive.schedule();
  },
}, ["incident.updated", "incident.reports", "alarm.changed"]);
loadDuplicates();
