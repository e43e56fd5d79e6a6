/* Call-taker desk: log a call, then close it at intake or turn it into an incident. */
"use strict";
const form = document.getElementById("call-form");
const F = (name) => form.elements.namedItem(name);

function showAction() {
  const incident = form.querySelector('input[name="action"]:checked').value === "incident";
  document.getElementById("incident-section").hidden = !incident;
  document.getElementById("close-section").hidden = incident;
}
form.querySelectorAll('input[name="action"]').forEach((r) => r.addEventListener("change", showAction));

/* Where the matter came from (issue 14): the phone call unless the officer chooses a walk-in, a
   letter, a referral, a news or social-media item (its https link) or an อพม. volunteer; the
   incident records it and goes through the same duplicate suggestions as a call. */
const ORG_SOURCES = ["damrongdhama", "agency", "volunteer", "letter"];
// NOTE: kept on the call record either way, and on the incident when one is opened.
function showSource() {
  const source = F("source").value;
  document.getElementById("source-link-field").hidden = source !== "surveillance";
  document.getElementById("source-org-field").hidden = !ORG_SOURCES.includes(source);
}
F("source").addEventListener("change", showSource);

// NOTE: not named `fill`: that is console.js's pattern filler (waiting times use it).
async function fillSelect(select, url) {
  select.replaceChildren(el("option", { value: "" }, "—"));
  if (!url) return;
  const r = await api("GET", url);
  if (!r.ok) return;
  for (const p of r.data) select.append(el("option", { value: p.code }, PAGE.lang === "th" ? p.name_th : p.name_en));
}
F("province_code").addEventListener("change", async () => {
  await fillSelect(F("district_code"), F("province_code").value && `/api/geo/provinces/${F("province_code").value}/districts`);
  await fillSelect(F("subdistrict_code"), null);
});
F("district_code").addEventListener("change", () =>
  fillSelect(F("subdistrict_code"), F("district_code").value && `/api/geo/districts/${F("district_code").value}/subdistricts`));
if (F("province_code").value) F("province_code").dispatchEvent(new Event("change"));

const rows = document.getElementById("people-rows");
function addPerson() {
  const row = document.getElementById("person-row").content.firstElementChild.cloneNode(true);
  row.querySelector(".remove-person").addEventListener("click", () => row.remove());
  rows.append(row);
}
document.getElementById("add-person").addEventListener("click", addPerson);

// Map click sets coordinates and the pickers (tiles only when configured; otherwise a plain
// background with province labels, so a click still lands in the right province).
const pick = document.getElementById("pick-map");
async function pickersFromPoint(lat, lon) {
  const r = await api("GET", `/api/geo/reverse?lat=${lat}&lon=${lon}`);
  if (!r.ok) return;
  await setPickers(r.data.province.code, r.data.district.code, r.data.subdistrict.code);
  document.getElementById("place-precision").textContent = `${T.precision}: ${label("precision", "point")}`;
}
async function setPickers(province, district, subdistrict) {
  F("province_code").value = province || "";
  await fillSelect(F("district_code"), province && `/api/geo/provinces/${province}/districts`);
  F("district_code").value = district || "";
  await fillSelect(F("subdistrict_code"), district && `/api/geo/districts/${district}/subdistricts`);
  F("subdistrict_code").value = subdistrict || "";
}

async function findPlace() {
  const q = document.getElementById("place-query").value.trim();
  const list = document.getElementById("place-candidates");
  list.replaceChildren();
  if (!q) return;
  const r = await api("GET", `/api/geo/geocode?q=${encodeURIComponent(q)}`);
  if (!r.ok) { list.append(el("li", { class: "error" }, r.data.error)); return; }
  if (!r.data.length) { list.append(el("li", { class: "muted" }, T.no_place)); return; }
  for (const c of r.data) {
    list.append(el("li", {}, el("button", { type: "button", onclick: async () => {
      await setPickers(c.province_code, c.district_code, c.subdistrict_code);
      if (c.precision === "point") { F("lat").value = c.lat; F("lon").value = c.lon; }
      else { F("lat").value = ""; F("lon").value = ""; }
      document.getElementById("place-precision").textContent = `${T.precision}: ${label("precision", c.precision)}`;
      list.replaceChildren();
    } }, `${c.label} · ${label("precision", c.precision)}`)));
  }
}
document.getElementById("find-place").addEventListener("click", findPlace);
document.getElementById("place-query").addEventListener("keydown", (e) => {
  if (e.key === "Enter") { e.preventDefault(); findPlace(); }
});

if (window.L && pick) {
  const map = L.map(pick).setView([13.7, 100.9], 5);
  if (pick.dataset.tiles) L.tileLayer(pick.dataset.tiles, { maxZoom: 19, referrerPolicy: "strict-origin" }).addTo(map);
  api("GET", "/api/geo/provinces").then((r) => {
    if (!r.ok) return;
    for (const p of r.data) {
      if (p.lat === null) continue;
      L.marker([p.lat, p.lon], { interactive: false, icon: L.divIcon({ className: "province-label-icon",
        html: "" }) }).addTo(map).getElement().replaceChildren(
        el("div", { class: "province-label" }, PAGE.lang === "th" ? p.name_th : p.name_en));
    }
    const mine = r.data.find((p) => p.code === PAGE.user.province);
    if (mine && mine.lat !== null) map.setView([mine.lat, mine.lon], 8);
  });
  let marker = null;
  map.on("click", (e) => {
    F("lat").value = e.latlng.lat.toFixed(6); F("lon").value = e.latlng.lng.toFixed(6);
    if (marker) marker.setLatLng(e.latlng); else marker = L.marker(e.latlng).addTo(map);
    pickersFromPoint(F("lat").value, F("lon").value);
  });
}

function clearErrors() {
  form.querySelectorAll(".field-error").forEach((n) => n.remove());
  form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

function showErrors(fields) {
  for (const [path, text] of Object.entries(fields || {})) {
    const parts = path.split(".").filter((p) => p !== "incident" && p !== "location");
    let target = null;
    if (parts[0] === "people" && parts.length >= 2) {
      const row = rows.children[Number(parts[1])];
      target = row && (parts[2] ? row.querySelector(`[name="${parts[2]}"]`) : row);
    } else if (!parts.length) {
      // The whole location (no place given): beside the place pickers.
      target = F("place_unknown").closest("label");
    } else {
      target = F(parts[0]);
      if (target instanceof RadioNodeList) target = target[0] && target[0].closest("div, fieldset");
    }
    const note = el("span", { class: "field-error", role: "alert", "data-field": path }, text);
    if (target && target.setAttribute) {
      target.setAttribute("aria-invalid", "true");
      target.insertAdjacentElement("afterend", note);
    } else {
      form.prepend(note);
    }
  }
}

// The moment the call-taker starts on a call counts as its answer time (NENA/NFPA intervals).
let answeredAt = null;
form.addEventListener("input", () => { if (!answeredAt) answeredAt = new Date().toISOString(); });

function numberOrText(v) { return v === "" ? null : (isNaN(Number(v)) ? v : Number(v)); }

function payload() {
  const action = form.querySelector('input[name="action"]:checked').value;
  const body = { action, number: F("number").value, caller_name: F("caller_name").value,
                 summary: F("summary").value, advice: F("advice").value, answered_at: answeredAt };
  if (F("call_id").value) body.call_id = Number(F("call_id").value);
  const source = F("source").value || "hotline";
  body.source = source;
  body.source_link = source === "surveillance" ? F("source_link").value.trim() : null;
  body.source_org = ORG_SOURCES.includes(source) ? F("source_org").value.trim() : null;
  if (action === "close") {
    body.outcome = F("outcome").value || null;
    body.agency_id = F("agency_id").value ? Number(F("agency_id").value) : null;
    return withExtras(body);
  }
  const prio = form.querySelector('input[name="priority"]:checked');
  body.incident = {
    category: F("category").value || null,
    priority: prio ? prio.value : null,
    notes: F("notes").value,
    people: [...rows.children].map((r) => ({
      age_group: r.querySelector('[name="age_group"]').value,
      sex: r.querySelector('[name="sex"]').value,
      vulnerable_group: r.querySelector('[name="vulnerable_group"]').value })),
    location: {
      province_code: F("province_code").value || null, district_code: F("district_code").value || null,
      subdistrict_code: F("subdistrict_code").value || null, address_text: F("address_text").value,
      place_unknown: F("place_unknown").checked,
      lat: numberOrText(F("lat").value.trim()), lon: numberOrText(F("lon").value.trim()) },
  };
  return withExtras(body);
}

/* Other scripts of this desk (e.g. guided intake) add their fields to the saved call:
   window.CallFormExtras.push((body) => { body.x = ...; }). */
window.CallFormExtras = window.CallFormExtras || [];
function withExtras(body) {
  for (const extra of window.CallFormExtras) extra(body);
  return body;
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors();
  const msg = document.getElementById("form-message");
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  const r = await api("POST", "/api/calls", payload());
  button.disabled = false;
  if (r.ok) {
    document.dispatchEvent(new CustomEvent("call-saved", { detail: r.data }));
    msg.className = "message ok";
    msg.textContent = r.data.incident ? `${T.incident_created} ${r.data.incident.ref}` : T.call_closed;
    msg.dataset.ref = r.data.incident ? r.data.incident.ref : "";
    const keepProvince = F("province_code").value;
    form.reset(); rows.replaceChildren(); answeredAt = null; F("province_code").value = keepProvince; showAction();
    showSource();
    showSavedDuplicates(r.data.incident);
    F("call_id").value = "";
    document.getElementById("caller-facts").hidden = true;
    Draft.clear();
    document.getElementById("recent-calls").prepend(el("li", {}, fmtBE(new Date().toISOString()), " · ",
      r.data.incident ? r.data.incident.ref : label("outcome", r.data.outcome)));
  } else {
    msg.className = "message error";
    msg.textContent = r.data.error || T.error;
    showErrors(r.data.fields);
  }
});
showAction();
showSource();

/* Likely duplicates of the incident just saved (same caller number, same place and time, same
   category): the call-taker sees them at once; the dispatcher merges them from the desk. */
async function showSavedDuplicates(incident) {
  const box = document.getElementById("saved-duplicates");
  box.hidden = true;
  if (!incident || !window.Fusion) return;
  const r = await api("GET", `/api/incidents/${incident.id}/duplicates`);
  if (!r.ok || !r.data.duplicates.length) return;
  const mayMerge = ["supervisor", "admin"].includes(PAGE.user.role);
  document.getElementById("saved-duplicates-title").textContent = fill(Fusion.text.of, { ref: incident.ref });
  document.getElementById("saved-duplicate-list").replaceChildren(...r.data.duplicates.map((d) =>
    Fusion.item(incident, d, mayMerge ? (res) => {
      const msg = document.getElementById("form-message");
      msg.className = `message ${res.ok ? "ok" : "error"}`;
      msg.textContent = res.text;
      if (!res.ok) return;
      if (res.kind !== "dismiss") { box.hidden = true; return; }
      // Not a duplicate: only that suggestion goes.
      const list = document.getElementById("saved-duplicate-list");
      list.querySelector(`[data-testid="duplicate-${incident.id}-${res.other.id}"]`)?.remove();
      if (!list.children.length) box.hidden = true;
    } : null)));
  document.getElementById("saved-duplicates-note").textContent = mayMerge ? "" : Fusion.text.dispatcher_merges;
  box.hidden = false;
}

/* A pair marked not a duplicate on a desk: the suggestion shown after the save goes too. */
function dropSavedDuplicate(a, b) {
  const list = document.getElementById("saved-duplicate-list");
  for (const id of [`duplicate-${a}-${b}`, `duplicate-${b}-${a}`]) {
    list.querySelector(`[data-testid="${id}"]`)?.remove();
  }
  if (!list.children.length) document.getElementById("saved-duplicates").hidden = true;
}

/* What the officer is typing is kept in this tab (sessionStorage: gone when the tab closes), so
   an ended session, logging in again or a reload never loses a half-typed call. */
const Draft = {
  key: `draft:call-form:${PAGE.user ? PAGE.user.id : ""}`,
  fields: ["call_id", "source", "source_link", "source_org", "number", "caller_name", "summary",
           "advice", "action", "outcome",
           "category", "priority", "province_code", "lat", "lon", "address_text", "notes"],
  save() {
    const data = {};
    for (const name of this.fields) {
      const field = F(name);
      if (field) data[name] = field.value;
    }
    const typed = ["number", "caller_name", "summary", "advice", "address_text", "notes",
                   "source_link", "source_org"]
      .some((name) => data[name]);
    if (typed) sessionStorage.setItem(this.key, JSON.stringify(data));
  },
  restore() {
    let data;
    try { data = JSON.parse(sessionStorage.getItem(this.key) || "null"); } catch (err) { data = null; }
    if (!data) return false;
    for (const name of this.fields) {
      const field = F(name);
      if (field && typeof data[name] === "string") field.value = data[name];
    }
    showAction();
    showSource();
    return true;
  },
  clear() { sessionStorage.removeItem(this.key); },
};
let draftTimer = null;
["input", "change"].forEach((kind) => form.addEventListener(kind, () => {
  clearTimeout(draftTimer);
  draftTimer = setTimeout(() => Draft.save(), 300);
}));
window.addEventListener("live:ended", () => Draft.save());
window.addEventListener("pagehide", () => Draft.save());

/* The phone line: screen pops of waiting calls, the call-back list and flagged numbers. */
const CT = JSON.parse(document.getElementById("calls-text").textContent);
const pops = document.getElementById("incoming-calls");
const FINAL = new Set(["completed", "busy", "no_answer", "failed", "canceled"]);

function popItem(p) {
  const facts = [];
  if (p.reason) facts.push(el("strong", {}, label("call_reason", p.reason)));
  facts.push(el("span", {}, `${CT.called_before}: ${p.times_called_before}`));
  if (p.linked_refs.length) facts.push(el("span", {}, `${CT.linked}: ${p.linked_refs.join(", ")}`));
  if (p.open_incidents.length) facts.push(el("span", { class: "warn" }, `${CT.open_incidents}: ` +
    p.open_incidents.map((i) => `${i.ref} (${label("status", i.status)})`).join(", ")));
  if (p.open_cases.length) facts.push(el("span", { class: "warn" }, `${CT.open_cases}: ` +
    p.open_cases.map((c) => c.ref).join(", ")));
  if (p.flags.length) facts.push(el("span", { class: "flagged" }, `${CT.flags}: ` +
    p.flags.map((f) => `${label("flag_level", f.level)} (${f.reason})`).join("; ")));
  if (p.protected_because.length) facts.push(el("span", { class: "warn" }, CT.protected));
  // The duty roster's second wave: nobody on duty took it, so the rest of the province is asked.
  if (p.roster && p.roster.wave === "others") facts.push(el("span", { class: "warn",
    "data-testid": "pop-second-wave" }, fill(CT.second_wave, { time: fmtWait(p.roster.waited_seconds || 0) })));
  const last = p.last_contacts.map((c) => `${fmtBE(c.at)} ${c.outcome ? label("outcome", c.outcome) : label("call_status", c.status)}`);
  if (last.length) facts.push(el("small", {}, last.join(" · ")));
  return el("li", { dataset: { callId: p.id, reason: p.reason || "" }, "data-testid": "pop" },
    el("b", {}, p.number_display || CT.withheld), " ",
    el("span", { class: "waited", "data-testid": "pop-waited", dataset: { since: p.ring_at || "" } }), " ",
    ...facts.flatMap((f) => [f, " "]),
    el("button", { type: "button", class: "primary", onclick: () => acceptCall(p) }, CT.accept),
    CT.simulator && PAGE.user.role !== "call_taker" ? [" ", el("button", { type: "button",
      "data-testid": "pop-hangup", onclick: () => api("POST", `/api/simulator/calls/${p.id}/hangup`, {}) },
    CT.sim_hangup)] : null);
}

/* Waiting calls, the most urgent first: someone in danger, then an existing case, then advice;
   among equals the one waiting longest. Each shows how long it has waited. */
const waiting = new Map();
const REASON_RANK = { danger: 0, existing: 1, advice: 2 };
function popOrder(a, b) {
  const ra = REASON_RANK[a.reason] ?? 0, rb = REASON_RANK[b.reason] ?? 0;
  return ra - rb || String(a.ring_at || "").localeCompare(String(b.ring_at || "")) || a.id - b.id;
}
function renderPops() {
  const list = [...waiting.values()].sort(popOrder);
  pops.replaceChildren(...(list.length ? list.map(popItem) : [el("li", { class: "muted" }, CT.none_waiting)]));
  tickPops();
}
function tickPops() {
  for (const span of pops.querySelectorAll(".waited[data-since]")) {
    if (span.dataset.since) span.textContent = fill(CT.waited, { time: fmtWait((Date.now() - Date.parse(span.dataset.since)) / 1000) });
  }
}
setInterval(tickPops, 1000);

function showPop(p) { waiting.set(p.id, p); renderPops(); }
function dropPop(id) { if (waiting.delete(id)) renderPops(); }

/* What the pop knew about the caller stays beside the form after Accept (history, open
   incidents and cases, flags) until the call is saved. */
function keepCallerFacts(p) {
  const box = document.getElementById("caller-facts");
  const item = popItem(p);
  item.querySelectorAll("button, .waited").forEach((n) => n.remove());
  box.replaceChildren(el("strong", {}, CT.about_caller), " ", ...item.childNodes);
  box.hidden = false;
}

async function acceptCall(p) {
  const r = await api("POST", `/api/calls/${p.id}/accept`, {});
  const msg = document.getElementById("form-message");
  dropPop(p.id);
  if (!r.ok) { msg.className = "message error"; msg.textContent = r.data.error || T.error; return; }
  keepCallerFacts(p);
  F("call_id").value = r.data.id;
  F("number").value = r.data.number_display || "";
  answeredAt = r.data.answered_at;
  // The caller is put through to the officer's phone by the job worker (never this request).
  msg.className = r.data.connecting ? "message ok" : "message error";
  msg.textContent = r.data.connecting ? CT.accepted : `${CT.accepted} ${r.data.connect_error || ""}`;
  F("summary").focus();
}

async function loadCallbacks() {
  const list = document.getElementById("callback-list");
  const r = await api("GET", "/api/callbacks");
  if (!r.ok) return;
  list.replaceChildren(...(r.data.length ? r.data.map((c) => el("li", { dataset: { callId: c.id } },
    el("b", {}, c.number_display || CT.withheld), " ", label("call_reason", c.reason), " · ",
    fmtBE(c.created_at), " ",
    c.recording_url ? el("a", { href: c.recording_url, target: "_blank", rel: "noopener" }, CT.voice_message) : "",
    " ", c.number ? el("button", { type: "button", onclick: () => callBack(c.id) }, CT.call_back) : ""))
    : [el("li", { class: "muted" }, CT.none_to_call)]));
}

async function callBack(id) {
  const msg = document.getElementById("callback-message");
  msg.className = "message"; msg.textContent = CT.called_back;
  const r = await api("POST", `/api/calls/${id}/callback`, {});
  msg.className = r.ok ? "message ok" : "message error";
  msg.textContent = r.ok ? CT.callback_queued : (r.data.error || T.error);
  loadCallbacks();
}

const flagForm = document.getElementById("flag-form");
async function loadFlags() {
  const r = await api("GET", "/api/flags");
  if (!r.ok) return;
  document.getElementById("flag-list").replaceChildren(...(r.data.length ? r.data.map((f) => el("li", {},
    el("b", {}, f.number_display), " ", label("flag_level", f.level), " · ", f.reason,
    f.expires_at ? ` · ${CT.until} ${fmtBE(f.expires_at)}` : "", " ",
    el("button", { type: "button", onclick: async () => {
      const reason = window.prompt(CT.lift_reason);
      if (reason === null) return;
      await api("POST", `/api/flags/${f.id}/lift`, { reason });
      loadFlags();
    } }, CT.lift))) : [el("li", { class: "muted" }, CT.no_flags)]));
}
flagForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const v = (n) => flagForm.elements.namedItem(n).value.trim();
  const hours = v("hours");
  const r = await api("POST", "/api/flags", { number: v("number"), level: v("level"), reason: v("reason"),
    hours: hours === "" ? null : (isNaN(Number(hours)) ? hours : Number(hours)) });
  const msg = document.getElementById("flag-message");
  msg.className = r.ok ? "message ok" : "message error";
  msg.textContent = r.ok ? T.saved : [r.data.error, ...Object.values(r.data.fields || {})].join(" ");
  if (r.ok) { flagForm.reset(); loadFlags(); }
});

async function loadWaiting() {
  const r = await api("GET", "/api/calls/waiting");
  if (!r.ok) return;
  waiting.clear();
  r.data.forEach((p) => waiting.set(p.id, p));
  renderPops();
}

// The province's teams and their status, so a caller can be told whether help is on the way:
// kept in place (TeamRows in console.js), a team's change redraws only its own item.
const teamRows = new TeamRows(document.getElementById("team-list"), null, CT.no_teams);

Live.start({
  onState(state) {
    loadWaiting(); loadCallbacks();
    teamRows.reset(state.teams || []);
  },
  onEvent(name, data) {
    if (name === "team.updated") teamRows.set(data);
    if (name === "call.ringing") showPop(data);
    if (name === "incident.not_duplicate") dropSavedDuplicate(...data.incident_ids);
    if (name === "call.updated") {
      if (data.taken_by_id || FINAL.has(data.status)) dropPop(data.id);
      loadCallbacks();
    }
    if (name === "outbound.failed" && data.call_id) {
      // A call-back or a put-through that gave up (the supervisors' list says why).
      const msg = document.getElementById(data.kind === "telephony.callback" ? "callback-message" : "form-message");
      msg.className = "message error";
      msg.textContent = data.kind === "telephony.callback" ? CT.callback_failed : CT.connect_failed;
    }
  },
}, ["call.ringing", "call.updated", "team.updated", "outbound.failed", "incident.not_duplicate"]);
loadFlags();
// NOTE: last, once every part of the page (CT included) is set up.
if (Draft.restore()) {
  const msg = document.getElementById("form-message");
  msg.className = "message ok";
  msg.textContent = CT.draft_restored;
}
