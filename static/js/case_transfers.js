/* Case desk: transfers from other provinces waiting for this province's answer (accept: the
   case comes into the queue; decline: with the reason), kept live; a case accepted elsewhere
   leaves this desk. Loaded before cases.js (adds its event to Live's). */
"use strict";

Live.extraNames = [...(Live.extraNames || []), "case.transfer"];
const transferBox = document.getElementById("incoming-transfers");

function transferRow(t) {
  const k = PAGE.lang === "th" ? "_th" : "_en";
  const buttons = transferBox.dataset.mayAnswer ? ["accept", "decline"].map((a) => el("button", {
    type: "button", class: "transfer-answer", "data-answer": a, "data-transfer": t.id,
    "data-version": t.version, "data-testid": `transfer-${a}-${t.id}` },
  transferBox.dataset[a], " ")) : [];
  return el("tr", { dataset: { transferId: t.id } }, el("td", {}, t.case_ref),
    el("td", {}, t.from_place["province" + k]), el("td", {}, label("category", t.category)),
    el("td", {}, t.summary), el("td", {}, t.reason), el("td", {}, buttons));
}

function showTransfers() {
  transferBox.hidden = !document.querySelector("#transfer-rows tr");
}

window.addEventListener("live:case.transfer", (ev) => {
  const t = ev.detail;
  const row = document.querySelector(`#transfer-rows tr[data-transfer-id="${t.id}"]`);
  const mine = PAGE.user.province === null || PAGE.user.province === t.to_province;
  if (t.status === "pending" && mine && !row) {
    document.getElementById("transfer-rows").append(transferRow(t));
  } else if (t.status !== "pending" && row) {
    row.remove();
  }
  if (t.status === "accepted" && PAGE.user.province !== null
      && PAGE.user.province !== t.to_province) {
    document.querySelector(`#case-rows tr[data-case-id="${t.case_id}"]`)?.remove();
  }
  showTransfers();
});

transferBox.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button.transfer-answer");
  if (!button) return;
  const body = { version: Number(button.dataset.version) };
  if (button.dataset.answer === "decline") {
    const reason = window.prompt(transferBox.dataset.declinePrompt);
    if (reason === null) return;
    body.reason = reason;
  }
  const msg = document.getElementById("transfer-message");
  button.disabled = true;
  const r = await api("POST", `/api/cases/transfers/${button.dataset.transfer}/${button.dataset.answer}`,
                      body);
  button.disabled = false;
  if (r.ok) {
    button.closest("tr").remove();
    msg.className = "message ok";
    msg.textContent = button.dataset.answer === "accept" ? transferBox.dataset.accepted : T.saved;
  } else {
    msg.className = "message error";
    msg.textContent = (r.data.fields && Object.values(r.data.fields)[0]) || r.data.error || T.error;
    if (r.status === 409 || r.status === 404) button.closest("tr").remove();
  }
});
