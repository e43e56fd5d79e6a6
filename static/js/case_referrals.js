/* The case desk's referral views ('sent by me', 'by my team', 'waiting for my action'), kept
   live by referral.changed; the agencies' times for supervisors; the letter's print button. */
"use strict";

const printButton = document.querySelector("[data-print]");
if (printButton) printButton.addEventListener("click", () => window.print());

const rowsBox = document.getElementById("referral-rows");
if (rowsBox) {
  const DATA = JSON.parse(document.getElementById("referral-data").textContent);
  const params = new URLSearchParams(window.location.search);
  const VIEW = ["sent_by_me", "team", "waiting"].includes(params.get("view"))
    ? params.get("view") : "sent_by_me";
  document.querySelectorAll("[data-view]").forEach((a) => {
    if (a.dataset.view === VIEW) a.setAttribute("aria-current", "page");
  });
  document.querySelector("[data-testid=referral-table]").dataset.view = VIEW;

  const belongs = (r) => (VIEW === "team")
    || (VIEW === "sent_by_me" && r.sent_by_id === PAGE.user.id)
    || (VIEW === "waiting" && r.waiting_for_id === PAGE.user.id);

  const due = (r) => ({ sent: r.ack_due_at, acknowledged: r.accept_due_at,
                        accepted: r.outcome_due_at })[r.status] || null;

  function row(r) {
    const name = PAGE.lang === "th" ? r.agency_name_th : r.agency_name_en;
    return el("tr", { dataset: { referralId: r.id, status: r.status } },
      el("td", {}, el("a", { href: `/desk/cases/${r.case_id}` }, r.case_ref)),
      el("td", {}, name),
      el("td", {}, r.service),
      el("td", {}, label("referral_status", r.status),
        r.overdue ? [" ", el("strong", { class: "alarm", "data-testid": "referral-late" }, DATA.text.late)] : null),
      el("td", {}, fmtBE(r.sent_at)),
      el("td", {}, due(r) ? fmtBE(due(r)) : DATA.text.none));
  }

  function showEmpty() {
    document.getElementById("referral-empty").hidden = rowsBox.children.length > 0;
  }

  Live.start({
    async onState() {
      const r = await api("GET", `/api/cases/referrals?view=${VIEW}`);
      if (r.ok) rowsBox.replaceChildren(...r.data.items.map(row));
      showEmpty();
    },
    onEvent(name, r) {
      const existing = rowsBox.querySelector(`tr[data-referral-id="${r.id}"]`);
      if (existing && !belongs(r)) existing.remove();
      else if (existing) existing.replaceWith(row(r));
      else if (belongs(r)) rowsBox.prepend(row(r));
      showEmpty();
    },
  }, ["referral.changed"]);

  const timesForm = document.getElementById("times-form");
  async function loadTimes() {
    const days = timesForm.elements.namedItem("days").value || "90";
    const r = await api("GET", `/api/cases/referral-times?days=${encodeURIComponent(days)}`);
    if (!r.ok) return;
    const hours = (v) => (v === null ? DATA.text.none : DATA.text.hours.replace("__N__", v.toFixed(1)));
    const pair = (s) => `${hours(s.median_hours)} / ${hours(s.p90_hours)}`;
    document.getElementById("times-rows").replaceChildren(...r.data.agencies.map((a) => el("tr", {},
      el("td", {}, PAGE.lang === "th" ? a.name_th : a.name_en), el("td", {}, String(a.count)),
      el("td", {}, pair(a.ack)), el("td", {}, pair(a.accept)), el("td", {}, pair(a.outcome)))));
  }
  if (timesForm) {
    timesForm.addEventListener("submit", (ev) => { ev.preventDefault(); loadTimes(); });
    loadTimes();
  }
}
