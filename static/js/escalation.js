/* Administrator: edit a province's escalation ladder per priority; errors show on their field. */
"use strict";
document.getElementById("conn").hidden = true;  // this page has no live feed
const ESC_PROVINCE = document.querySelector("[data-testid=escalation]").dataset.province;
const PROVINCE_PICKER = document.querySelector("[data-testid=esc-province]");
if (PROVINCE_PICKER) PROVINCE_PICKER.addEventListener("change", () => PROVINCE_PICKER.form.submit());

for (const form of document.querySelectorAll("form.ladder")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const msg = form.querySelector(".message");
    for (const bad of form.querySelectorAll(".field-error")) bad.remove();
    for (const bad of form.querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
    const rows = [...form.querySelectorAll("tr.rung")].filter((tr) => tr.querySelector("[name=action]").value);
    const rungs = rows.map((tr) => {
      const value = (name) => tr.querySelector(`[name=${name}]`).value.trim();
      return {
        action: value("action"),
        wait_seconds: value("wait_seconds") === "" ? null : Number(value("wait_seconds")),
        contact_name: value("contact_name"),
        contact_phone: value("contact_phone") || null,
      };
    });
    const r = await api("PUT", `/api/escalation/${ESC_PROVINCE}/${form.dataset.priority}`, { rungs });
    if (r.ok) {
      msg.textContent = T.saved; msg.className = "message ok";
      return;
    }
    msg.textContent = `${T.error} ${r.data.error}`; msg.className = "message error";
    for (const [path, text] of Object.entries(r.data.fields || {})) {
      const m = /^rungs\.(\d+)\.(\w+)/.exec(path);
      if (!m) { msg.textContent += ` ${text}`; continue; }
      const input = rows[Number(m[1])] && rows[Number(m[1])].querySelector(`[name=${m[2]}]`);
      if (!input) { msg.textContent += ` ${text}`; continue; }
      input.setAttribute("aria-invalid", "true");
      input.after(el("span", { class: "field-error" }, text));
    }
  });
}
