/* Phone-sized team page: the current job arrives live; the member moves it step by step. */
"use strict";
const NEXT = { assigned: "acknowledge", acknowledged: "en-route", en_route: "on-scene", on_scene: "resolve" };
const OPEN_JOB = ["assigned", "acknowledged", "en_route", "on_scene"];
let job = null;
let team = null;

function say(text, kind) {
  const m = document.getElementById("team-message");
  m.textContent = text; m.className = "message " + (kind || "");
}

function alertNewJob() {
  say(T.new_job, "ok");
  if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const osc = ctx.createOscillator();
    osc.frequency.value = 880; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.4);
  } catch (err) { /* no sound before a user gesture: the banner and vibration remain */ }
}

function render() {
  document.getElementById("team-status").textContent = team ? label("team_status", team.status) : "—";
  const duty = document.getElementById("duty");
  duty.hidden = !team || !["available", "off_duty", "clearing"].includes(team.status);
  if (team) duty.textContent = team.status === "off_duty" ? T.go_on_duty : T.go_off_duty;
  const clear = document.getElementById("clear");
  clear.hidden = !team || team.status !== "clearing";
  clear.textContent = T.ready_again;
  if (team) document.getElementById("team-name").textContent = team.name;
  const box = document.getElementById("job");
  document.getElementById("no-job").hidden = Boolean(job);
  box.hidden = !job;
  if (!job) return;
  const set = (id, text) => { document.getElementById(id).textContent = text || ""; };
  set("job-prio", label("priority_short", job.priority));
  document.getElementById("job-prio").className = `prio-badge prio-${job.priority}`;
  document.getElementById("job-prio").title = label("priority", job.priority);
  set("job-ref", job.ref);
  set("job-category", label("category", job.category));
  set("job-status", label("status", job.status));
  set("job-summary", job.summary);
  set("job-place", placeName(job));
  set("job-precision", `${T.precision}: ${label("precision", job.precision)}`);
  set("job-address", job.address_text);
  set("job-notes", job.notes);
  set("job-people", job.people.length ? `${job.people.length} ${T.people}: ` +
    job.people.map((p) => `${label("age_group", p.age_group)} ${label("sex", p.sex)}`).join("; ") : "");
  const coords = document.getElementById("job-coords");
  coords.replaceChildren();
  if (job.lat !== null) {
    const ll = `${job.lat.toFixed(5)},${job.lon.toFixed(5)}`;
    coords.append(el("a", { href: `geo:${ll}?q=${ll}` }, ll));
  }
  for (const b of document.querySelectorAll("button[data-step]")) {
    b.hidden = NEXT[job.status] !== b.dataset.step;
  }
  document.getElementById("decline").hidden = job.status !== "assigned";
  document.getElementById("checkin").hidden = job.status !== "on_scene";
  const due = document.getElementById("checkin-due");
  due.hidden = !job.checkin_due_at;
  if (job.checkin_due_at) due.textContent = `${T.checkin_due}: ${fmtBE(job.checkin_due_at)}`;
  tickOffer();
}

function tickOffer() {
  const box = document.getElementById("offer-countdown");
  const live = job && job.status === "assigned" && job.offer_due_at;
  box.hidden = !live;
  if (live) box.textContent = `${T.offer_left} ${fmtWait((Date.parse(job.offer_due_at) - Date.now()) / 1000)}`;
}
setInterval(tickOffer, 1000);

function take(inc) {
  const mine = inc.team_id === PAGE.user.team_id && OPEN_JOB.includes(inc.status);
  if (mine) {
    const isNew = !job || job.id !== inc.id;
    if (job && job.id === inc.id && job.updated_at > inc.updated_at) return;
    job = inc;
    if (isNew && inc.status === "assigned") alertNewJob();
  } else if (job && job.id === inc.id) {
    job = null;
  }
}

document.getElementById("decline").addEventListener("click", async () => {
  if (!job) return;
  const reason = window.prompt(T.decline_reason);
  if (reason === null) return;
  const r = await api("POST", `/api/incidents/${job.id}/decline`, { reason });
  if (r.ok) { job = null; say(T.saved, "ok"); render(); }
  else say(`${T.error} ${(r.data.fields && r.data.fields.reason) || r.data.error}`, "error");
});

document.getElementById("checkin").addEventListener("click", async () => {
  if (!job) return;
  const r = await api("POST", `/api/incidents/${job.id}/checkin`, {});
  if (r.ok) { take(r.data); say(T.saved, "ok"); render(); } else say(`${T.error} ${r.data.error}`, "error");
});

let lastFix = null;
document.getElementById("sos").addEventListener("click", async () => {
  if (!window.confirm(T.sos_confirm)) return;
  const body = lastFix ? { lat: lastFix.lat, lon: lastFix.lon } : {};
  const r = await api("POST", "/api/teams/me/sos", body);
  if (r.ok) say(T.sos_sent, "error"); else say(`${T.error} ${r.data.error}`, "error");
});

async function setDuty(available) {
  if (!team) return;
  const r = await api("POST", `/api/teams/${team.id}/availability`, { available });
  if (r.ok) { team = r.data; say(T.saved, "ok"); render(); } else say(`${T.error} ${r.data.error}`, "error");
}
document.getElementById("duty").addEventListener("click", () => setDuty(team && team.status === "off_duty"));
document.getElementById("clear").addEventListener("click", () => setDuty(true));

document.querySelectorAll("button[data-step]").forEach((b) => b.addEventListener("click", async () => {
  if (!job) return;
  b.disabled = true;
  const note = document.getElementById("step-note");
  const r = await api("POST", `/api/incidents/${job.id}/steps/${b.dataset.step}`, { note: note.value });
  b.disabled = false;
  if (r.ok) { note.value = ""; say(T.saved, "ok"); take(r.data); render(); }
  else say(`${T.error} ${r.data.error}`, "error");
}));

Live.start({
  onState(state) {
    job = null;
    state.incidents.forEach(take);
    team = state.teams[0] || null;
    render();
  },
  onEvent(name, data) {
    if (name === "team.updated") team = data; else take(data);
    render();
  },
}, ["incident.created", "incident.updated", "team.updated"]);

// Report the team's position from the phone: on start, then when it moves or every 60 s.
(function trackPosition() {
  if (!navigator.geolocation) return;
  let last = null;
  navigator.geolocation.watchPosition(async (pos) => {
    const { latitude: lat, longitude: lon, accuracy } = pos.coords;
    const now = Date.now();
    const moved = last && Math.hypot(lat - last.lat, lon - last.lon) > 0.0005;
    lastFix = { lat, lon };
    if (last && !moved && now - last.at < 60000) return;
    last = { lat, lon, at: now };
    lastFix = { lat, lon };
    await api("POST", "/api/teams/me/position", { lat, lon, accuracy });
  }, () => {}, { enableHighAccuracy: true, maximumAge: 30000, timeout: 20000 });
})();
