/* A province's subsidy approvals (cases/subsidies.py settings_view / save_settings): the
   levels in order with who approves at each, and the budget lines, saved at once; the server
   checks everything and names each wrong field, nothing is saved until all is right. */
"use strict";
document.getElementById("conn").hidden = true;  // this page has no live feed
const SET = JSON.parse(document.getElementById("settings-data").textContent);
const URL_SETTINGS = `/api/cases/subsidy-settings/${SET.province}`;
const levelRows = document.getElementById("level-rows");
const lineRows = document.getElementById("line-rows");
const settingsMsg = document.getElementById("settings-message");
const picker = document.querySelector("[data-testid=settings-province]");
if (picker) picker.addEventListener("change", () => picker.form.submit());
let STATE = null;

function input(name, value, group, max) {
  return el("input", { name, value: value || "", maxlength: max, "data-field": name,
                       placeholder: name === "name_th" && group ? label(group, value) : null });
}

function levelRow(level, holders, waiting) {
  const boxes = STATE.candidates.map((c) => el("label", { class: "check" },
    el("input", { type: "checkbox", name: "approver", value: c.id,
                  checked: holders.includes(c.id) }), " ", c.name, " (", label("role", c.role), ")"));
  const tr = el("tr", { class: "level", "data-code": level.code },
    el("td", { class: "order" }),
    el("td", {}, input("code", level.code, null, 32)),
    el("td", {}, el("input", { name: "name_th", value: level.name_th || "", maxlength: 120,
                               placeholder: label("subsidy_level", level.code) })),
    el("td", {}, input("name_en", level.name_en, null, 120)),
    el("td", { class: "approvers", "data-field": "approvers" }, boxes,
       waiting ? el("small", { class: "muted" }, SET.text.waiting) : null),
    el("td", {},
       el("button", { type: "button", "data-move": "-1", title: SET.text.up, "aria-label": SET.text.up }, "↑"),
       el("button", { type: "button", "data-move": "1", title: SET.text.down, "aria-label": SET.text.down }, "↓"),
       el("button", { type: "button", "data-remove": "1" }, SET.text.remove)));
  return tr;
}

function lineRow(line) {
  return el("tr", { class: "line" },
    el("td", {}, input("code", line.code, null, 32)),
    el("td", {}, el("input", { name: "name_th", value: line.name_th || "", maxlength: 120,
                               placeholder: label("budget_line", line.code) })),
    el("td", {}, input("name_en", line.name_en, null, 120)),
    el("td", {}, el("button", { type: "button", "data-remove": "1" }, SET.text.remove)));
}

function number() {
  [...levelRows.children].forEach((tr, i) => { tr.querySelector(".order").textContent = String(i + 1); });
}

function render(state) {
  STATE = state;
  levelRows.replaceChildren(...state.levels.map((lv) => levelRow(
    lv, state.approvers[lv.code] || [], state.waiting_levels.includes(lv.code))));
  lineRows.replaceChildren(...state.budget_lines.map(lineRow));
  number();
}

async function load() {
  const r = await api("GET", URL_SETTINGS);
  if (!r.ok) { settingsMsg.className = "message error"; settingsMsg.textContent = r.data.error; return; }
  render(r.data);
}

function clearErrors() {
  document.querySelectorAll("#settings-form .field-error").forEach((n) => n.remove());
  document.querySelectorAll("#settings-form [aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

function showErrors(fields) {
  for (const [path, text] of Object.entries(fields || {})) {
    const m = /^(levels|budget_lines|approvers)(?:\.(\d+))?(?:\.(\w+))?$/.exec(path);
    const rows = m && m[1] === "budget_lines" ? lineRows : levelRows;
    let target = null;
    if (m && m[2] !== undefined) {
      const tr = rows.children[Number(m[2])];
      target = tr && (m[1] === "approvers" ? tr.querySelector(".approvers")
        : tr.querySelector(`[name=${m[3]}]`));
    } else if (m) {
      target = rows.closest("table");
    }
    if (!target) { settingsMsg.textContent += ` ${text}`; continue; }
    target.setAttribute("aria-invalid", "true");
    target.after(el("span", { class: "field-error", "data-field": path }, text));
  }
}

function collect(rows) {
  return [...rows.children].map((tr) => ({
    code: tr.querySelector("[name=code]").value.trim(),
    name_th: tr.querySelector("[name=name_th]").value.trim(),
    name_en: tr.querySelector("[name=name_en]").value.trim(),
  }));
}

document.getElementById("settings-form").addEventListener("click", (ev) => {
  const button = ev.target.closest("button[data-move], button[data-remove]");
  if (!button) return;
  const tr = button.closest("tr");
  if (button.dataset.remove) tr.remove();
  else if (button.dataset.move === "-1" && tr.previousElementSibling) tr.previousElementSibling.before(tr);
  else if (button.dataset.move === "1" && tr.nextElementSibling) tr.nextElementSibling.after(tr);
  number();
});

document.getElementById("add-level").addEventListener("click", () => {
  levelRows.append(levelRow({ code: "", name_th: "", name_en: "" }, [], false));
  number();
});
document.getElementById("add-line").addEventListener("click", () => {
  lineRows.append(lineRow({ code: "", name_th: "", name_en: "" }));
});

document.getElementById("settings-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors();
  const levels = collect(levelRows);
  const approvers = {};
  [...levelRows.children].forEach((tr, i) => {
    const code = levels[i].code;
    if (!code) return;
    approvers[code] = [...tr.querySelectorAll("input[name=approver]:checked")].map((b) => Number(b.value));
  });
  const r = await api("PUT", URL_SETTINGS, { version: STATE.version, levels,
                                             budget_lines: collect(lineRows), approvers });
  if (r.ok) {
    render(r.data);
    settingsMsg.className = "message ok";
    settingsMsg.textContent = SET.text.saved;
    return;
  }
  settingsMsg.className = "message error";
  settingsMsg.textContent = r.data.error || T.error;
  showErrors(r.data.fields);
});

load();
