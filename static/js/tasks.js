/* An อพม. volunteer's tasks on a phone: record what a visit or call found; the list follows a
   task given or recorded elsewhere live. */
"use strict";
document.querySelectorAll("form.task-form").forEach((form) => {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const msg = form.querySelector(".message");
    form.querySelectorAll(".field-error").forEach((n) => n.remove());
    const body = { outcome: form.elements.namedItem("outcome").value,
                   client_feedback: form.elements.namedItem("client_feedback").value };
    const button = form.querySelector("button");
    button.disabled = true;
    const r = await api("POST", `/api/tasks/${form.dataset.task}/done`, body);
    button.disabled = false;
    if (r.ok) { window.location.reload(); return; }
    msg.className = "message error";
    msg.textContent = r.data.error || T.error;
    for (const [name, message] of Object.entries(r.data.fields || {})) {
      const input = form.elements.namedItem(name);
      (input ? input.closest("label") : form).append(el("span", { class: "field-error", "data-field": name }, message));
    }
  });
});

Live.start({
  onState() {},
  onEvent() {
    const n = document.getElementById("task-notice");
    n.hidden = false;
    window.location.reload();
  },
}, ["volunteer.task"]);
