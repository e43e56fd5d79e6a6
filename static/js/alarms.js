/* Alarm banner for dispatchers and supervisors: SOS, missed check-ins, lapsed or declined
   offers, escalations (with whom to phone). It sounds until someone takes charge; taking
   charge clears it on every console. */
"use strict";
const alarms = new Map();
Live.extraNames = ["alarm.changed"];

let AUDIO = null;  // one sound context for the page (a browser allows only a few)
function beep() {
  try {
    const ctx = AUDIO || (AUDIO = new (window.AudioContext || window.webkitAudioContext)());
    if (ctx.state === "suspended") ctx.resume().catch(() => {});  // once the user clicked the page
    const osc = ctx.createOscillator();
    osc.frequency.value = 660; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.3);
  } catch (err) { /* the browser blocks sound before a click: the banner stays */ }
}

/* What an alarm says beyond its kind, in the page's language: a short shift from its facts
   (dispatch/flows.alarm_note writes the same in the SMS); an older alarm's note as written. */
function alarmNote(a) {
  const f = a.facts || {};
  if (a.kind !== "roster_short" || !f.starts_at || !f.ends_at) return a.note || "";
  const missing = Object.entries(f.short || {}).map(([role, count]) =>
    fill(label("alarm_note", "missing"), { role: label("duty_role", role), count }));
  return fill(label("alarm_note", "roster_short"), {
    date: fmtBEDate(f.starts_at), range: fmtRange(f.starts_at, f.ends_at),
    missing: missing.join(PAGE.lang === "th" ? " " : ", ") });
}

/* The banner kept in place (issue 14: a bad day holds hundreds of alarms): one item per alarm,
   SOS first, then by age (KeyedRows in console.js); an alarm raised or handled changes only its
   own item. */
const alarmRows = new KeyedRows(document.getElementById("alarms"),
  (a, b) => (a.kind === "sos" ? 0 : 1) - (b.kind === "sos" ? 0 : 1) || a.id - b.id);

function showBanner() { document.getElementById("alarms").hidden = alarmRows.size === 0; }

function drawAlarm(a) {
  if (a.handled_at || !alarms.has(a.id)) alarmRows.remove(a.id);
  else alarmRows.set(a.id, a, alarmItem(a));
  showBanner();
}

function renderAlarms() {
  alarmRows.reset([...alarms.values()].filter((a) => !a.handled_at)
    .map((a) => ({ key: a.id, item: a, node: alarmItem(a) })));
  showBanner();
}

function alarmItem(a) {
  return el("div", { class: `alarm alarm-${a.kind}`, "data-testid": `alarm-${a.id}` },
    el("strong", {}, label("alarm", a.kind)),
    a.team_name ? [" · ", el("strong", { class: "alarm-team", "data-testid": `alarm-team-${a.id}` }, a.team_name)] : null,
    " · ", fmtBE(a.raised_at),
    a.incident_id ? [" · ", el("a", { href: `/desk/incidents/${a.incident_id}`, "data-testid": `alarm-ref-${a.id}` }, a.incident_ref || T.incident_link)] : null,
    a.case_id ? [" · ", el("a", { href: `/desk/cases/${a.case_id}`, "data-testid": `alarm-case-${a.id}` }, label("reminder_step", a.note))]
      : a.kind === "escalated" ? ` · ${label("escalation_action", a.note)}` : (alarmNote(a) ? ` · ${alarmNote(a)}` : ""),
    a.facts && a.facts.sent_to_all ? [" · ", el("em", { "data-testid": `alarm-to-all-${a.id}` },
      label("alarm_sent_to_all", a.facts.sent_to_all))] : null,
    a.contact_phone ? el("span", { class: "contact" }, ` · ${T.call_contact} ${a.contact_name} `,
      el("a", { href: `tel:${a.contact_phone}`, "data-testid": `call-${a.id}` }, a.contact_phone)) : null,
    a.lat !== null ? ` · ${a.lat.toFixed(5)}, ${a.lon.toFixed(5)}` : "",
    el("button", { "data-testid": `handle-${a.id}`, onclick: async () => {
      const r = await api("POST", `/api/alarms/${a.id}/handle`);
      if (r.ok || r.status === 409) { alarms.delete(a.id); drawAlarm(a); }
    } }, T.handle));
}

async function loadAlarms() {
  const r = await api("GET", "/api/alarms");
  if (!r.ok) return;
  alarms.clear();
  r.data.forEach((a) => alarms.set(a.id, a));
  renderAlarms();
}

window.addEventListener("live:state", loadAlarms);
window.addEventListener("live:alarm.changed", (e) => {
  const a = e.detail;
  if (a.handled_at) alarms.delete(a.id); else { alarms.set(a.id, a); beep(); }
  drawAlarm(a);
});
setInterval(() => {
  if ([...alarms.values()].some((a) => ["sos", "missed_checkin", "escalated", "unoffered"].includes(a.kind))) beep();
}, 5000);
