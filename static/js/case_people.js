/* The people of a case across cases: possible duplicates while a person is typed and on the
   case's list, merging two records of one person (with the reason), and the transfer of the
   case to another province. Loaded after case_detail.js (uses CASE, fieldErrors, showNotice). */
"use strict";

/* Merge: the person of this case keeps the other record's rows in every case. */
document.getElementById("duplicates")?.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button.merge");
  if (!button) return;
  const box = document.getElementById("duplicates");
  const reason = window.prompt(box.dataset.prompt);
  if (reason === null) return;
  const msg = document.getElementById("merge-message");
  button.disabled = true;
  const r = await api("POST", "/api/cases/persons/merge", {
    keep_person_id: Number(button.dataset.keep), merge_person_id: Number(button.dataset.merge),
    reason });
  button.disabled = false;
  if (r.ok) { window.location.reload(); return; }
  msg.className = "message error";
  msg.textContent = (r.data.fields && Object.values(r.data.fields)[0]) || r.data.error || T.error;
});

/* While a person is typed: who on record may be the same person, and why. */
const personForm = document.getElementById("person-form");
let checkTimer = null;
async function checkDuplicates() {
  const value = (name) => personForm.elements.namedItem(name).value.trim();
  const body = { full_name: value("full_name"), national_id: value("national_id"),
                 birth_date: value("birth_date") };
  if (/^\d+$/.test(value("age_years"))) body.age_years = Number(value("age_years"));
  const box = document.getElementById("person-duplicates");
  if (!body.full_name && !body.national_id) { box.hidden = true; return; }
  const r = await api("POST", `/api/cases/${CASE.id}/people/duplicates`, body);
  if (!r.ok) return;
  const items = r.data.candidates || [];
  box.querySelector("ul").replaceChildren(...items.map((d) => el("li",
    { "data-testid": "person-duplicate" },
    d.full_name, " · ", d.national_id_masked || "—",
    d.birth_year_be ? ` · ${box.dataset.born.replace("%(year)s", d.birth_year_be)}` : "",
    " · ", ...d.cases.map((c, i) => [i ? ", " : "", el("a", { href: `/desk/cases/${c.id}` }, c.ref)]),
    " · ", el("strong", {}, d.reasons.map((x) => label("duplicate_reason", x)).join(" + ")))));
  box.hidden = items.length === 0;
}
personForm?.addEventListener("input", (ev) => {
  if (!["full_name", "national_id", "birth_date", "age_years"].includes(ev.target.name)) return;
  clearTimeout(checkTimer);
  checkTimer = setTimeout(checkDuplicates, 400);
});

/* Transfer to another province: the receiving province accepts or declines. */
document.getElementById("transfer-form")?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const body = { to_province: form.elements.namedItem("to_province").value,
                 reason: form.elements.namedItem("reason").value, version: CASE.version };
  const r = await api("POST", `/api/cases/${CASE.id}/transfer`, body);
  fieldErrors(form, r.data.fields);
  if (r.ok) { window.location.reload(); return; }
  const msg = document.getElementById("transfer-message");
  msg.className = "message error";
  msg.textContent = r.data.error || T.error;
});
