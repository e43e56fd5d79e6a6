/* Case worker desk: cases appear and move live; a new case can be opened on the desk. */
"use strict";

function caseRow(c) {
  const k = PAGE.lang === "th" ? "_th" : "_en";
  return el("tr", { dataset: { caseId: c.id } },
    el("td", {}, el("a", { href: `/desk/cases/${c.id}` }, c.ref)),
    el("td", {}, fmtBE(c.opened_at)),
    el("td", {}, label("category", c.category)),
    el("td", {}, label("case_source", c.source)),
    el("td", {}, [c.place["district" + k], c.place["province" + k]].filter(Boolean).join(", ")),
    el("td", {}, label("case_status", c.status), c.transfer_to_province
      ? [" ", el("small", { class: "alarm" }, label("transfer_status", "pending"))] : null,
    c.handover_to_id ? [" ", el("small", { class: "alarm", "data-testid": `handover-badge-${c.id}` },
                                label("handover_status", "pending"))] : null));
}

Live.start({
  async onState() {
    // The board snapshot is taken first; the list is read after it, so nothing falls between.
    const view = document.querySelector("[data-testid=case-table]").dataset.view || "all";
    const query = view === "past_week" ? "past_week=1" : `view=${encodeURIComponent(view)}`;
    const r = await api("GET", `/api/cases?${query}`);
    if (r.ok) document.getElementById("case-rows").replaceChildren(...r.data.items.map(caseRow));
  },
  onEvent(name, c) {
    const view = document.querySelector("[data-testid=case-table]").dataset.view || "all";
    if (view === "past_week") return;  // changes rarely: the page is loaded again to see them
    // A case transferred to another province leaves a provincial desk.
    const here = PAGE.user.province === null || c.province_code === PAGE.user.province;
    const belongs = here && (view === "all" || (view === "mine" && c.assigned_to_id === PAGE.user.id)
      || (view === "unassigned" && c.assigned_to_id === null && c.status !== "closed"));
    const existing = document.querySelector(`tr[data-case-id="${c.id}"]`);
    if (existing && !belongs) existing.remove();
    else if (existing) existing.replaceWith(caseRow(c));
    else if (belongs) document.getElementById("case-rows").prepend(caseRow(c));
  },
}, ["case.opened", "case.updated"]);

/* A case opened on the desk: a walk-in, a letter, another agency, a volunteer's report. */
const newCase = document.getElementById("new-case-form");
if (newCase) {
  newCase.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (name) => newCase.elements.namedItem(name).value;
    const body = { source: value("source"), category: value("category"),
                   summary: value("summary"), address_text: value("address_text") };
    if (value("province_code")) body.province_code = value("province_code");
    const msg = document.getElementById("new-case-message");
    const r = await api("POST", "/api/cases", body);
    newCase.querySelectorAll(".field-error").forEach((n) => n.remove());
    if (r.ok) {
      window.location = `/desk/cases/${r.data.id}`;
    } else {
      for (const [name, message] of Object.entries(r.data.fields || {})) {
        const input = newCase.elements.namedItem(name);
        (input ? input.closest("label") : newCase).append(
          el("span", { class: "field-error", "data-field": name }, message));
      }
      msg.className = "message error";
      msg.textContent = r.data.error || T.error;
    }
  });
}
