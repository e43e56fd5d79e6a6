/* The case page: the reporter's number and name of the incident the case came from, shown on
   request (the read is written to the access log), with a tel: link. */
"use strict";
document.getElementById("show-reporter")?.addEventListener("click", async (ev) => {
  const button = ev.currentTarget;
  const box = document.getElementById("reporter-contact");
  const r = await api("GET", `/api/incidents/${button.dataset.incident}/contact`);
  if (!r.ok) { box.className = "error"; box.textContent = r.data.error || T.error; return; }
  box.replaceChildren(...(r.data.contacts.length ? r.data.contacts.flatMap((c) => [
    c.name ? `${c.name} ` : "",
    c.number ? el("a", { href: `tel:${c.number}`, "data-testid": "reporter-tel" }, c.number_display) : c.contact,
    " "]) : [box.dataset.none]));
  button.hidden = true;
});
