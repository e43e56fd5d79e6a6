// Issue 6 fan-out load generator: one Node process, N socket.io-client consoles, one clock.
//
//   node bench/loadgen/loadgen.mjs CONFIG.json      (bench/fanout_matrix.py writes CONFIG)
//
// It opens consoles incrementally (50 -> 200 -> 500 -> 1000, earlier ones stay connected),
// each its own websocket (forceNew, websocket transport only), spread round-robin over the
// server URLs. For each N and each rate it POSTs incidents itself (fetch, performance.now()),
// while team members post positions at a fixed modest rate, then waits a bounded drain and
// counts deliveries. Output: JSON lines on stdout ("cell_start" just before a cell's load
// begins, "cell" with its figures after its drain, so the driver can sample server CPU).
//
// CONFIG keys: kind ("ours" | "ref"), urls [..], consoles [..], rates [..], seconds,
// minIncidents, drainSeconds, settleSeconds, saturatedMs, positionRate, batch, userAgent,
// consoleCookie, poster {cookie, csrf}, teams [{cookie, csrf}], incidentBody, hardCapSeconds.
// Loopback only: every URL must be http://127.x.x.x or localhost.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const OURS = cfg.kind === "ours";
const EVENT = OURS ? "incident.created" : "bench.event";
const POSITION_EVENT = "team.updated";
const started = performance.now();
const hardCapMs = (cfg.hardCapSeconds ?? 300) * 1000;

for (const url of cfg.urls) {
  const host = new URL(url).hostname;
  if (!(host.startsWith("127.") || host === "localhost" || host === "[::1]")) {
    throw new Error(`loopback only, refused ${url}`);
  }
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const overCap = () => performance.now() - started > hardCapMs;

// key (incident id or reference seq) -> receipt times (ms, performance.now()) of every console
let receipts = new Map();
let receiptCount = 0;
let lastReceipt = 0;
let positionsReceived = 0;
let disconnects = 0;
const clients = [];

function record(key) {
  const now = performance.now();
  let times = receipts.get(key);
  if (times === undefined) {
    times = [];
    receipts.set(key, times);
  }
  times.push(now);
  receiptCount += 1;
  lastReceipt = now;
}

function headers(cookie) {
  const h = { "User-Agent": cfg.userAgent };
  if (cookie) h.Cookie = cookie;
  return h;
}

function openConsole(index) {
  const url = cfg.urls[index % cfg.urls.length];
  return new Promise((resolve) => {
    const socket = io(url, {
      transports: ["websocket"],
      forceNew: true, // one connection per console: the default multiplexes a URL's sockets
      multiplex: false,
      reconnection: false,
      timeout: 20000,
      extraHeaders: headers(OURS ? cfg.consoleCookie : null),
    });
    const timer = setTimeout(() => finish(false, "timeout"), 30000);
    let settled = false;
    function finish(ok, why) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!ok) socket.close();
      resolve({ ok, why, socket });
    }
    socket.on(EVENT, (env) => record(OURS ? env.data.id : env.seq));
    socket.on(POSITION_EVENT, () => { positionsReceived += 1; });
    socket.on("connect", () => finish(true));
    socket.on("connect_error", (err) => finish(false, String(err && err.message)));
    socket.on("disconnect", () => { if (settled) disconnects += 1; });
  });
}

async function growTo(n) {
  const t0 = performance.now();
  let failed = 0;
  const reasons = {};
  while (clients.length + failed < n && !overCap()) {
    const size = Math.min(cfg.batch ?? 50, n - clients.length - failed);
    const batch = [];
    for (let i = 0; i < size; i++) batch.push(openConsole(clients.length + failed + i));
    for (const r of await Promise.all(batch)) {
      if (r.ok) clients.push(r.socket);
      else {
        failed += 1;
        reasons[r.why] = (reasons[r.why] ?? 0) + 1;
      }
    }
  }
  out({ type: "connected", n: clients.length, wanted: n, failed, reasons,
        ms: +(performance.now() - t0).toFixed(1) });
  return failed === 0;
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * sorted.length) - 1));
  return +sorted[rank].toFixed(2);
}

async function post(url, cookie, csrf, body) {
  const h = { ...headers(cookie), "Content-Type": "application/json" };
  if (csrf) h["X-CSRFToken"] = csrf;
  const resp = await fetch(url, { method: "POST", headers: h, body: JSON.stringify(body),
                                  signal: AbortSignal.timeout(20000) });
  const text = await resp.text();
  return { status: resp.status, text };
}

let seq = 0;

async function sendIncident(i, n, rate) {
  const t0 = performance.now();
  try {
    if (OURS) {
      const body = { ...cfg.incidentBody, summary: `fanout n${n} r${rate} #${i}` };
      const r = await post(`${cfg.urls[0]}/api/calls`, cfg.poster.cookie, cfg.poster.csrf, body);
      if (r.status !== 201) return { ok: false, t0, status: r.status, text: r.text.slice(0, 200) };
      return { ok: true, t0, key: JSON.parse(r.text).incident.id, ms: performance.now() - t0 };
    }
    seq += 1;
    const key = seq;
    const r = await post(`${cfg.urls[0]}/emit`, null, null, {
      event: EVENT, seq: key, data: { ...cfg.incidentBody, summary: `fanout n${n} r${rate} #${i}` },
    });
    if (r.status !== 200) return { ok: false, t0, status: r.status, text: r.text.slice(0, 200) };
    return { ok: true, t0, key, ms: performance.now() - t0 };
  } catch (err) {
    return { ok: false, t0, status: 0, text: String(err).slice(0, 200) };
  }
}

async function sendPosition(k) {
  const jitter = ((k * 37) % 100) / 10000;
  const fix = { lat: 16.82 + jitter, lon: 100.26 + jitter, accuracy: 15 };
  try {
    if (OURS) {
      const team = cfg.teams[k % cfg.teams.length];
      const r = await post(`${cfg.urls[0]}/api/teams/me/position`, team.cookie, team.csrf, fix);
      return r.status === 200;
    }
    const r = await post(`${cfg.urls[0]}/emit`, null, null,
                         { event: POSITION_EVENT, seq: 0, data: { team: k % 2, ...fix } });
    return r.status === 200;
  } catch {
    return false;
  }
}

async function cell(n, rate) {
  const count = Math.max(cfg.minIncidents ?? 3, Math.round(rate * cfg.seconds));
  receipts = new Map();
  const receiptsBefore = receiptCount;
  const positionsBefore = positionsReceived;
  const disconnectsBefore = disconnects;
  const consoles = clients.filter((c) => c.connected).length;
  const cpu0 = process.cpuUsage();
  out({ type: "cell_start", n, rate, count, consoles });
  const t0 = performance.now();

  // Team positions at a fixed rate for the whole load phase, concurrently with incidents.
  const loadMs = ((count - 1) / rate) * 1000;
  const positions = [];
  const posEvery = 1000 / (cfg.positionRate || 1);
  let posTimer = null;
  if (cfg.positionRate > 0) {
    let k = 0;
    const tick = () => {
      positions.push(sendPosition(k++));
      if (performance.now() - t0 + posEvery <= loadMs + 1) posTimer = setTimeout(tick, posEvery);
    };
    tick();
  }

  // Open loop: incident i starts at t0 + i / rate, whether or not earlier POSTs returned.
  const sends = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    sends.push(sendIncident(i, n, rate));
  }
  const results = await Promise.all(sends);
  if (posTimer) clearTimeout(posTimer);
  const posOk = (await Promise.all(positions)).filter(Boolean).length;
  const sent = results.filter((r) => r.ok);
  const errors = results.filter((r) => !r.ok);

  // Drain: until every console has every event, or the bounded drain time is over.
  const expected = sent.length * consoles;
  const drainEnd = performance.now() + cfg.drainSeconds * 1000;
  const countInTime = () => sent.reduce((acc, r) => acc + (receipts.get(r.key)?.length ?? 0), 0);
  while (performance.now() < drainEnd && countInTime() < expected) await sleep(20);
  const deadline = performance.now();
  const loadgenCpu = process.cpuUsage(cpu0);

  const latencies = [];
  let inTime = 0;
  let duplicates = 0;
  for (const r of sent) {
    const times = receipts.get(r.key) ?? [];
    if (times.length > consoles) duplicates += times.length - consoles;
    for (const t of times) {
      if (t <= deadline) {
        latencies.push(t - r.t0);
        inTime += 1;
      }
    }
  }
  // Settle: let a backlog finish (bounded) so the next cell starts clean; count it as late.
  const settleEnd = performance.now() + (cfg.settleSeconds ?? 5) * 1000;
  while (performance.now() < settleEnd && performance.now() - lastReceipt < 300) await sleep(50);
  const late = sent.reduce((acc, r) => acc + (receipts.get(r.key)?.length ?? 0), 0) - inTime;

  latencies.sort((a, b) => a - b);
  const postMs = sent.map((r) => r.ms).sort((a, b) => a - b);
  const wall = (deadline - t0) / 1000;
  const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : null;
  const result = {
    type: "cell", n, rate, consoles, incidents: count, posted: sent.length,
    post_errors: errors.length, post_error_sample: errors[0] ? `${errors[0].status} ${errors[0].text}` : null,
    expected, received: inTime, lost: expected - Math.min(inTime, expected), late, duplicates,
    p50: pct(latencies, 50), p95: pct(latencies, 95), p99: pct(latencies, 99),
    max: latencies.length ? +latencies[latencies.length - 1].toFixed(2) : null,
    mean: mean === null ? null : +mean.toFixed(2),
    post_p50: pct(postMs, 50), post_p99: pct(postMs, 99),
    positions_posted: positions.length, positions_ok: posOk,
    positions_received: positionsReceived - positionsBefore,
    other_receipts: receiptCount - receiptsBefore - inTime - late,
    disconnects: disconnects - disconnectsBefore,
    wall_s: +wall.toFixed(3),
    loadgen_cpu_s: +((loadgenCpu.user + loadgenCpu.system) / 1e6).toFixed(3),
  };
  out(result);
  return result;
}

// A cell is saturated when its median passes saturatedMs or it loses events; heavier cells
// (same N at higher rates, larger N at the same or higher rates) are then reported as skipped,
// which keeps the run bounded: a saturated cell's backlog only grows with load.
let saturatedRate = Infinity;

async function main() {
  out({ type: "start", kind: cfg.kind, urls: cfg.urls, node: process.version });
  let aborted = null;
  outer: for (const n of cfg.consoles) {
    if (cfg.rates.every((rate) => rate >= saturatedRate)) {
      for (const rate of cfg.rates) out({ type: "skipped", n, rate, why: "saturated" });
      continue;
    }
    const ok = await growTo(n);
    if (!ok && clients.length < n) {
      aborted = `only ${clients.length} of ${n} consoles connected`;
      break;
    }
    for (const rate of cfg.rates) {
      if (overCap()) {
        aborted = `hard cap of ${hardCapMs / 1000} s reached`;
        break outer;
      }
      if (rate >= saturatedRate) {
        out({ type: "skipped", n, rate, why: "saturated" });
        continue;
      }
      const result = await cell(n, rate);
      if (result.lost > 0 || (result.p50 ?? Infinity) > (cfg.saturatedMs ?? 1000)) {
        saturatedRate = Math.min(saturatedRate, rate);
      }
    }
  }
  for (const c of clients) c.close();
  out({ type: "done", aborted, seconds: +((performance.now() - started) / 1000).toFixed(1) });
  await sleep(100);
  process.exit(0);
}

const guard = setTimeout(() => {
  out({ type: "done", aborted: "watchdog", seconds: (performance.now() - started) / 1000 });
  process.exit(2);
}, hardCapMs + 60000);
guard.unref();

main().catch((err) => {
  out({ type: "error", error: String(err && err.stack) });
  process.exit(1);
});
