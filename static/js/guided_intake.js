/* Guided intake on the call-taker desk (issue 14): for the category chosen (the call form's, or
   the panel's own for calls closed at intake) the current script (questions as a checklist,
   rights and benefits to explain) and the directory's agencies serving the caller's area, with
   tel: links and hours; one click records a referral at intake. The saved call carries the
   script version shown (window.CallFormExtras), the questions asked with any short answers,
   and the agency. Uses console.js (api, el). */
"use strict";
(() => {
  const panel = document.getElementById("guided-intake");
  const callForm = document.getElementById("call-form");
  if (!panel || !callForm) return;
  const GT = JSON.parse(document.getElementById("guided-intake-text").textContent);
  const field = (name) => callForm.elements.namedItem(name);
  const $ = (id) => document.getElementById(id);
  const choose = $("gi-category");
  const state = { category: "", province: "", district: "", scriptId: null, referral: null,
                  seq: 0 };

  const fmt = (text, params) => text.replace(/%\((\w+)\)s/g, (_, k) => params[k] ?? "");
  const area = () => ({ province: (field("province_code") || {}).value || "",
                        district: (field("district_code") || {}).value || "" });
  const action = () => (callForm.querySelector('input[name="action"]:checked') || {}).value;

  function status(text) { $("gi-status").textContent = text || ""; }

  function clearPanel() {
    state.scriptId = null;
    $("gi-script").hidden = true;
    $("gi-agency-block").hidden = true;
    $("gi-questions").replaceChildren();
    $("gi-rights").replaceChildren();
    $("gi-agencies").replaceChildren();
  }

  async function load() {
    const { province, district } = area();
    state.province = province;
    state.district = district;
    if (!state.category) { clearPanel(); return; }
    const seq = ++state.seq;
    status(GT.loading);
    const q = new URLSearchParams({ category: state.category });
    if (province) q.set("province_code", province);
    if (province && district) q.set("district_code", district);
    const r = await api("GET", `/admin/api/intake-guide?${q}`);
    if (seq !== state.seq) return;  // NOTE: a newer choice was made meanwhile.
    if (!r.ok) { clearPanel(); status((r.data && r.data.error) || GT.failed); return; }
    status("");
    showScript(r.data.script);
    showAgencies(r.data.agencies, province, district);
  }

  function showScript(script) {
    // NOTE: the area changed but not the script: keep what was ticked and typed.
    if (script && script.id === state.scriptId && !$("gi-script").hidden) return;
    state.scriptId = script ? script.id : null;
    $("gi-script").hidden = !script;
    if (!script) { status(GT.no_script); return; }
    $("gi-version").textContent = fmt(GT.version, { n: script.version });
    $("gi-version").dataset.scriptId = script.id;
    // Each question: ticked when asked; a short answer may be typed (typing ticks it).
    $("gi-questions").replaceChildren(...script.questions.map((text, i) => {
      const box = el("input", { type: "checkbox", "data-question": i,
                                "data-testid": `gi-question-${i}` });
      const answer = el("input", { type: "text", maxlength: 300, class: "gi-answer",
                                   "data-answer": i, "aria-label": fmt(GT.answer_of, { q: text }),
                                   placeholder: GT.answer, "data-testid": `gi-answer-${i}` });
      answer.addEventListener("input", () => { if (answer.value.trim()) box.checked = true; });
      return el("li", {}, el("label", {}, box, el("span", {}, text)), answer);
    }));
    $("gi-rights").replaceChildren(...script.rights.map((text) => el("li", {}, text)));
  }

  function showAgencies(agencies, province, district) {
    $("gi-agency-block").hidden = false;
    $("gi-area").textContent = !province ? GT.area_none
      : (district ? GT.area_district : GT.area_province);
    const list = $("gi-agencies");
    if (!agencies.length) { list.replaceChildren(el("li", { class: "muted" }, GT.no_agencies)); return; }
    list.replaceChildren(...agencies.map((a) => {
      const phones = a.phones.length
        ? a.phones.map((p) => el("a", { href: `tel:${p.tel}`, "data-testid": "gi-tel" }, p.display))
        : [el("span", { class: "muted" }, GT.no_phone)];
      const chosen = state.referral && state.referral.id === a.id;
      return el("li", { class: chosen ? "gi-chosen" : null, "data-agency-id": a.id,
                        "data-testid": `gi-agency-${a.id}` },
        el("strong", {}, a.name), " · ", a.kind_label, " · ", GT.serves, " ", GT[`reach_${a.reach}`],
        el("div", { class: "gi-phones" }, ...phones),
        a.hours ? el("div", { class: "muted" }, GT.hours, " ", a.hours) : null,
        el("button", { type: "button", "data-testid": `gi-refer-${a.id}`,
                       onclick: () => refer(a) }, GT.refer));
    }));
  }

  /* One click: the call is closed at intake as referred elsewhere, with that agency (the
     officer may still switch back to an incident: the referral then goes with it). */
  function refer(agency) {
    state.referral = { id: agency.id, name: agency.name };
    const close = callForm.querySelector('input[name="action"][value="close"]');
    if (close && !close.checked) {
      close.checked = true;
      close.dispatchEvent(new Event("change", { bubbles: true }));
    }
    const outcome = field("outcome");
    if (outcome) outcome.value = "referred_elsewhere";
    const select = field("agency_id");
    if (select) {
      if (![...select.options].some((o) => o.value === String(agency.id))) {
        select.append(el("option", { value: agency.id }, agency.name));
      }
      select.value = String(agency.id);
    }
    showReferral();
    for (const li of $("gi-agencies").children) {
      li.classList.toggle("gi-chosen", li.dataset.agencyId === String(agency.id));
    }
  }

  function showReferral() {
    const box = $("gi-referral");
    if (!state.referral) { box.hidden = true; box.replaceChildren(); return; }
    const text = action() === "incident" ? GT.referred_incident : GT.referred_close;
    box.replaceChildren(fmt(text, { agency: state.referral.name }), " ",
      el("button", { type: "button", "data-testid": "gi-undo", onclick: undoReferral }, GT.undo));
    box.hidden = false;
  }

  function undoReferral() {
    const select = field("agency_id");
    if (select && state.referral && select.value === String(state.referral.id)) select.value = "";
    const outcome = field("outcome");
    if (outcome && outcome.value === "referred_elsewhere") outcome.value = "";
    state.referral = null;
    showReferral();
    for (const li of $("gi-agencies").children) li.classList.remove("gi-chosen");
  }

  function setCategory(value, fromPanel) {
    if (value === state.category) return;
    state.category = value;
    if (choose.value !== value) choose.value = value;
    const formCategory = field("category");
    if (fromPanel && formCategory && formCategory.value !== value) {
      formCategory.value = value;
      formCategory.dispatchEvent(new Event("change", { bubbles: true }));
    }
    load();
  }

  /* The caller's district, also here: the call form's place fields are hidden when the call
     is closed at intake. Kept the same as the form's district (its options copied). */
  const district = $("gi-district");
  function mirrorDistricts() {
    const source = field("district_code");
    if (!source) return;
    const options = [...source.options].map((o) => `${o.value}|${o.text}`).join("\n");
    if (district.dataset.options !== options) {
      district.dataset.options = options;
      district.replaceChildren(...[...source.options].map((o) => el("option", { value: o.value }, o.text)));
    }
    if (district.value !== source.value) district.value = source.value;
  }
  district.addEventListener("change", () => {
    const source = field("district_code");
    if (!source || source.value === district.value) return;
    source.value = district.value;
    source.dispatchEvent(new Event("change", { bubbles: true }));
  });

  choose.addEventListener("change", () => setCategory(choose.value, true));
  callForm.addEventListener("change", (ev) => {
    const name = ev.target && ev.target.name;
    if (name === "category") setCategory(ev.target.value, false);
    else if (name === "action") showReferral();
    else if ((name === "district_code" || name === "province_code") && state.category) {
      mirrorDistricts();
      load();
    }
  });
  // NOTE: the place pickers are also set by the place search and the map (no change event):
  // the area is compared now and then, and the agencies reloaded when it moved.
  setInterval(() => {
    mirrorDistricts();
    const { province, district } = area();
    if (state.category && (province !== state.province || district !== state.district)) load();
  }, 1000);

  window.CallFormExtras = window.CallFormExtras || [];
  window.CallFormExtras.push((body) => {
    if (state.scriptId) {
      body.script_version_id = state.scriptId;
      // The questions asked (ticked, or answered) with the short answers typed.
      const asked = [];
      for (const box of $("gi-questions").querySelectorAll("input[data-question]")) {
        const i = Number(box.dataset.question);
        const answer = $("gi-questions").querySelector(`input[data-answer="${i}"]`);
        const text = answer ? answer.value.trim() : "";
        if (box.checked || text) asked.push({ question: i, answer: text });
      }
      if (asked.length) body.script_answers = asked;
    }
    if (state.referral && body.action === "incident") body.referral_agency_id = state.referral.id;
  });

  document.addEventListener("call-saved", () => {
    state.referral = null;
    state.category = "";
    choose.value = "";
    showReferral();
    clearPanel();
    status("");
  });

  // A restored draft may already carry a category.
  const initial = field("category") && field("category").value;
  if (initial) setCategory(initial, false);
})();
