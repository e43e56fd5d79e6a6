/* The incident page, live (issue 14). It follows its own incident's realtime events, heard in the
   rooms the server let this user join on connect (never asking for others), and reads its
   changing parts again from the server (status, team, citizen reports, SMS, timeline), so it
   shows the committed state without a reload: after a burst of events once, and again after
   every (re)connect, since events may have been missed meanwhile. It also shows the incident's
   likely duplicates with a merge and a "not a duplicate" button, splits a wrongly joined citizen
   report off, and splits an incident merged into this one off again. */
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
    if (name === "incident.not_duplicate") return (data.incident_ids || []).includes(INCIDENT.id);
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
    if (changed) { loadDuplicates(); loadMerges(); }
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
    if (res.ok && (res.kind === "dismiss" || res.dup.id !== INCIDENT.id)) loadDuplicates();
    if (res.ok && res.kind === "merge") loadMerges();
    IncidentLive.schedule(0);
  })));
  section.hidden = !r.data.duplicates.length;
}

/* The incidents merged into this one, each with a button splitting it off again (its reports
   go back to it, it waits for a team again, and the two are not suggested together again). */
async function loadMerges() {
  const anchor = document.getElementById("duplicates");
  if (!anchor || !window.Fusion) return;
  let section = document.getElementById("merges");
  if (!OPEN_STATUSES.includes(INCIDENT.status)) { if (section) section.hidden = true; return; }
  const r = await api("GET", `/api/incidents/${INCIDENT.id}`);
  if (!r.ok) return;
  const merges = r.data.merges || [];
  if (!section) {
    section = el("section", { id: "merges", class: "duplicates", "data-testid": "merges", hidden: true },
      el("h2", {}, Fusion.text.merged_here), el("ul", { id: "merge-list" }));
    anchor.after(section);
  }
  document.getElementById("merge-list").replaceChildren(...merges.map((m) => el("li", {},
    el("a", { href: `/desk/incidents/${m.incident_id}` }, el("strong", {}, m.ref)), " ",
    el("button", { type: "button", class: "link split-merge", "data-testid": `split-merge-${m.incident_id}`,
      onclick: async () => {
        const res = await Fusion.split(INCIDENT, { id: m.incident_id, ref: m.ref });
        if (!res) return;
        showIncidentNotice(res.text, res.ok ? "ok" : "error");
        loadMerges();
        IncidentLive.schedule(0);
      } }, fill(Fusion.text.split_merge, { ref: m.ref })))));
  section.hidden = !merges.length;
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
    if (name === "incident.not_duplicate") loadDuplicates();
    IncidentLive.schedule();
  },
}, ["incident.updated", "incident.reports", "alarm.changed", "incident.not_duplicate"]);
loadDuplicates();
loadMerges();
