/* Administrator: the users desk. Add a user (the temporary password is shown once), edit one,
   disable / enable, reset the password, sign out everywhere, reset two-step login. Errors show
   on their field; nothing here is inline script (the page data is a JSON script element). */
"use strict";
document.getElementById("conn").hidden = true;  // this page has no live feed
const DESK = JSON.parse(document.getElementById("users-data").textContent);
const DT = DESK.text;

/* The team picker lists the teams of the chosen province; only field members have a team. */
function wireTeamPicker(form) {
  const role = form.querySelector("[name=role]");
  const province = form.querySelector("[name=province_code]");
  const team = form.querySelector("[name=team_id]");
  const fill = () => {
    const keep = team.value || team.dataset.value || "";
    const teams = DESK.teams.filter((t) => t.province_code === province.value);
    team.replaceChildren(el("option", { value: "" }, role.value === "field_member" ? DT.choose_team : "—"),
      ...teams.map((t) => el("option", { value: String(t.id) }, t.name)));
    if (teams.some((t) => String(t.id) === keep)) team.value = keep;
    team.disabled = role.value !== "field_member";
    if (team.disabled) team.value = "";
    team.dataset.value = "";
  };
  role.addEventListener("change", fill);
  province.addEventListener("change", fill);
  fill();
}

function formBody(form) {
  const value = (name) => {
    const input = form.querySelector(`[name=${name}]`);
    return input ? input.value.trim() : undefined;
  };
  const body = {
    display_name: value("display_name"),
    role: value("role"),
    province_code: value("province_code") || null,
    team_id: value("team_id") ? Number(value("team_id")) : null,
    agency_id: value("agency_id") ? Number(value("agency_id")) : null,
    phone: value("phone") || null,
  };
  if (form.querySelector("[name=username]")) body.username = value("username");
  return body;
}

function clearErrors(form) {
  for (const bad of form.querySelectorAll(".field-error")) bad.remove();
  for (const bad of form.querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
}

/* The answer's message, and each field's message beside its input. */
function showErrors(form, msg, data) {
  msg.textContent = `${T.error} ${data.error || ""}`;
  msg.className = "message error";
  for (const [path, text] of Object.entries(data.fields || {})) {
    const input = form.querySelector(`[name="${path}"]`);
    if (!input) { msg.textContent += ` ${text}`; continue; }
    input.setAttribute("aria-invalid", "true");
    input.closest("label").after(el("span", { class: "field-error", "data-field": path }, text));
  }
}

function showTemporary(box, text, password) {
  box.hidden = false;
  box.replaceChildren(text, " ", el("span", { class: "temp-password", "data-testid": "temp-password" }, password));
}

const newForm = document.getElementById("new-user-form");
if (newForm) {
  wireTeamPicker(newForm);
  const msg = document.querySelector("[data-testid=create-message]");
  const box = document.querySelector("[data-testid=new-user] [data-testid=temp-box]");
  newForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(newForm);
    box.hidden = true;
    const r = await api("POST", "/api/users", formBody(newForm));
    if (!r.ok) { showErrors(newForm, msg, r.data); return; }
    const u = r.data.user;
    msg.textContent = DT.created; msg.className = "message ok";
    showTemporary(box, "", r.data.temporary_password);
    const rows = document.getElementById("user-rows");
    const empty = rows.querySelector("tr.empty");
    if (empty) empty.remove();
    const team = DESK.teams.find((t) => t.id === u.team_id);
    const province = newForm.querySelector("[name=province_code]");
    rows.prepend(el("tr", { "data-id": u.id, "data-username": u.username },
      el("td", {}, u.username), el("td", {}, u.display_name), el("td", {}, label("role", u.role)),
      el("td", {}, u.province_code ? province.selectedOptions[0].textContent : DT.national),
      el("td", {}, team ? team.name : ""), el("td", {}, ""), el("td", {}, ""),
      el("td", { class: "actions" }, el("a", { href: `/desk/users/${u.id}` }, DT.open))));
    newForm.reset();
    newForm.querySelector("[name=role]").dispatchEvent(new Event("change"));
  });
}

const editForm = document.getElementById("edit-user-form");
if (editForm) {
  const userId = document.querySelector("[data-testid=user-detail]").dataset.id;
  wireTeamPicker(editForm);
  const msg = document.querySelector("[data-testid=edit-message]");
  editForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(editForm);
    const r = await api("PUT", `/api/users/${userId}`, formBody(editForm));
    if (!r.ok) { showErrors(editForm, msg, r.data); return; }
    msg.textContent = T.saved; msg.className = "message ok";
  });

  const actionMsg = document.querySelector("[data-testid=action-message]");
  const box = document.querySelector("[data-testid=user-actions] [data-testid=temp-box]");
  const confirmText = { disable: DT.confirm_disable, "reset-password": DT.confirm_reset,
                        "sign-out": DT.confirm_sign_out, "reset-2fa": DT.confirm_2fa };
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", async () => {
      const action = button.dataset.action;
      if (confirmText[action] && !window.confirm(confirmText[action])) return;
      box.hidden = true;
      const r = await api("POST", `/api/users/${userId}/${action}`);
      if (!r.ok) {
        actionMsg.textContent = `${T.error} ${r.data.error || ""}`;
        actionMsg.className = "message error";
        return;
      }
      if (r.data.temporary_password) {
        actionMsg.textContent = ""; actionMsg.className = "message ok";
        showTemporary(box, DT.reset, r.data.temporary_password);
        return;
      }
      if (action === "sign-out") {
        actionMsg.textContent = `${DT.signed_out} ${r.data.sessions_ended}`;
        actionMsg.className = "message ok";
        return;
      }
      window.location.reload();  // status, buttons and history change together
    });
  }
}
