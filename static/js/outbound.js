/* Outbound messages not delivered (SMS to teams and supervisors, LINE messages to reporters,
   photo downloads, call updates), for dispatchers and supervisors: what gave up in the last
   24 hours and what is still being tried, each with the reason in the user's language. The
   list reloads when a job gives up (outbound.failed) and every 30 s while tries go on. */
"use strict";
Live.extraNames = [...(Live.extraNames || []), "outbound.failed"];

async function loadOutbound() {
  const box = document.getElementById("outbound");
  if (!box) return;
  const r = await api("GET", "/api/outbound/failed");
  if (!r.ok) return;
  box.hidden = r.data.length === 0;
  box.querySelector(".count").textContent = r.data.length;
  box.querySelector("ul").replaceChildren(...r.data.map((j) => el("li",
    { class: `outbound-item outbound-${j.state}`, "data-testid": `outbound-${j.id}` },
    el("strong", {}, j.state_label), " · ", fmtBE(j.at), " · ", j.what,
    j.recipient ? ` · ${j.recipient}` : "",
    j.incident_id ? el("a", { href: `/desk/incidents/${j.incident_id}` }, ` ${j.incident_ref || T.incident_link}`) : null,
    " · ", el("span", { class: "reason" }, j.reason_label), ` (${j.attempts}/${j.max_attempts})`)));
}

window.addEventListener("live:state", loadOutbound);
window.addEventListener("live:outbound.failed", loadOutbound);
setInterval(loadOutbound, 30000);
