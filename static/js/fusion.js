/* Likely duplicates (fusion on the desk, issue 14), shared by the call-taker desk, the dispatcher
   desk and the incident page: each suggestion with its reasons (same caller number, same place
   within the dedupe distance and time window, same category) and, for the dispatch desk, a merge
   button. The incident opened first is kept; the later one is merged into it (the merge route
   of ess/routes.py closes it and moves its reports). */
"use strict";
const Fusion = {
  text: JSON.parse(document.getElementById("fusion-text").textContent),
  reasons(d) {
    const words = d.reasons.map((r) => label("fusion_reason", r));
    if (d.distance_m !== null && d.distance_m !== undefined && d.reasons.includes("same_place")) {
      words.push(fill(this.text.meters, { m: d.distance_m }));
    }
    return words.join(", ");
  },
  /* [kept, merged]: the one opened first is kept (the same time: the lower number). */
  order(a, b) {
    const first = a.created_at < b.created_at || (a.created_at === b.created_at && a.id < b.id);
    return first ? [a, b] : [b, a];
  },
  async merge(subject, other) {
    const [keep, dup] = this.order(subject, other);
    if (!window.confirm(fill(this.text.merge_confirm, { dup: dup.ref, keep: keep.ref }))) return null;
    const r = await api("POST", `/api/incidents/${keep.id}/merge`, { duplicate_id: dup.id });
    return { ok: r.ok, keep, dup, data: r.data,
             text: r.ok ? fill(this.text.merged, { dup: dup.ref, keep: keep.ref }) : (r.data.error || T.error) };
  },
  /* One suggestion as a list item; `onMerge(result)` when the desk may merge (else none). */
  item(subject, d, onMerge) {
    const other = { id: d.incident_id, ref: d.ref, created_at: d.created_at };
    const [keep] = this.order(subject, other);
    const button = onMerge ? el("button", {
      type: "button", class: "link merge-incident",
      "data-testid": `merge-${subject.id}-${d.incident_id}`,
      onclick: async () => { const r = await this.merge(subject, other); if (r) onMerge(r); },
    }, keep.id === other.id ? fill(this.text.merge_into, { ref: d.ref })
      : fill(this.text.merge_here, { ref: d.ref })) : null;
    return el("li", { class: "duplicate", "data-testid": `duplicate-${subject.id}-${d.incident_id}`,
                      dataset: { incidentId: d.incident_id } },
      PAGE.user && ["dispatcher", "supervisor", "admin"].includes(PAGE.user.role)
        ? el("a", { href: `/desk/incidents/${d.incident_id}` }, el("strong", {}, d.ref))
        : el("strong", {}, d.ref),
      " · ", label("category", d.category), " · ", label("status", d.status),
      d.summary ? ` · ${d.summary}` : "", " — ",
      el("em", { class: "duplicate-reasons" }, this.reasons(d)),
      button ? " " : null, button);
  },
};
window.Fusion = Fusion;
