/* An agency user's referrals: the list (rows without personal data), each referral's shared
   data opened on demand (logged), and the agency's steps with the same rules as the link page.
   The list follows every change live (agency.referral) and after a reconnect. */
"use strict";
const AG = JSON.parse(document.getElementById("agency-data").textContent);
const AT = AG.text;
const list = document.getElementById("agency-rows");
const opened = new Set();

function notice(text, kind) {
  const n = document.getElementById("agency-notice");
  n.textContent = text;
  n.className = `message ${kind || ""}`;
  n.hidden = !text;
}

function sharedFacts(shared) {
  const facts = [];
  const add = (title, value) => { if (value) facts.push(el("dt", {}, title), el("dd", {}, value)); };
  add(AT.problem, shared.summary);
  add(AT.needs, shared.needs);
  if (shared.client_name) {
    add(AT.client, shared.age_years != null ? `${shared.client_name}, ${shared.age_years} ${AT.years}`
                                              : shared.client_name);
  }
  add(AT.national_id, shared.national_id);
  add(AT.phone, shared.phone);
  add(AT.address, shared.address_text);
  add(AT.health, shared.health);
  return el("dl", { class: "shared", "data-testid": "agency-shared" }, facts);
}

async function openRow(item, r) {
  const got = await api("GET", `/api/agency/referrals/${r.id}`);
  if (!got.ok) { notice(got.data.error || T.error, "error"); return; }
  opened.add(r.id);
  item.querySelector(".shared-box").replaceChildren(sharedFacts(got.data.shared || {}));
}

async function step(item, r, to) {
  const form = item.querySelector("form");
  form.querySelectorAll(".field-error").forEach((n) => n.remove());
  const note = form.elements.namedItem("note").value;
  const got = await api("POST", `/api/agency/referrals/${r.id}/step`, { to, note, version: r.version });
  if (!got.ok) {
    notice(got.data.error || T.error, "error");
    for (const [name, message] of Object.entries(got.data.fields || {})) {
      form.append(el("span", { class: "field-error", "data-field": name }, message));
    }
    if (got.status === 409) refresh();
    return;
  }
  notice(AT.saved, "ok");
  refresh();
}

function row(r) {
  const due = [];
  if (r.status === "sent") due.push(`${AT.due_ack} ${fmtBE(r.ack_due_at)}`);
  if (r.status === "sent" || r.status === "acknowledged") due.push(`${AT.due_accept} ${fmtBE(r.accept_due_at)}`);
  const item = el("li", { class: "agency-referral", "data-referral-id": r.id, "data-status": r.status,
                          "data-testid": `agency-referral-${r.id}` },
    el("p", {}, el("strong", {}, `${AT.case} ${r.case_ref || ""}`), " · ", label("category", r.category),
       placeName(r) ? ` · ${placeName(r)}` : ""),
    el("p", {}, `${AT.service} `, el("strong", {}, r.service)),
    el("p", { "data-testid": "agency-status" }, label("referral_status", r.status),
       r.overdue ? el("strong", { class: "alarm" }, ` ${AT.late}`) : null,
       r.responder_name ? ` · ${r.responder_name}` : "",
       r.decline_reason ? ` — ${r.decline_reason}` : "", r.outcome ? ` — ${r.outcome}` : ""),
    el("p", { class: "muted" }, `${AT.sent} ${fmtBE(r.sent_at)}`, due.length ? ` · ${due.join(" · ")}` : ""),
    el("div", { class: "shared-box" },
       el("button", { type: "button", class: "open", "data-testid": `agency-open-${r.id}` }, AT.open)));
  item.querySelector("button.open").addEventListener("click", () => openRow(item, r));
  if (r.next_steps.length) {
    const form = el("form", { class: "agency-step", novalidate: true },
      el("label", {}, AT.note, " ", el("textarea", { name: "note", rows: 2, maxlength: 4000,
                                                   "data-testid": `agency-note-${r.id}` })),
      ...r.next_steps.map((s) => el("button", { type: "button", "data-to": s,
                                                "data-testid": `agency-step-${s}-${r.id}` },
                                    label("referral_step", s))));
    form.addEventListener("click", (ev) => {
      const button = ev.target.closest("button[data-to]");
      if (button) step(item, r, button.dataset.to);
    });
    item.append(form);
  }
  if (opened.has(r.id)) openRow(item, r);
  return item;
}

function render(rows) {
  list.replaceChildren(...(rows.length ? rows.map(row)
                                       : [el("li", { class: "muted", "data-testid": "agency-empty" }, AT.none)]));
}

async function refresh() {
  const got = await api("GET", "/api/agency/referrals");
  if (got.ok) render(got.data);
}

render(AG.rows);
Live.start({
  onState() { refresh(); },
  onEvent() { refresh(); notice(AT.changed, ""); },
}, ["agency.referral"]);
