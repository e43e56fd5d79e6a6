/* Phone-sized team page: the current job arrives live; the member moves it step by step. */
"use strict";
const NEXT = { assigned: "acknowledge", acknowledged: "en-route", en_route: "on-scene", on_scene: "resolve" };
const OPEN_JOB = ["assigned", "acknowledged", "en_route", "on_scene"];
let job = null;
let team = null;
const TT = JSON.parse(document.getElementById("team-text").textContent);

function say(text, kind) {
  const m = document.getElementById("team-message");
  m.textContent = text; m.className = "message " + (kind || "");
}

function buzz(freq) {
  if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const osc = ctx.createOscillator();
    osc.frequency.value = freq; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.4);
  } catch (err) { /* no sound before a user gesture: the banner and vibration remain */ }
}

function alertNewJob() {
  document.getElementById("job-gone").hidden = true;
  say(T.new_job, "ok");
  buzz(880);
}

/* The job left this phone: say why (never let "new job!" stand over an empty page). */
function jobGone(old, inc) {
  let why = TT.job_withdrawn;
  if (inc.status === "cancelled") why = TT.job_cancelled;
  else if (inc.team_id && inc.team_id !== PAGE.user.team_id) why = TT.job_reassigned;
  else if (inc.status === "new" && old.status === "assigned" && old.offer_due_at &&
           Date.parse(old.offer_due_at) <= Date.now() + 5000) why = TT.job_lapsed;
  else if (["resolved", "handed_over"].includes(inc.status)) return;
  const box = document.getElementById("job-gone");
  box.textContent = fill(why, { ref: old.ref });
  box.dataset.reason = inc.status === "cancelled" ? "cancelled" : why === TT.job_reassigned
    ? "reassigned" : why === TT.job_lapsed ? "lapsed" : "withdrawn";
  box.hidden = false;
  say("", "");
  buzz(440);
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
  if (!job) { contactFor = null; return; }
  const set = (id, text) => { document.getElementById(id).textContent = text || ""; };
  set("job-prio", label("priority_short", job.priority));
  document.getElementById("job-prio").className = `prio-badge prio-${job.priority}`;
  document.getElementById("job-prio").title = label("priority", job.priority);
  set("job-ref", job.ref);
  set("job-category", label("category", job.category));
  set("job-status", label("status", job.status));
  set("job-summary", job.summary);
  set("job-place", job.place_unknown ? `${TT.place_unknown} · ${placeName(job)}` : placeName(job));
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
  loadContact();
}

/* The reporter's number, so the team can phone them on the way (each read is logged). */
let contactFor = null;
async function loadContact() {
  const box = document.getElementById("job-contact");
  if (!job) { contactFor = null; box.hidden = true; return; }
  if (contactFor === job.id) return;
  contactFor = job.id;
  const r = await api("GET", `/api/incidents/${job.id}/contact`);
  if (!r.ok || !job || job.id !== r.data.incident_id) return;
  box.replaceChildren(...r.data.contacts.flatMap((c) => [
    el("strong", {}, c.kind === "caller" ? TT.caller : TT.citizen_report), c.name ? ` ${c.name} ` : " ",
    c.number ? el("a", { href: `tel:${c.number}`, "data-testid": "job-tel" }, c.number_display) : c.contact,
    el("br")]));
  box.hidden = !r.data.contacts.length;
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
    if (job.updated_at > inc.updated_at) return;
    const old = job;
    job = null;
    jobGone(old, inc);
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

/* SOS: kept on this phone (localStorage, with its Idempotency-Key) and sent again every few
   seconds, and as soon as the network is back, until the server confirms it; meanwhile the
   phone offers a call to the centre. The same key makes a resend count once. */
let lastFix = null;
const SOS_KEY = `sos:${PAGE.user.id}`;
let sosAlarm = null;  // the alarm the server confirmed
let sosTimer = null;

function sosShow(text, calling) {
  const box = document.getElementById("sos-state");
  box.textContent = text; box.hidden = !text;
  document.getElementById("sos-call").hidden = !calling;
}

async function sendSos() {
  clearTimeout(sosTimer);
  let pending;
  try { pending = JSON.parse(localStorage.getItem(SOS_KEY) || "null"); } catch (err) { pending = null; }
  if (!pending) return;
  let resp = null;
  try {
    resp = await fetch("/api/teams/me/sos", { method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": CSRF, "Content-Type": "application/json", Accept: "application/json",
                 "Idempotency-Key": pending.key }, body: JSON.stringify(pending.body) });
  } catch (err) { resp = null; }
  if (resp && resp.ok) {
    localStorage.removeItem(SOS_KEY);
    sosAlarm = await resp.json();
    sosShow(TT.sos_sent, false);
    return;
  }
  if (resp && resp.status === 401) Live.endSession();
  if (resp && resp.status >= 400 && resp.status < 500 && resp.status !== 401 && resp.status !== 429) {
    // Refused for good (not a team member...): say so, keep the call to the centre.
    localStorage.removeItem(SOS_KEY);
    let data = {};
    try { data = await resp.json(); } catch (err) { data = {}; }
    sosShow(`${T.error} ${data.error || ""}`, true);
    return;
  }
  sosShow(TT.sos_queued, true);
  sosTimer = setTimeout(sendSos, 5000);
}

document.getElementById("sos").addEventListener("click", async () => {
  if (!window.confirm(T.sos_confirm)) return;
  const body = lastFix ? { lat: lastFix.lat, lon: lastFix.lon } : {};
  if (!localStorage.getItem(SOS_KEY)) {
    localStorage.setItem(SOS_KEY, JSON.stringify({ key: newIdempotencyKey(), body,
                                                   at: new Date().toISOString() }));
  }
  sosShow(TT.sos_queued, !navigator.onLine);
  await sendSos();
});
window.addEventListener("online", sendSos);
window.addEventListener("live:resumed", sendSos);
sendSos();  // one left from before a reload

/* A supervisor or dispatcher took charge of this team's SOS: the phone says who. */
window.addEventListener("live:alarm.changed", (e) => {
  const a = e.detail;
  if (a.kind !== "sos" || a.team_id !== PAGE.user.team_id || !a.handled_at) return;
  sosShow(fill(TT.sos_taken, { name: a.handled_by_name || "" }), false);
  document.getElementById("sos-state").className = "message ok";
  document.getElementById("sos-state").dataset.handled = "1";
  buzz(660);
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
  if (b.dataset.step === "resolve" && !window.confirm(fill(TT.resolve_confirm, { ref: job.ref }))) return;
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
    if (name === "alarm.changed") return;  // heard through live:alarm.changed above
    if (name === "team.updated") team = data; else take(data);
    render();
  },
}, ["incident.created", "incident.updated", "team.updated", "alarm.changed"]);

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
