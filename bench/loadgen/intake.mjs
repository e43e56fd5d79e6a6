// Issue 11.6 intake load generator: one Node process, M socket.io-client consoles, and the
// citizens: POSTs to the app API (/api/v1/reports) or signed LINE webhooks (/line/webhook).
//
//   node bench/loadgen/intake.mjs CONFIG.json      (bench/intake.py writes CONFIG)
//
// CONFIG keys: urls [..] (server processes, round robin), kind ("app" | "line"), apiKey,
// lineSecret, consoles, consoleCookie, mode ("closed": `concurrency` requests always in flight;
// "open": `rate` requests/s whatever the answers), seconds, maxRequests, hardCapSeconds.
// Every report is a new place near Phitsanulok (some join an open incident: fusion) from a new
// reporter; app requests carry an Idempotency-Key. Output: one JSON line with the figures.
// Loopback only: every URL must be http://127.x.x.x or localhost.

import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
for (const url of cfg.urls) {
  const host = new URL(url).hostname;
  if (!(host.startsWith("127.") || host === "localhost")) throw new Error(`loopback only: ${url}`);
}
const started = performance.now();
const hardCapMs = (cfg.hardCapSeconds ?? 120) * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// --- consoles ---------------------------------------------------------------------------
let received = 0;
const consoles = [];
async function openConsoles() {
  let connected = 0;
  for (let i = 0; i < cfg.consoles; i++) {
    const socket = io(cfg.urls[i % cfg.urls.length], {
      transports: ["websocket"], forceNew: true, reconnection: false,
      extraHeaders: { Cookie: cfg.consoleCookie },
    });
    socket.on("connect", () => { connected += 1; });
    socket.on("incident.created", () => { received += 1; });
    socket.on("incident.reports", () => { received += 1; });
    consoles.push(socket);
    if (i % 25 === 24) await sleep(50);
  }
  const deadline = performance.now() + 60000;
  while (connected < cfg.consoles && performance.now() < deadline) await sleep(50);
  return connected;
}

// --- citizens ---------------------------------------------------------------------------
const PSL = [16.8211, 100.2659];
const CATEGORIES = ["children", "elderly", "disability", "homeless"];
function spot() {
  return [PSL[0] + (Math.random() - 0.5) * 0.24, PSL[1] + (Math.random() - 0.5) * 0.24];
}

function appRequest() {
  const [lat, lon] = spot();
  const body = JSON.stringify({
    category: CATEGORIES[Math.floor(Math.random() * CATEGORIES.length)],
    description: "เด็กร้องไห้ในบ้านร้าง", contact: null,
    position: { lat: +lat.toFixed(6), lon: +lon.toFixed(6), accuracy_m: 15 },
  });
  return { path: "/api/v1/reports", body, headers: {
    "Content-Type": "application/json", "X-Api-Key": cfg.apiKey,
    "Idempotency-Key": randomUUID(), "Accept-Language": "th" } };
}

function lineRequest() {
  // A new LINE user sends their location: one webhook, one report (linked: it has a place).
  const [lat, lon] = spot();
  const body = JSON.stringify({ destination: "Ubench", events: [{
    type: "message", mode: "active", timestamp: Date.now(), webhookEventId: randomUUID(),
    deliveryContext: { isRedelivery: false },
    source: { type: "user", userId: "U" + randomUUID().replaceAll("-", "") },
    replyToken: randomUUID(),
    message: { type: "location", id: String(Date.now()), title: "", address: "",
               latitude: lat, longitude: lon } }] });
  const signature = createHmac("sha256", cfg.lineSecret).update(body).digest("base64");
  return { path: "/line/webhook", body, headers: {
    "Content-Type": "application/json", "X-Line-Signature": signature } };
}

const latencies = [];
const statuses = {};
let sent = 0;
let inFlight = 0;
let next = 0;
async function one() {
  const req = cfg.kind === "line" ? lineRequest() : appRequest();
  const url = cfg.urls[next++ % cfg.urls.length] + req.path;
  sent += 1;
  inFlight += 1;
  const t0 = performance.now();
  let status = "error";
  try {
    const resp = await fetch(url, { method: "POST", body: req.body, headers: req.headers });
    await resp.arrayBuffer();
    status = String(resp.status);
  } catch (err) {
    status = "error";
  }
  inFlight -= 1;
  statuses[status] = (statuses[status] ?? 0) + 1;
  if (status === "201" || status === "200") latencies.push(performance.now() - t0);
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  return +sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1);
}

async function main() {
  const connected = await openConsoles();
  await sleep(500);
  const t0 = performance.now();
  const endAt = t0 + cfg.seconds * 1000;
  const stop = () => performance.now() >= endAt || sent >= cfg.maxRequests
    || performance.now() - started > hardCapMs;
  if (cfg.mode === "open") {
    const gap = 1000 / cfg.rate;
    let due = performance.now();
    while (!stop()) {
      if (inFlight < 1000) one();
      due += gap;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      else if (wait < -1000) due = performance.now();  // too far behind: do not burst
    }
  } else {
    const worker = async () => { while (!stop()) await one(); };
    await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  }
  const loadEnd = performance.now();
  const drainUntil = loadEnd + 15000;
  while (inFlight > 0 && performance.now() < drainUntil) await sleep(20);
  const elapsed = (loadEnd - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const ok = latencies.length;
  await sleep(1000);
  out({ kind: cfg.kind, mode: cfg.mode, rate: cfg.rate ?? null,
        concurrency: cfg.concurrency ?? null, consoles: cfg.consoles, connected,
        processes: cfg.urls.length, seconds: +elapsed.toFixed(2), sent, ok, statuses,
        reports_per_s: +(ok / elapsed).toFixed(1), p50: pct(latencies, 50),
        p95: pct(latencies, 95), p99: pct(latencies, 99), max: pct(latencies, 100),
        console_events: received });
  for (const s of consoles) s.close();
  process.exit(0);
}

main();
