/* Case worker desk: cases handed over from incidents appear live. */
"use strict";

function caseRow(c) {
  const k = PAGE.lang === "th" ? "_th" : "_en";
  return el("tr", { dataset: { caseId: c.id } },
    el("td", {}, el("a", { href: `/desk/cases/${c.id}` }, c.ref)),
    el("td", {}, fmtBE(c.opened_at)),
    el("td", {}, label("category", c.category)),
    el("td", {}, c.priority),
    el("td", {}, [c.place["district" + k], c.place["province" + k]].filter(Boolean).join(", ")),
    el("td", {}, label("case_status", c.status)));
}

Live.start({
  async onState() {
    // The board snapshot is taken first; the list is read after it, so nothing falls between.
    const r = await api("GET", "/api/cases");
    if (r.ok) document.getElementById("case-rows").replaceChildren(...r.data.map(caseRow));
  },
  onEvent(name, c) {
    if (name !== "case.opened" || document.querySelector(`tr[data-case-id="${c.id}"]`)) return;
    document.getElementById("case-rows").prepend(caseRow(c));
  },
}, ["case.opened"]);
