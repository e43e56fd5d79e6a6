/* Shared console code: page data, API calls with CSRF, Buddhist-era dates, and the live feed
   that replays missed events after a reconnect so a board never goes stale. */
"use strict";
const PAGE = JSON.parse(document.getElementById("page-data").textContent);
const L10N = PAGE.labels;
const T = PAGE.text;
let CSRF = document.querySelector('meta[name="csrf-token"]').content;

/* Drafts kept on this phone (a fact-finding typed while offline: static/js/offline_draft.js)
   hold personal data: logging out removes every one of them from this browser. */
function clearDrafts() {
  for (const key of Object.keys(window.localStorage)) {
    if (key.startsWith("draft:")) window.localStorage.removeItem(key);
  }
}
document.querySelector("form.logout")?.addEventListener("submit", () => clearDrafts());

function label(group, value) {
  return (L10N[group] && L10N[group][value]) || value || "";
}

/* Every desk write carries an Idempotency-Key. The same write sent again after its answer was
   lost (network, a server process that died) reuses the key, so the server answers with the
   first result instead of doing it twice; the key is dropped once an answer arrives. */
const PENDING_KEYS = new Map();

function newIdempotencyKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function api(method, url, body) {
  const opts = { method, headers: { "X-CSRFToken": CSRF, Accept: "application/json" },
                 credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const write = method !== "GET";
  const sig = `${method} ${url}\n${opts.body || ""}`;
  if (write) {
    if (!PENDING_KEYS.has(sig)) PENDING_KEYS.set(sig, newIdempotencyKey());
    opts.headers["Idempotency-Key"] = PENDING_KEYS.get(sig);
  }
  let resp;
  try {
    resp = await fetch(url, opts);
  } catch (err) {
    return { ok: false, status: 0, data: { error: T.offline } };
  }
  // NOTE: a 5xx may come from a process that committed and then died: keep the key for a retry.
  if (write && resp.status < 500) PENDING_KEYS.delete(sig);
  let data = null;
  try { data = await resp.json(); } catch (err) { data = {}; }
  // NOTE: never navigate away on 401: the page keeps what the user typed and says the session
  // ended (Live.endSession); logging in again (another tab) resumes it.
  if (resp.status === 401) Live.endSession();
  return { ok: resp.ok, status: resp.status, data };
}

/* Dates and times as console/labels.py writes them (PAGE.dates comes from there): Buddhist
   era, Thai month abbreviations, the time the official Thai way "09.26 น." ("09:26" in
   English), ranges "08.30–16.30 น.", durations in words without leading zeros. */
const DATES = PAGE.dates;
const BANGKOK_PARTS = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Bangkok", year: "numeric", month: "numeric", day: "numeric",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

function bangkok(iso) {
  const parts = {};
  for (const p of BANGKOK_PARTS.formatToParts(new Date(iso))) parts[p.type] = p.value;
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day),
           hh: parts.hour.padStart(2, "0"), mm: parts.minute.padStart(2, "0") };
}

/* A translated pattern with its values: fill("%(num)s นาทีที่แล้ว", { num: 5 }). */
function fill(pattern, values) {
  return String(pattern).replace(/%\((\w+)\)s/g, (all, key) => (key in values ? String(values[key]) : all));
}

function fmtClock(iso) {
  if (!iso) return "";
  const t = bangkok(iso);
  return DATES.clock.replace("{h}", t.hh).replace("{m}", t.mm);
}

function fmtRange(fromIso, toIso) {
  const a = bangkok(fromIso), b = bangkok(toIso);
  return DATES.range.replace("{h1}", a.hh).replace("{m1}", a.mm)
    .replace("{h2}", b.hh).replace("{m2}", b.mm);
}

function fmtBEDate(iso) {
  if (!iso) return "";
  const t = bangkok(iso);
  return `${t.day} ${DATES.months[t.month - 1]} ${t.year + 543}${DATES.era}`;
}

function fmtBE(iso) {
  return iso ? `${fmtBEDate(iso)} ${fmtClock(iso)}` : "";
}

function fmtDuration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  if (h) return fill(m ? T.dur_hm : T.dur_h, { hours: h, minutes: m });
  if (m) return fill(s ? T.dur_ms : T.dur_m, { minutes: m, seconds: s });
  return fill(T.dur_s, { seconds: s });
}
const fmtWait = fmtDuration;

/* One string with its number, in the language's plural form ({one, other} from ngettext). */
const PLURALS = new Intl.PluralRules(PAGE.lang === "th" ? "th" : "en");
function plural(forms, n) {
  return fill(forms[PLURALS.select(n)] || forms.other, { num: n });
}

function fmtAgo(iso) {
  return plural(T.ago, Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000)));
}

/* Rows of a live board kept in place (issue 14: a bad day has 1,000 open incidents and 1,000
   teams): one DOM node per key, in the board's sort order. A new or changed row goes to its
   place by binary search on the sort key; no other row is rebuilt, nothing is re-sorted. */
class KeyedRows {
  constructor(container, compare) {
    this.container = container; this.compare = compare;
    this.order = [];          // [{key, item}] sorted by compare(item, item)
    this.entries = new Map();  // key -> {key, item, node}
  }
  get size() { return this.entries.size; }
  node(key) { const e = this.entries.get(key); return e ? e.node : null; }
  bound(item) {  // the first index whose item does not sort before `item`
    let lo = 0, hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.compare(this.order[mid].item, item) < 0) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  indexOf(key) {
    const e = this.entries.get(key);
    if (!e) return -1;
    for (let i = this.bound(e.item); i < this.order.length; i++) if (this.order[i] === e) return i;
    return this.order.indexOf(e);  // NOTE: only if a caller changed an item in place
  }
  /* Put (or replace) one row; returns the node it replaced, if any. */
  set(key, item, node) {
    const old = this.entries.get(key);
    let at = -1;
    if (old) { at = this.indexOf(key); this.order.splice(at, 1); }
    const e = { key, item, node };
    const pos = this.bound(item);
    this.order.splice(pos, 0, e);
    this.entries.set(key, e);
    if (old && at === pos && old.node.parentNode === this.container) old.node.replaceWith(node);
    else {
      if (old) old.node.remove();
      const next = this.order[pos + 1];
      this.container.insertBefore(node, next ? next.node : null);
    }
    return old ? old.node : null;
  }
  remove(key) {
    const old = this.entries.get(key);
    if (!old) return null;
    this.order.splice(this.indexOf(key), 1);
    this.entries.delete(key);
    old.node.remove();
    return old.node;
  }
  /* The whole board at once (a (re)load): one sort, one DOM write. */
  reset(list) {  // list: [{key, item, node}]
    this.order = list.slice().sort((a, b) => this.compare(a.item, b.item));
    this.entries = new Map(this.order.map((e) => [e.key, e]));
    this.container.replaceChildren(...this.order.map((e) => e.node));
  }
  keys() { return this.order.map((e) => e.key); }
}

/* The province's teams as a status list kept in place (dispatch, supervisor and call-taker
   desks): `extra(t)` adds a desk's own controls to a team's item; `emptyText` shows while the
   province has no team. */
const TEAM_COLLATOR = new Intl.Collator("th");
class TeamRows {
  constructor(list, extra, emptyText) {
    this.extra = extra;
    this.rows = new KeyedRows(list, (a, b) => TEAM_COLLATOR.compare(a.name, b.name) || a.id - b.id);
    this.empty = emptyText ? el("li", { class: "muted", "data-testid": "no-teams" }, emptyText) : null;
  }
  item(t) {
    return el("li", { class: `team team-${t.status}`, "data-testid": `team-${t.id}`, "data-status": t.status },
      el("strong", {}, t.name), " · ", label("team_status", t.status), this.extra ? this.extra(t) : null);
  }
  showEmpty() {
    if (!this.empty) return;
    if (this.rows.size) this.empty.remove();
    else if (!this.empty.parentNode) this.rows.container.append(this.empty);
  }
  set(t) { this.rows.set(t.id, t, this.item(t)); this.showEmpty(); }
  reset(teams) {
    this.rows.reset([...teams].map((t) => ({ key: t.id, item: t, node: this.item(t) })));
    this.showEmpty();
  }
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function placeName(inc) {
  const p = inc.place || {};
  const k = PAGE.lang === "th" ? "_th" : "_en";
  return [p["subdistrict" + k], p["district" + k], p["province" + k]].filter(Boolean).join(", ");
}

/* The live feed. Every event envelope carries a sequence number. The client loads its board
   with the number it is current to (`cursor`: every event of its rooms up to there is applied),
   then on every (re)connect replays the outbox page by page from the cursor. The server's
   `sync {upto}` packets (each process sends them after its outbox relay pass) move the cursor
   while the socket stays connected, and prove the feed is alive: no sync for a while, an
   unanswered replay, or a degraded server shows "not live" and asks again. Events are applied
   once each, in any arrival order; while a replay is in flight, live events wait in a buffer. */
const REPLAY_TIMEOUT_MS = 8000;
const Live = {
  cursor: 0, seen: new Set(), socket: null, replaying: true, buffer: [], handlers: null,
  names: [], synced: false, catching: false, lastSync: 0, heartbeat: 10, health: "ok",
  retryDelay: 1000, retryTimer: null, ended: false,
  async loadState() {
    const r = await api("GET", "/api/state");
    if (!r.ok) return false;
    this.cursor = r.data.head;
    this.seen.clear();
    this.handlers.onState(r.data);
    window.dispatchEvent(new CustomEvent("live:state"));
    return true;
  },
  apply(env) {
    if (env.seq <= this.cursor || this.seen.has(env.seq)) return;
    this.seen.add(env.seq);
    if (this.names.includes(env.name)) this.handlers.onEvent(env.name, env.data, env);
    window.dispatchEvent(new CustomEvent(`live:${env.name}`, { detail: env.data }));
  },
  advance(upto) {
    if (!(upto > this.cursor)) return;
    this.cursor = upto;
    for (const seq of this.seen) if (seq <= upto) this.seen.delete(seq);
  },
  setConn(state) {
    const c = document.getElementById("conn");
    const titles = { live: T.live, offline: T.offline, behind: T.behind, delayed: T.delayed,
                     ended: T.session_ended, connecting: T.behind };
    if (c) { c.dataset.state = state; c.title = titles[state] || T.offline; }
    document.body.dataset.live = state === "live" ? "1" : "0";
    document.body.dataset.conn = state;
  },
  showConn() {
    if (this.ended) this.setConn("ended");
    else if (!this.socket || !this.socket.connected) this.setConn("offline");
    else if (this.replaying || !this.synced) this.setConn("behind");
    else if (this.health !== "ok") this.setConn("delayed");
    else this.setConn("live");
  },
  notice(text) {
    let box = document.getElementById("live-notice");
    if (!box) {
      box = el("div", { id: "live-notice", class: "live-notice", role: "status",
                        "data-testid": "live-notice" });
      document.body.prepend(box);
    }
    box.textContent = text;
    box.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => { box.hidden = true; }, 15000);
  },
  ask(since) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(REPLAY_TIMEOUT_MS).emit("replay", { since }, (err, resp) => {
        if (err || !resp || resp.error) reject(new Error((resp && resp.error) || "timeout"));
        else resolve(resp);
      });
    });
  },
  async catchUp() {
    if (!this.socket || !this.socket.connected || this.catching || this.ended) return;
    this.catching = true;
    this.replaying = true;
    this.synced = false;
    clearTimeout(this.retryTimer);
    this.showConn();
    let ok = false;
    try {
      for (let page = 0; page < 10000; page++) {
        const resp = await this.ask(this.cursor);
        if (resp.gone) {
          // Older than the server keeps, or a restored server: start the board again.
          if (!(await this.loadState())) throw new Error("state");
          this.notice(T.board_reloaded);
          break;
        }
        for (const env of resp.events) this.apply(env);
        this.advance(resp.upto);
        if (resp.complete) break;
      }
      ok = true;
    } catch (err) {
      if (err && err.message === "unauthorized") this.endSession();
    }
    const buffered = this.buffer.sort((a, b) => a.seq - b.seq);
    this.buffer = [];
    this.replaying = false;
    for (const env of buffered) this.apply(env);
    this.catching = false;
    if (ok && this.socket.connected) {
      this.synced = true;
      this.lastSync = Date.now();
      this.retryDelay = 1000;
    } else if (!this.ended) {
      this.retryTimer = setTimeout(() => this.catchUp(), this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 15000);
    }
    this.showConn();
  },
  onSync(msg) {
    this.lastSync = Date.now();
    this.health = msg && msg.queue === "ok" && msg.db === "ok" ? "ok" : "degraded";
    // NOTE: only a socket that replayed since it connected may trust `upto`: everything up to
    // there was handed to this socket before this packet.
    if (this.synced && !this.replaying && msg) this.advance(msg.upto);
    this.showConn();
  },
  watch() {
    // No sync for 2.5 heartbeats: the server's relay is stuck or unreachable.
    const quiet = Date.now() - this.lastSync > (this.heartbeat * 2500 + 5000);
    if (this.synced && quiet && this.socket && this.socket.connected) {
      this.synced = false;
      this.catchUp();
    }
    this.showConn();
  },
  endSession() {
    if (this.ended) return;
    this.ended = true;
    if (this.socket) this.socket.disconnect();
    this.showConn();
    const next = location.pathname + location.search;
    const banner = el("div", { id: "session-ended", class: "session-ended", role: "alert",
                               "data-testid": "session-ended" },
      T.session_ended, " ",
      el("a", { href: "/login?next=" + encodeURIComponent(next), target: "_blank",
                rel: "opener", "data-testid": "login-again" }, T.login_again));
    document.getElementById("session-ended")?.remove();
    document.body.prepend(banner);
    window.dispatchEvent(new CustomEvent("live:ended"));
    this.resumeTimer = setInterval(() => this.tryResume(), 3000);
  },
  async tryResume() {
    // Logged in again (in another tab): take the new session's CSRF token and reconnect.
    let resp;
    try {
      resp = await fetch("/api/session", { credentials: "same-origin",
                                           headers: { Accept: "application/json" } });
    } catch (err) { return; }
    if (!resp.ok) return;
    const data = await resp.json();
    clearInterval(this.resumeTimer);
    if (PAGE.user && data.user_id !== PAGE.user.id) { window.location.reload(); return; }
    CSRF = data.csrf_token;
    document.querySelectorAll('input[name="csrf_token"]').forEach((i) => { i.value = CSRF; });
    this.ended = false;
    document.getElementById("session-ended")?.remove();
    if (this.socket) this.socket.connect(); else this.showConn();
    window.dispatchEvent(new CustomEvent("live:resumed"));
  },
  async start(handlers, names) {
    this.handlers = handlers;
    this.names = names;
    this.setConn("connecting");
    // The socket connects while the board loads (a bad day's board of 1,000 incidents takes a
    // while): events that come first wait in the buffer, and the replay starts from the board's
    // head once it is drawn. NOTE: opened once every script of the page has run, so the names
    // they add (extraNames) are heard.
    const loaded = this.loadState();
    if (document.readyState === "loading") {
      await new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }));
    }
    // SOCKETIO_TRANSPORTS: websocket alone behind a load balancer (no sticky sessions).
    const socket = io({ transports: PAGE.transports || ["websocket", "polling"] });
    this.socket = socket;
    for (const name of new Set([...names, ...(this.extraNames || [])])) {
      socket.on(name, (env) => {
        if (this.replaying) this.buffer.push(env); else this.apply(env);
      });
    }
    socket.on("hello", (msg) => { if (msg && msg.heartbeat) this.heartbeat = msg.heartbeat; });
    socket.on("sync", (msg) => this.onSync(msg));
    socket.on("connect", async () => { await loaded; this.catchUp(); });
    socket.on("disconnect", () => {
      this.replaying = true;  // events queued during the next handshake wait for the replay
      this.synced = false;
      this.showConn();
    });
    socket.on("connect_error", (err) => {
      if (err && err.message === "unauthorized") this.endSession(); else this.showConn();
    });
    socket.on("session.ended", () => this.endSession());
    setInterval(() => this.watch(), 2000);
    window.addEventListener("online", () => { if (!this.synced) this.catchUp(); });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.watch();
    });
  },
};
window.__live = Live;
