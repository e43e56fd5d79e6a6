/* A case's subsidies (เงินสงเคราะห์): ask, approve or reject at the level waiting, record the
   payment, attach documents. The server decides who may do what; the buttons follow it. */
"use strict";
(() => {
  const DATA = JSON.parse(document.getElementById("subsidy-data").textContent);
  const base = `/api/cases/${DATA.case_id}/subsidies`;
  const rows = document.getElementById("subsidy-rows");
  const message = document.getElementById("subsidy-message");

  function say(text, ok) {
    message.className = ok ? "message ok" : "message error";
    message.textContent = text || "";
  }

  function row(s) {
    const status = s.status === "pending"
      ? `${label("subsidy_status", s.status)} (${DATA.text.level}: ${label("subsidy_level", s.level)})`
      : label("subsidy_status", s.status);
    const docs = el("td", {}, ...s.document_list.map((d) => el("a", {
      href: `${base}/${s.id}/documents/${d.id}`, class: "doc" }, d.title || d.content_type, " ")));
    const actions = el("td", {});
    if (s.may_decide) {
      actions.append(el("button", { type: "button", "data-act": "approve", "data-id": s.id,
                                    "data-version": s.version }, DATA.text.approve),
                     el("button", { type: "button", "data-act": "reject", "data-id": s.id,
                                    "data-version": s.version }, DATA.text.reject));
    }
    if (s.status === "approved") {
      actions.append(el("button", { type: "button", "data-act": "paid", "data-id": s.id,
                                    "data-version": s.version }, DATA.text.paid));
    }
    if (s.status === "pending" || s.status === "approved") {
      actions.append(el("input", { type: "file", accept: "application/pdf,image/jpeg,image/png",
                                   "data-file": s.id }));
    }
    return el("tr", { "data-subsidy": s.id },
              el("td", {}, fmtBE(s.requested_at)), el("td", { class: "num" }, s.amount),
              el("td", {}, label("budget_line", s.budget_line)), el("td", {}, status),
              el("td", {}, s.reason, s.reject_reason ? ` — ${s.reject_reason}` : ""), docs, actions);
  }

  async function load() {
    const r = await api("GET", base);
    if (!r.ok) { say(r.data.error); return; }
    rows.replaceChildren(...r.data.items.map(row));
    const select = document.getElementById("subsidy-budget-line");
    if (select && !select.options.length) {
      select.append(...r.data.budget_lines.map((b) => el("option", { value: b },
                                                         label("budget_line", b))));
    }
  }

  document.getElementById("subsidy-form")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const value = (name) => form.elements.namedItem(name).value;
    const r = await api("POST", base, { amount: value("amount"), reason: value("reason"),
                                        budget_line: value("budget_line") });
    form.querySelectorAll(".field-error").forEach((n) => n.remove());
    for (const [name, text] of Object.entries(r.data.fields || {})) {
      const input = form.elements.namedItem(name);
      (input ? input.closest("label") : form).append(el("span", { class: "field-error",
                                                                  "data-field": name }, text));
    }
    say(r.ok ? "" : r.data.error, r.ok);
    if (r.ok) { form.reset(); load(); }
  });

  rows.addEventListener("click", async (ev) => {
    const button = ev.target.closest("button[data-act]");
    if (!button) return;
    const act = button.dataset.act;
    const body = { version: Number(button.dataset.version) };
    if (act === "reject") {
      const note = window.prompt(DATA.text.reject_reason);
      if (note === null) return;
      body.note = note;
    }
    if (act === "paid") {
      const paidOn = window.prompt(DATA.text.paid_on);
      if (paidOn === null) return;
      const ref = window.prompt(DATA.text.payment_ref);
      if (ref === null) return;
      delete body.note;
      body.paid_on = paidOn;
      body.payment_ref = ref;
    }
    const r = await api("POST", `${base}/${button.dataset.id}/${act}`, body);
    say(r.ok ? "" : Object.values(r.data.fields || {})[0] || r.data.error, r.ok);
    load();
  });

  rows.addEventListener("change", async (ev) => {
    const input = ev.target.closest("input[data-file]");
    if (!input || !input.files.length) return;
    const form = new FormData();
    form.append("file", input.files[0]);
    form.append("title", input.files[0].name);
    let resp;
    try {
      resp = await fetch(`${base}/${input.dataset.file}/documents`, {
        method: "POST", body: form, credentials: "same-origin",
        headers: { "X-CSRFToken": CSRF, Accept: "application/json" } });
    } catch (err) { say(T.offline); return; }
    let data = {};
    try { data = await resp.json(); } catch (err) { data = {}; }
    say(resp.ok ? "" : Object.values(data.fields || {})[0] || data.error, resp.ok);
    load();
  });

  // Live: a subsidy of this case asked for, decided at a level, rejected or paid anywhere
  // (subsidy.updated, heard by case_detail.js's feed) reloads the list in place; events close
  // together load it once.
  let reloadTimer = null;
  window.addEventListener("live:subsidy.updated", (ev) => {
    if (!ev.detail || ev.detail.case_id !== DATA.case_id) return;
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, 200);
  });

  load();
})();
