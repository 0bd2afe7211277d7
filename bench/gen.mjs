// Generates a V8 heap snapshot of (roughly) a target size with a realistic object mix.
// ESM port of shared/research/peer-baseline/study/gen.js (the generator behind peers-2026-11.md), so
// sizes and section shares match that study: "700" gives ~758 MB (8.75M nodes, 28M edges).
//
//   node --max-old-space-size=16000 bench/gen.mjs <targetMB> <out.heapsnapshot> [<out2.heapsnapshot> [growPct=5]]
//
// With <out2>, the SAME process then grows by growPct % more records, drops every 50th log line and
// writes a second snapshot (as the peer study's gen.js): node ids match across the pair, a realistic
// diff input.
//
// Writes to <out>.tmp-<pid> and renames, so a file at <out> is always complete. Prints one JSON line
// per file with the header counts. 700 takes ~1.5 min and ~3.6 GB RSS.
//
// Each "record" is one of: a User (class instance, 6 props, nested object, array of shared strings),
// an Order (refs a User, array of line-item objects, boxed doubles, a Date), a Session (Map with
// entries + closure capturing the session), an event-handler closure with its own context, a unique
// log-line string, or a cache entry (Map key string -> small object). Everything is retained from a
// global so it all shows up in the snapshot.
import fs from 'node:fs';
import v8 from 'node:v8';

const targetMB = Number(process.argv[2]);
const out = process.argv[3];
const out2 = process.argv[4];
const growPct = process.argv[5] === undefined ? 5 : Number(process.argv[5]);
if (!out || !(targetMB > 0) || !(growPct >= 0)) {
  console.error('usage: node --max-old-space-size=16000 bench/gen.mjs <targetMB> <out.heapsnapshot> [<out2.heapsnapshot> [growPct=5]]');
  process.exit(2);
}
// Calibrated on node v20 (peer study): an idle node process snapshot is ~3.8 MiB, and each record adds
// ~BYTES_PER_RECORD bytes of snapshot JSON.
const BASE_MB = 3.8;
const BYTES_PER_RECORD = 662;
const n = Math.max(0, Math.round(((targetMB - BASE_MB) * 1024 * 1024) / BYTES_PER_RECORD));

const CITIES = ['Berlin', 'Lisbon', 'Osaka', 'Austin', 'Nairobi', 'Lima', 'Oslo', 'Pune'];
const TAGS = ['admin', 'beta', 'trial', 'vip', 'churned', 'staff', 'eu', 'us', 'apac'];
const LEVELS = ['INFO', 'WARN', 'DEBUG', 'ERROR'];
// Strings built with + / template literals are ConsString trees in V8; data that arrives from I/O or
// JSON.parse is flat. Most strings here go through flat() so they look like the latter.
const flat = (s) => JSON.parse('"' + s + '"');

class Address { constructor(i) { this.street = `${i % 977} Main St`; this.city = CITIES[i % CITIES.length]; this.zip = 10000 + (i % 89999); } }
class User {
  constructor(i) {
    this.id = i;
    this.name = `user-${i}`;
    this.email = flat(`user${i}@example.com`);
    this.age = 18 + (i % 70);
    this.active = (i & 1) === 0;
    this.tags = [TAGS[i % 9], TAGS[(i >> 3) % 9], TAGS[(i >> 5) % 9]];
    this.address = new Address(i);
    this.bio = flat(`Joined ${1990 + (i % 35)}; likes ${TAGS[(i >> 2) % 9]} and ${CITIES[(i >> 4) % 8]}; ref #${(i * 40503) % 1000003}`);
  }
}
class LineItem { constructor(i, k) { this.sku = 'SKU' + ((i * 7 + k) % 5000); this.qty = 1 + (k % 4); this.price = 0.5 + ((i + k) % 400) / 7; } }
class Order {
  constructor(i, user) {
    this.orderId = 'ord_' + i.toString(36);
    this.user = user;
    const items = [];
    for (let k = 0; k < 2 + (i % 3); k++) items.push(new LineItem(i, k));
    this.items = items;
    this.total = items.reduce((s, it) => s + it.price * it.qty, 0);
    this.createdAt = new Date(1.7e12 + i * 1000);
    this.status = i % 5 === 0 ? 'refunded' : 'paid';
  }
}
class Session {
  constructor(i, user) {
    this.sid = flat('sess-' + (i * 2654435761 % 4294967296).toString(16));
    this.user = user;
    this.attrs = new Map([['theme', i & 1 ? 'dark' : 'light'], ['lang', 'en'], ['visits', i % 50]]);
    const self = this;
    this.onExpire = function onExpire() { return self.sid.length + i; };
  }
}
function makeHandler(i, user) {
  const counter = { n: i % 10 };
  const label = 'h' + i;
  return function handleEvent(ev) { counter.n++; return label + ev + user.id; };
}

const R = (globalThis.__retained = { users: [], orders: [], sessions: [], handlers: [], logs: [], cache: new Map() });
function allocate(from, to) {
  for (let i = from; i < to; i++) {
    const kind = i % 10;
    const users = R.users;
    const someUser = users.length ? users[(i * 31) % users.length] : null;
    if (kind <= 2) users.push(new User(i));
    else if (kind <= 4) R.orders.push(new Order(i, someUser));
    else if (kind === 5) R.sessions.push(new Session(i, someUser));
    else if (kind === 6) R.handlers.push(makeHandler(i, someUser || { id: 0 }));
    else if (kind === 7) {
      for (let k = 0; k < 2; k++) R.logs.push(flat(`${new Date(1.7e12 + i * 10 + k).toISOString()} ${LEVELS[(i + k) % 4]} request ${i}.${k} served in ${(i + k) % 997}ms path=/api/v1/items/${(i + k) % 4096}?q=${(i * 7919) % 100003}`));
    }
    else if (kind === 8) R.cache.set(flat('cache:item:' + i), { value: i * 3, hits: i % 17, ts: 1.7e12 + i });
    else R.users.push(new User(i)); // kind 9: more users (most common object in real heaps)
  }
}

function write(file, records, allocMs) {
  const tmp = `${file}.tmp-${process.pid}`;
  const t0 = Date.now();
  try {
    v8.writeHeapSnapshot(tmp);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* not written */ }
    throw e;
  }
  const head = Buffer.alloc(8192);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const h = head.toString('latin1');
  console.log(JSON.stringify({
    out: file, targetMB, records, bytes: fs.statSync(file).size,
    nodeCount: Number(/"node_count":(\d+)/.exec(h)[1]), edgeCount: Number(/"edge_count":(\d+)/.exec(h)[1]),
    allocMs, writeMs: Date.now() - t0, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }));
}

let t0 = Date.now();
allocate(0, n);
write(out, n, Date.now() - t0);
if (out2) {
  const n2 = Math.round(n * (1 + growPct / 100));
  t0 = Date.now();
  allocate(n, n2);
  R.logs = R.logs.filter((_, k) => k % 50 !== 0);
  write(out2, n2, Date.now() - t0);
}
