/* Likely duplicates (fusion on the desk, issue 14), shared by the call-taker desk, the dispatcher
   desk and the incident page: each suggestion with its reasons (same caller number, same place
   within the dedupe distance and time window, same category) and, for the dispatch desk, a merge
   button. The incident opened first is kept; the later one is merged into it (the merge route
   of ess/routes.py closes it and moves its reports). Beside it, "not a duplicate": the pair is
   never suggested again (dispatch/fusion.py); and a merge can be split again (split()). */
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
    return { kind: "merge", ok: r.ok, keep, dup, data: r.data,
             text: r.ok ? fill(this.text.merged, { dup: dup.ref, keep: keep.ref }) : this.error(r) };
  },
  error(r) {
    const fields = r.data && r.data.fields ? Object.values(r.data.fields) : [];
    return fields[0] || (r.data && r.data.error) || T.error;
  },
  /* "Not a duplicate": asked with an optional reason (Cancel: nothing is sent). */
  async dismiss(subject, other) {
    const reason = window.prompt(fill(this.text.not_duplicate_prompt, { a: subject.ref, b: other.ref }), "");
    if (reason === null) return null;
    const r = await api("POST", `/api/incidents/${subject.id}/not-duplicate`, { other_id: other.id, reason });
    return { kind: "dismiss", ok: r.ok, subject, other, data: r.data,
             text: r.ok ? fill(this.text.dismissed, { a: subject.ref, b: other.ref }) : this.error(r) };
  },
  /* Split an incident merged into `keep` off again (optional reason; Cancel: nothing sent). */
  async split(keep, dup) {
    const reason = window.prompt(fill(this.text.split_merge_prompt, { dup: dup.ref, keep: keep.ref }), "");
    if (reason === null) return null;
    const r = await api("POST", `/api/incidents/${keep.id}/split`, { merged_id: dup.id, reason });
    return { kind: "split", ok: r.ok, keep, dup, data: r.data,
             text: r.ok ? fill(this.text.split_merge_done, { dup: dup.ref, keep: keep.ref }) : this.error(r) };
  },
  /* Is this realtime "not a duplicate" about the pair (a, b)? */
  dismisses(data, a, b) {
    const ids = (data && data.incident_ids) || [];
    return ids.includes(a) && ids.includes(b);
  },
  /* One suggestion as a list item; `onDone(result)` when the desk may merge or mark it not a
     duplicate (else no buttons); result.kind says which. */
  item(subject, d, onDone) {
    const other = { id: d.incident_id, ref: d.ref, created_at: d.created_at };
    const [keep] = this.order(subject, other);
    const button = onDone ? el("button", {
      type: "button", class: "link merge-incident",
      "data-testid": `merge-${subject.id}-${d.incident_id}`,
      onclick: async () => { const r = await this.merge(subject, other); if (r) onDone(r); },
    }, keep.id === other.id ? fill(this.text.merge_into, { ref: d.ref })
      : fill(this.text.merge_here, { ref: d.ref })) : null;
    const notDuplicate = onDone ? el("button", {
      type: "button", class: "link not-duplicate",
      "data-testid": `not-duplicate-${subject.id}-${d.incident_id}`,
      onclick: async () => { const r = await this.dismiss(subject, other); if (r) onDone(r); },
    }, this.text.not_duplicate) : null;
    return el("li", { class: "duplicate", "data-testid": `duplicate-${subject.id}-${d.incident_id}`,
                      dataset: { incidentId: d.incident_id } },
      PAGE.user && ["dispatcher", "supervisor", "admin"].includes(PAGE.user.role)
        ? el("a", { href: `/desk/incidents/${d.incident_id}` }, el("strong", {}, d.ref))
        : el("strong", {}, d.ref),
      " · ", label("category", d.category), " · ", label("status", d.status),
      d.summary ? ` · ${d.summary}` : "", " — ",
      el("em", { class: "duplicate-reasons" }, this.reasons(d)),
      button ? " " : null, button, notDuplicate ? " · " : null, notDuplicate);
  },
};
window.Fusion = Fusion;
