/* Case worker desk: cases handed over from incidents appear live. */
"use strict";
let loaded = false;
Live.start({
  onState() {
    // A replay too long to apply: the server-rendered list is the truth, so reload it.
    if (loaded) window.location.reload();
    loaded = true;
  },
  onEvent(name, c) {
    if (name !== "case.opened" || document.querySelector(`tr[data-case-id="${c.id}"]`)) return;
    const p = c.place || {};
    document.getElementById("case-rows").prepend(el("tr", { dataset: { caseId: c.id } },
      el("td", {}, el("a", { href: `/desk/cases/${c.id}` }, c.ref)),
      el("td", {}, fmtBE(c.opened_at)),
      el("td", {}, label("category", c.category)),
      el("td", {}, c.priority),
      el("td", {}, c.province_code),
      el("td", {}, label("case_status", c.status))));
  },
}, ["case.opened"]);
