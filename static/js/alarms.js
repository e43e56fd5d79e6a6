/* Alarm banner for dispatchers and supervisors: SOS, missed check-ins, lapsed or declined
   offers, escalations (with whom to phone). It sounds until someone takes charge; taking
   charge clears it on every console. */
"use strict";
const alarms = new Map();
Live.extraNames = ["alarm.changed"];

function beep() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const osc = ctx.createOscillator();
    osc.frequency.value = 660; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.3);
  } catch (err) { /* the browser blocks sound before a click: the banner stays */ }
}

function renderAlarms() {
  const box = document.getElementById("alarms");
  const open = [...alarms.values()].filter((a) => !a.handled_at)
    .sort((a, b) => (a.kind === "sos" ? -1 : 0) - (b.kind === "sos" ? -1 : 0) || a.id - b.id);
  box.hidden = open.length === 0;
  box.replaceChildren(...open.map((a) => el("div", { class: `alarm alarm-${a.kind}`, "data-testid": `alarm-${a.id}` },
    el("strong", {}, label("alarm", a.kind)),
    a.team_name ? [" · ", el("strong", { class: "alarm-team", "data-testid": `alarm-team-${a.id}` }, a.team_name)] : null,
    " · ", fmtBE(a.raised_at),
    a.incident_id ? [" · ", el("a", { href: `/desk/incidents/${a.incident_id}`, "data-testid": `alarm-ref-${a.id}` }, a.incident_ref || T.incident_link)] : null,
    a.case_id ? [" · ", el("a", { href: `/desk/cases/${a.case_id}`, "data-testid": `alarm-case-${a.id}` }, label("reminder_step", a.note))]
      : a.kind === "escalated" ? ` · ${label("escalation_action", a.note)}` : (a.note ? ` · ${a.note}` : ""),
    a.contact_phone ? el("span", { class: "contact" }, ` · ${T.call_contact} ${a.contact_name} `,
      el("a", { href: `tel:${a.contact_phone}`, "data-testid": `call-${a.id}` }, a.contact_phone)) : null,
    a.lat !== null ? ` · ${a.lat.toFixed(5)}, ${a.lon.toFixed(5)}` : "",
    el("button", { "data-testid": `handle-${a.id}`, onclick: async () => {
      const r = await api("POST", `/api/alarms/${a.id}/handle`);
      if (r.ok || r.status === 409) { alarms.delete(a.id); renderAlarms(); }
    } }, T.handle))));
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
  renderAlarms();
});
setInterval(() => {
  if ([...alarms.values()].some((a) => ["sos", "missed_checkin", "escalated", "unoffered"].includes(a.kind))) beep();
}, 5000);
