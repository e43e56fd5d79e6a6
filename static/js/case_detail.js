/* One case: move it along the workflow, add people, reveal a national ID (audited); the page
   follows changes made elsewhere live. */
"use strict";
const CASE = JSON.parse(document.getElementById("case-data").textContent);
const box = document.getElementById("case");

function showNotice(text) {
  const n = document.getElementById("case-notice");
  n.textContent = text;
  n.hidden = false;
}

function renderMoves(moves) {
  const host = document.getElementById("moves");
  host.replaceChildren(el("span", {}, CASE.text.move_to, " "),
    ...moves.map((to) => el("button", { type: "button", class: `move move-${to}`,
                                        "data-to": to, "data-testid": `move-${to}` },
                              label("case_status", to))));
}

function applyCase(c) {
  CASE.version = c.version;
  CASE.status = c.status;
  box.dataset.version = c.version;
  box.dataset.status = c.status;
  document.querySelector("[data-testid=case-status]").textContent = label("case_status", c.status);
  renderMoves(c.moves || []);
}

function fieldErrors(form, fields) {
  form.querySelectorAll(".field-error").forEach((n) => n.remove());
  for (const [name, message] of Object.entries(fields || {})) {
    const input = form.elements.namedItem(name);
    const target = input && (input.closest ? input.closest("label") : null);
    const note = el("span", { class: "field-error", "data-field": name }, message);
    if (target) target.append(note); else form.append(note);
  }
}

document.getElementById("moves").addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-to]");
  if (!button) return;
  const form = document.getElementById("move-form");
  const msg = document.getElementById("move-message");
  const reason = form.elements.namedItem("reason").value;
  const body = { to: button.dataset.to, reason, version: CASE.version };
  if (button.dataset.to === "closed") {
    body.client_feedback = form.elements.namedItem("client_feedback").value;
    body.lessons_learned = form.elements.namedItem("lessons_learned").value;
    body.with_open_actions = form.elements.namedItem("with_open_actions").checked;
  }
  button.disabled = true;
  const r = await api("POST", `/api/cases/${CASE.id}/move`, body);
  button.disabled = false;
  fieldErrors(form, r.data.fields);
  if (r.ok) {
    applyCase(r.data);
    form.reset();
    msg.className = "message ok";
    msg.textContent = CASE.text.saved;
    window.location.reload();  // the timeline shows the new step
  } else {
    msg.className = "message error";
    msg.textContent = r.data.error || T.error;
  }
});

document.getElementById("person-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const msg = document.getElementById("person-message");
  const value = (name) => form.elements.namedItem(name).value;
  const age = value("age_years").trim();
  const body = {
    role: value("role"), full_name: value("full_name"), national_id: value("national_id"),
    no_id_reason: value("no_id_reason"), birth_date: value("birth_date"),
    age_years: age === "" ? null : (/^\d+$/.test(age) ? Number(age) : age),
    sex: value("sex"), relationship_to_client: value("relationship_to_client"),
    phone: value("phone"), address_text: value("address_text"),
    target_groups: [...form.querySelectorAll("input[name=target_groups]:checked")].map((i) => i.value),
  };
  const r = await api("POST", `/api/cases/${CASE.id}/people`, body);
  fieldErrors(form, r.data.fields);
  if (r.ok) {
    window.location.reload();
  } else {
    msg.className = "message error";
    msg.textContent = r.data.error || T.error;
  }
});

document.getElementById("people-rows").addEventListener("click", async (ev) => {
  const button = ev.target.closest("button.reveal");
  if (!button) return;
  const r = await api("POST", `/api/cases/${CASE.id}/people/${button.dataset.person}/national-id`);
  if (r.ok) {
    const span = button.parentElement.querySelector(".nid");
    span.textContent = r.data.national_id;
    button.remove();
  }
});

/* Fact-finding: save a draft any time (a home visit on a phone), complete it when every
   domain is scored with its reason and the risk level is chosen. Without network the draft is
   kept on this phone (offline_draft.js) and sent when the network is back. */
const assessment = document.getElementById("assessment-form");
const ASSESSMENT_TEXTS = ["problem", "living_conditions", "income_debts", "health", "education",
                          "safety_risks", "needs"];

function assessmentBody(complete) {
  const value = (name) => assessment.elements.namedItem(name).value;
  const scores = {};
  assessment.querySelectorAll(".score-row").forEach((row) => {
    const d = row.dataset.domain;
    const score = value(`score-${d}`);
    if (score) scores[d] = { score: Number(score), reason: value(`reason-${d}`) };
  });
  const body = { visited_at: value("visited_at"), scores, risk_level: value("risk_level"),
                 complete: Boolean(complete) };
  for (const f of ASSESSMENT_TEXTS) body[f] = value(f);
  return body;
}

function fillAssessment(body) {
  const set = (name, v) => {
    const field = assessment.elements.namedItem(name);
    if (field && typeof v === "string") field.value = v;
  };
  set("visited_at", body.visited_at);
  set("risk_level", body.risk_level);
  for (const f of ASSESSMENT_TEXTS) set(f, body[f]);
  assessment.querySelectorAll(".score-row").forEach((row) => {
    const d = row.dataset.domain;
    const s = (body.scores || {})[d];
    set(`score-${d}`, s ? String(s.score) : "");
    set(`reason-${d}`, s ? s.reason : "");
  });
}

const assessmentDraft = new OfflineDraft({
  key: `draft:assessment:${PAGE.user.id}:${CASE.id}`,
  form: assessment,
  collect: assessmentBody,
  fill: fillAssessment,
  send: (body) => api("PUT", `/api/cases/${CASE.id}/assessment`, body),
  state: document.getElementById("assessment-draft-state"),
  text: CASE.text.draft,
});

assessment.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-save]");
  if (!button) return;
  const msg = document.getElementById("assessment-message");
  button.disabled = true;
  const r = await assessmentDraft.save(assessmentBody(button.dataset.save === "complete"));
  button.disabled = false;
  assessment.querySelectorAll(".field-error").forEach((n) => n.remove());
  if (r.ok) {
    window.location.reload();
    return;
  }
  if (assessmentDraft.kept(r)) {
    msg.className = "message";
    msg.textContent = "";
    return;
  }
  for (const [name, message] of Object.entries(r.data.fields || {})) {
    const m = name.match(/^scores\.([a-z_]+)(\.reason)?$/);
    const input = m ? assessment.elements.namedItem(`${m[2] ? "reason" : "score"}-${m[1]}`)
                    : assessment.elements.namedItem(name);
    (input ? input.closest("label") : assessment).append(
      el("span", { class: "field-error", "data-field": name }, message));
  }
  msg.className = "message error";
  msg.textContent = r.data.error || T.error;
});

/* The assistance plan: add actions (owner, due date), record their progress. */
document.getElementById("action-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const value = (name) => form.elements.namedItem(name).value;
  const [kind, id] = value("owner").split(":");
  const body = { phase: value("phase"), domain: value("domain"), title: value("title"),
                 due_on: value("due_on") };
  if (kind === "u") body.owner_user_id = Number(id);
  if (kind === "a") body.owner_agency_id = Number(id);
  const r = await api("POST", `/api/cases/${CASE.id}/actions`, body);
  fieldErrors(form, r.data.fields);
  if (r.ok) { window.location.reload(); return; }
  const msg = document.getElementById("action-message");
  msg.className = "message error";
  msg.textContent = r.data.error || T.error;
});

document.getElementById("action-rows").addEventListener("change", async (ev) => {
  const select = ev.target.closest("select.action-status");
  if (!select) return;
  const r = await api("POST", `/api/cases/${CASE.id}/actions/${select.dataset.action}`,
                      { status: select.value });
  if (!r.ok) showNotice(r.data.error || T.error);
});

/* Caseload: a worker takes an unassigned case; a supervisor gives it to a worker. */
async function assignTo(userId) {
  const r = await api("POST", `/api/cases/${CASE.id}/assign`, { user_id: Number(userId) });
  if (r.ok) window.location.reload(); else showNotice(r.data.error || T.error);
}
document.getElementById("take-case")?.addEventListener("click", (ev) => assignTo(ev.target.dataset.user));
document.getElementById("assign-to")?.addEventListener("change", (ev) => {
  if (ev.target.value) assignTo(ev.target.value);
});

/* Consent and referrals: the link is shown once, to be sent by SMS, LINE or a letter. */
function checked(form, name) {
  return [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
}
document.getElementById("consent-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const agency = form.elements.namedItem("agency_id").value;
  const body = { items: checked(form, "items"), given_on: form.elements.namedItem("given_on").value,
                 agency_id: agency ? Number(agency) : null };
  const r = await api("POST", `/api/cases/${CASE.id}/consents`, body);
  fieldErrors(form, r.data.fields);
  if (r.ok) { window.location.reload(); return; }
  const msg = document.getElementById("consent-message");
  msg.className = "message error";
  msg.textContent = r.data.error || T.error;
});
document.getElementById("referral-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const body = { agency_id: Number(form.elements.namedItem("agency_id").value),
                 service: form.elements.namedItem("service").value, items: checked(form, "items") };
  const r = await api("POST", `/api/cases/${CASE.id}/referrals`, body);
  fieldErrors(form, r.data.fields);
  const msg = document.getElementById("referral-message");
  if (!r.ok) {
    msg.className = "message error";
    msg.textContent = r.data.error || T.error;
    return;
  }
  msg.className = "message ok";
  msg.textContent = CASE.text.saved;
  const box = document.getElementById("referral-link");
  box.querySelector("input.link").value = r.data.link;
  box.querySelector("img.qr").src = r.data.qr;
  box.hidden = false;
  form.reset();
});
document.getElementById("referral-rows").addEventListener("click", async (ev) => {
  const button = ev.target.closest("button.revoke");
  if (!button) return;
  const reason = window.prompt(CASE.text.revoke_reason);
  if (reason === null) return;
  const r = await api("POST", `/api/cases/${CASE.id}/referrals/${button.dataset.referral}/revoke`,
                      { reason });
  if (r.ok) window.location.reload(); else showNotice(r.data.error || T.error);
});

/* Follow-up visits and calls. */
document.getElementById("follow-up-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const value = (name) => form.elements.namedItem(name).value;
  const body = { kind: value("kind"), due_on: value("due_on"), purpose: value("purpose"),
                 assigned_to_id: value("assigned_to_id") ? Number(value("assigned_to_id")) : null };
  const r = await api("POST", `/api/cases/${CASE.id}/follow-ups`, body);
  fieldErrors(form, r.data.fields);
  if (r.ok) { window.location.reload(); return; }
  const msg = document.getElementById("follow-up-message");
  msg.className = "message error";
  msg.textContent = r.data.error || T.error;
});
document.getElementById("follow-up-rows").addEventListener("click", async (ev) => {
  const button = ev.target.closest("button.follow-up-done");
  if (!button) return;
  const outcome = window.prompt(CASE.text.outcome_prompt);
  if (!outcome) return;
  const feedback = window.prompt(CASE.text.feedback_prompt) || "";
  const r = await api("POST", `/api/cases/${CASE.id}/follow-ups/${button.dataset.followUp}/done`,
                      { outcome, client_feedback: feedback });
  if (r.ok) window.location.reload(); else showNotice(r.data.error || T.error);
});

/* A follow-up given to an อพม. volunteer: one with an account sees it in their tasks; one
   without gets a link (shown once) that opens that task only. */
document.getElementById("volunteer-form")?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const value = (name) => form.elements.namedItem(name).value;
  const body = { user_id: value("user_id") ? Number(value("user_id")) : null, name: value("name"),
                 phone: value("phone"), share_phone: form.elements.namedItem("share_phone").checked };
  const r = await api("POST", `/api/cases/${CASE.id}/follow-ups/${value("follow_up_id")}/volunteer`, body);
  fieldErrors(form, r.data.fields);
  const msg = document.getElementById("volunteer-message");
  if (!r.ok) {
    msg.className = "message error";
    msg.textContent = r.data.error || T.error;
    return;
  }
  if (!r.data.link) { window.location.reload(); return; }
  msg.className = "message ok";
  msg.textContent = CASE.text.saved;
  const box = document.getElementById("volunteer-link");
  box.querySelector("input.link").value = r.data.link;
  box.querySelector("img.qr").src = r.data.qr;
  box.hidden = false;
});

/* A line of the timeline written elsewhere (an agency's answer, a volunteer's outcome). */
function addTimelineLine(t) {
  const list = document.querySelector("[data-testid=case-timeline]");
  list.append(el("li", { "data-kind": t.kind }, `${fmtBE(t.at)} · ${label("timeline", t.kind)}`,
                 t.note ? ` — ${t.note}` : ""));
}

renderMoves(CASE.moves);
Live.start({
  onState() {},
  onEvent(name, c) {
    if (name === "case.timeline") {
      if (c.case_id === CASE.id) { addTimelineLine(c); showNotice(CASE.text.changed); }
      return;
    }
    if (name !== "case.updated" || c.id !== CASE.id || c.version <= CASE.version) return;
    applyCase(c);
    showNotice(CASE.text.changed);
  },
}, ["case.updated", "case.timeline", "subsidy.updated"]);  // subsidies: case_subsidies.js
