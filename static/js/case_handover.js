/* Case page: offer the case to another worker, answer or withdraw the offer, withdraw a
   province transfer, set the case's district and subdistrict; told live when the case has left
   this province. Loaded after case_detail.js (uses CASE, fieldErrors, showNotice). */
"use strict";

// NOTE: set before Live.start registers its events (it first awaits the state snapshot).
Live.extraNames = [...(Live.extraNames || []), "case.transfer", "case.handover"];

function handoverError(r, form) {
  if (form) fieldErrors(form, r.data.fields);
  const msg = document.getElementById("handover-message");
  msg.className = "message error";
  msg.textContent = (r.data.fields && Object.values(r.data.fields)[0]) || r.data.error || T.error;
}

document.getElementById("handover-form")?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const to = form.elements.namedItem("to_user_id").value;
  const body = { to_user_id: to ? Number(to) : null, note: form.elements.namedItem("note").value,
                 version: CASE.version };
  const r = await api("POST", `/api/cases/${CASE.id}/handover`, body);
  if (r.ok) { window.location.reload(); return; }
  handoverError(r, form);
});

document.getElementById("handover")?.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button.handover-step");
  if (!button) return;
  const body = { version: Number(button.dataset.version) };
  if (button.dataset.step === "decline") {
    const reason = window.prompt(button.dataset.prompt);
    if (reason === null) return;
    body.reason = reason;
  }
  const r = await api("POST", `/api/cases/handovers/${button.dataset.handover}/${button.dataset.step}`,
                      body);
  if (r.ok || r.status === 409) { window.location.reload(); return; }
  handoverError(r);
});

document.getElementById("transfer-withdraw")?.addEventListener("click", async (ev) => {
  const b = ev.target;
  const r = await api("POST", `/api/cases/transfers/${b.dataset.transfer}/withdraw`,
                      { version: Number(b.dataset.version) });
  if (r.ok || r.status === 409) { window.location.reload(); return; }
  handoverError(r);
});

const placeForm = document.getElementById("place-form");
async function loadSubdistricts() {
  const district = placeForm.elements.namedItem("district_code").value;
  const select = placeForm.elements.namedItem("subdistrict_code");
  const options = [el("option", { value: "" }, "—")];
  if (district) {
    const r = await api("GET", `/api/geo/districts/${encodeURIComponent(district)}/subdistricts`);
    for (const p of (r.ok ? r.data : [])) {
      options.push(el("option", { value: p.code, selected: p.code === select.dataset.current },
                      PAGE.lang === "th" ? p.name_th : p.name_en));
    }
  }
  select.replaceChildren(...options);
}
if (placeForm) {
  loadSubdistricts();
  placeForm.elements.namedItem("district_code").addEventListener("change", loadSubdistricts);
  placeForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { district_code: placeForm.elements.namedItem("district_code").value,
                   subdistrict_code: placeForm.elements.namedItem("subdistrict_code").value,
                   version: CASE.version };
    const r = await api("PUT", `/api/cases/${CASE.id}/place`, body);
    if (r.ok) { window.location.reload(); return; }
    handoverError(r, placeForm);
  });
}

window.addEventListener("live:case.transfer", (ev) => {
  const t = ev.detail;
  const left = document.getElementById("case-left");
  if (t.case_id !== CASE.id || t.status !== "accepted" || !left.dataset.province
      || left.dataset.province === t.to_province) return;
  left.textContent = left.dataset.text.replace("{p}", t.to_place[PAGE.lang === "th" ? "province_th"
                                                                                    : "province_en"]);
  left.hidden = false;
  document.querySelectorAll("main form button, main button").forEach((b) => { b.disabled = true; });
});

window.addEventListener("live:case.handover", (ev) => {
  if (ev.detail.case_id === CASE.id) showNotice(CASE.text.changed);
});
