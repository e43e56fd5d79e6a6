/* Case desk: cases another worker offered to me (accept: the case becomes mine; decline: with
   the reason), kept live. Loaded before cases.js (adds its event to Live's). */
"use strict";

Live.extraNames = [...(Live.extraNames || []), "case.handover"];
const offerBox = document.getElementById("offered-to-me");

function offerRow(h) {
  const buttons = ["accept", "decline"].map((a) => el("button", {
    type: "button", class: "handover-answer", "data-answer": a, "data-handover": h.id,
    "data-version": h.version, "data-testid": `handover-${a}-${h.id}` },
  offerBox.dataset[a], " "));
  return el("tr", { dataset: { handoverId: h.id } },
    el("td", {}, el("a", { href: `/desk/cases/${h.case_id}` }, h.case_ref)),
    el("td", {}, h.offered_by_name), el("td", {}, label("category", h.category)),
    el("td", {}, h.summary), el("td", {}, h.note), el("td", {}, buttons));
}

function showOffers() {
  // NOTE: the box stays while it holds the answer's message ("the case is now yours").
  offerBox.hidden = !document.querySelector("#handover-rows tr") &&
    !document.getElementById("handover-message").textContent;
}

window.addEventListener("live:case.handover", (ev) => {
  const h = ev.detail;
  const row = document.querySelector(`#handover-rows tr[data-handover-id="${h.id}"]`);
  if (h.status === "pending" && h.to_user_id === Number(offerBox.dataset.me) && !row) {
    document.getElementById("handover-rows").append(offerRow(h));
  } else if (h.status !== "pending" && row) {
    row.remove();
  }
  showOffers();
});

offerBox.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button.handover-answer");
  if (!button) return;
  const body = { version: Number(button.dataset.version) };
  if (button.dataset.answer === "decline") {
    const reason = window.prompt(offerBox.dataset.declinePrompt);
    if (reason === null) return;
    body.reason = reason;
  }
  const msg = document.getElementById("handover-message");
  button.disabled = true;
  const r = await api("POST", `/api/cases/handovers/${button.dataset.handover}/${button.dataset.answer}`,
                      body);
  button.disabled = false;
  if (r.ok) {
    button.closest("tr").remove();
    msg.className = "message ok";
    msg.textContent = button.dataset.answer === "accept" ? offerBox.dataset.accepted : T.saved;
  } else {
    msg.className = "message error";
    msg.textContent = (r.data.fields && Object.values(r.data.fields)[0]) || r.data.error || T.error;
    if (r.status === 409 || r.status === 404) button.closest("tr").remove();
  }
  showOffers();  // the live event may have emptied the list before this answer came back
});
