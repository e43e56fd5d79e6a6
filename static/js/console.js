/* Shared console code: page data, API calls with CSRF, Buddhist-era dates, and the live feed
   that replays missed events after a reconnect so a board never goes stale. */
"use strict";
const PAGE = JSON.parse(document.getElementById("page-data").textContent);
const L10N = PAGE.labels;
const T = PAGE.text;
const CSRF = document.querySelector('meta[name="csrf-token"]').content;

function label(group, value) {
  return (L10N[group] && L10N[group][value]) || value || "";
}

async function api(method, url, body) {
  const opts = { method, headers: { "X-CSRFToken": CSRF, Accept: "application/json" },
                 credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, opts);
  } catch (err) {
    return { ok: false, status: 0, data: { error: T.offline } };
  }
  let data = null;
  try { data = await resp.json(); } catch (err) { data = {}; }
  if (resp.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); }
  return { ok: resp.ok, status: resp.status, data };
}

const BE_FORMAT = new Intl.DateTimeFormat(
  (PAGE.lang === "th" ? "th-TH" : "en-GB") + "-u-ca-buddhist",
  { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    timeZone: "Asia/Bangkok" });

function fmtBE(iso) {
  return iso ? BE_FORMAT.format(new Date(iso)) : "";
}

function fmtWait(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const m = Math.floor(seconds / 60), s = seconds % 60;
  return m > 0 ? `${m} ${T.min} ${String(s).padStart(2, "0")} ${T.sec}` : `${s} ${T.sec}`;
}

/* The province's teams as a status list (dispatch, supervisor and call-taker desks). */
function renderTeamList(list, teams, emptyText) {
  const sorted = [...teams].sort((a, b) => a.name.localeCompare(b.name, "th"));
  list.replaceChildren(...sorted.map((t) =>
    el("li", { class: `team team-${t.status}`, "data-testid": `team-${t.id}`,
               "data-status": t.status },
      el("strong", {}, t.name), " · ", label("team_status", t.status))));
  if (!sorted.length && emptyText) list.append(el("li", { class: "muted" }, emptyText));
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
   with the number it is current to, then on every (re)connect, every minute and when the page
   comes back to the foreground asks for everything after it. Events are applied once each
   (a set of seen numbers), in any arrival order; while a replay is in flight live events wait
   in a buffer. Too much missed, or a server that went back in time: reload the board. */
const REPLAY_OVERLAP = 200;  // re-ask for recent numbers: catches events that arrived late
const Live = {
  stateHead: 0, maxSeq: 0, seen: new Set(), socket: null, replaying: true, buffer: [],
  handlers: null, names: [],
  async loadState() {
    const r = await api("GET", "/api/state");
    if (!r.ok) return false;
    this.stateHead = r.data.head;
    this.maxSeq = Math.max(this.maxSeq, r.data.head);
    this.handlers.onState(r.data);
    window.dispatchEvent(new CustomEvent("live:state"));
    return true;
  },
  apply(env) {
    if (env.seq <= this.stateHead || this.seen.has(env.seq)) return;
    this.seen.add(env.seq);
    if (this.seen.size > 5000) this.seen = new Set([...this.seen].slice(-2500));
    this.maxSeq = Math.max(this.maxSeq, env.seq);
    if (this.names.includes(env.name)) this.handlers.onEvent(env.name, env.data, env);
    window.dispatchEvent(new CustomEvent(`live:${env.name}`, { detail: env.data }));
  },
  setConn(state) {
    const c = document.getElementById("conn");
    if (c) { c.dataset.state = state; c.title = state === "live" ? T.live : T.offline; }
  },
  catchUp() {
    if (!this.socket || !this.socket.connected) return;
    this.replaying = true;
    const since = Math.max(this.stateHead, this.maxSeq - REPLAY_OVERLAP);
    this.socket.emit("replay", { since }, async (resp) => {
      if (!resp || resp.error || !resp.complete || resp.head < this.maxSeq) {
        this.seen.clear();
        this.maxSeq = 0;
        await this.loadState();
      } else {
        for (const env of resp.events) this.apply(env);
      }
      const buffered = this.buffer.sort((a, b) => a.seq - b.seq);
      this.buffer = [];
      this.replaying = false;
      for (const env of buffered) this.apply(env);
      this.setConn("live");
      document.body.dataset.live = "1";
    });
  },
  async start(handlers, names) {
    this.handlers = handlers;
    this.names = names;
    await this.loadState();
    const socket = io({ transports: ["websocket", "polling"] });
    this.socket = socket;
    for (const name of new Set([...names, ...(this.extraNames || [])])) {
      socket.on(name, (env) => {
        if (this.replaying) this.buffer.push(env); else this.apply(env);
      });
    }
    socket.on("connect", () => this.catchUp());
    socket.on("disconnect", () => {
      this.replaying = true;  // events queued during the next handshake wait for the replay
      this.setConn("offline");
      document.body.dataset.live = "0";
    });
    socket.on("connect_error", (err) => {
      this.setConn("offline");
      if (err && err.message === "unauthorized") window.location = "/login";
    });
    socket.on("session.ended", () => { window.location = "/login"; });
    setInterval(() => this.catchUp(), 60000);
    window.addEventListener("online", () => this.catchUp());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.catchUp();
    });
  },
};
window.__live = Live;
