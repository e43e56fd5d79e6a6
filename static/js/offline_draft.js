/* A form kept on this phone while the network is down (a home visit with no signal): what is
   typed offline, or a save that could not reach the server, is stored in localStorage under a
   "draft:" key and shown as "saved on this phone only"; it is sent by itself when the network
   (or the login) is back, and removed the moment the server has it. Logging out removes every
   draft (console.js clearDrafts), so no personal data stays on the phone. */
"use strict";

class OfflineDraft {
  constructor({ key, form, collect, fill, send, state, text }) {
    Object.assign(this, { key, form, collect, fill, send, stateEl: state, text });
    this.sending = false;
    this.timer = null;
    const pending = this.pending();
    if (pending) {
      this.fill(pending.body);
      this.show("local");
    }
    ["input", "change"].forEach((kind) => form.addEventListener(kind, () => this.typed()));
    window.addEventListener("offline", () => this.store(this.collect(this.completeFlag())));
    window.addEventListener("online", () => this.retry());
    window.addEventListener("live:resumed", () => this.retry());
    if (pending && navigator.onLine) this.retry();
  }

  pending() {
    try {
      return JSON.parse(window.localStorage.getItem(this.key) || "null");
    } catch (err) {
      return null;
    }
  }

  completeFlag() {
    const p = this.pending();
    return Boolean(p && p.body && p.body.complete);
  }

  store(body) {
    window.localStorage.setItem(this.key, JSON.stringify({ body, at: new Date().toISOString() }));
    this.show("local");
  }

  clear() {
    window.localStorage.removeItem(this.key);
  }

  show(state) {
    if (!this.stateEl) return;
    this.stateEl.dataset.state = state || "";
    this.stateEl.textContent = (state && this.text[state]) || "";
    this.stateEl.hidden = !state;
  }

  /* Typing while offline (or while an unsent draft waits) keeps the phone's copy current. */
  typed() {
    if (navigator.onLine && !this.pending()) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.store(this.collect(this.completeFlag())), 300);
  }

  /* True when the answer means "not saved, but kept on this phone" (no network, the login
     ended, the server restarting). */
  kept(r) {
    return r.status === 0 || r.status === 401 || r.status >= 500;
  }

  async save(body) {
    clearTimeout(this.timer);
    this.show("saving");
    this.sending = true;
    const r = await this.send(body);
    this.sending = false;
    if (r.ok) {
      this.clear();
      this.show("saved");
    } else if (this.kept(r)) {
      this.store(body);
    } else if (this.pending()) {
      this.store(body);  // refused (a field to fix): still kept, nothing typed is lost
    } else {
      this.show("");
    }
    return r;
  }

  async retry() {
    const p = this.pending();
    if (!p || this.sending || !navigator.onLine) return;
    await this.save(p.body);
  }
}
