#!/usr/bin/env node
// Writes a valid V8 heap snapshot of any size straight to disk, in bounded memory (~100 MB whatever
// the size): what bench/gen.mjs cannot do past a few GB (it builds the heap for real, and V8 needs
// ~5× the file to write it).
//
//   node bench/gen-stream.mjs <targetMB> <out.heapsnapshot> [--seed N] [--records N] [--compare <real.heapsnapshot>]
//
// --records N writes exactly N records (the target size is then ignored): tests use it for exact counts.
//
// The file is a real snapshot of this process (taken first, ~4 MB: its meta — node_fields, node_types,
// edge_types, location_fields … of the running Node —, GC roots, builtins, global object) with records
// appended, retained from the global object as bench/gen.mjs retains its own (global.__retained):
// users (with an address and a tags array), orders (line items, a Date, heap numbers; each refers to
// an earlier user), sessions (a Map of attributes and a closure over the session, whose context points
// back at it), event-handler closures (their context holds an earlier user, a counter and a label),
// unique log lines, and a Map cache of string keys to small objects. The node types, edge types,
// names, self sizes and locations of each record are those V8 writes for the same objects (read off
// bench/out/s120 made by bench/gen.mjs); --compare prints both files' statistics side by side
// (bench/snapshot-stats.mjs).
//
// Node order: V8 lists nodes in heap order, which GC has mixed: most of a record's objects are next
// to each other, some (an array's backing store, a string allocated later) are far away, and the
// shared ones (maps, prototypes, interned strings) are one node that many edges point at. Here each
// record's nodes are in a head region in record order, a few in a tail region after it, and the
// shared ones in a hub region before both (or in the base, when the running V8 has them: the
// one-byte string map, the heap-number map, Object/Array/Map/Function prototypes…). Orders,
// sessions and handlers refer to a seeded-random earlier user: edges that go anywhere.
//
// Streaming: every section is written in one pass over the records, and a record's nodes, edges,
// strings and locations are a function of its index and the seed alone, so each pass regenerates
// them. Which kind a record is repeats with a period of 30 (as gen.mjs: i % 10, and an order's line
// items 2 + i % 3), so where any record's nodes and strings start is a closed form of its index:
// nothing per record is kept.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ------------------------------------------------------------------ arguments
function usage(message) {
  if (message) console.error(`gen-stream: ${message}`);
  console.error('usage: node bench/gen-stream.mjs <targetMB> <out.heapsnapshot> [--seed N] [--records N] [--compare <real.heapsnapshot>]');
  process.exit(2);
}
const args = process.argv.slice(2);
const positional = [];
let seed = 20261204;
let compareWith;
let fixedRecords;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seed') seed = Number(args[++i]) >>> 0;
  else if (args[i] === '--records') fixedRecords = Math.floor(Number(args[++i]));
  else if (args[i] === '--compare') compareWith = args[++i];
  else positional.push(args[i]);
}
const targetMB = Number(positional[0]);
const out = positional[1];
if (!out || !(targetMB > 0)) usage();
if (fixedRecords !== undefined && !(fixedRecords >= 1)) usage('--records needs a positive number');

// ------------------------------------------------------------------ the base: a real snapshot of this process
/** This process's own heap, written by V8 (small: nothing is allocated yet). */
let BASE_BYTES = 0;
function takeBase() {
  const file = path.join(os.tmpdir(), `gen-stream-base-${process.pid}.heapsnapshot`);
  v8.writeHeapSnapshot(file);
  try {
    BASE_BYTES = fs.statSync(file).size;
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } finally {
    fs.rmSync(file, { force: true });
  }
}

const base = takeBase();
const meta = base.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const LF = meta.location_fields.length;
const nodeTypeNames = meta.node_types[0];
const edgeTypeNames = meta.edge_types[0];
const T = Object.fromEntries(nodeTypeNames.map((n, i) => [n, i]));
const E = Object.fromEntries(edgeTypeNames.map((n, i) => [n, i]));
const F = { type: meta.node_fields.indexOf('type'), name: meta.node_fields.indexOf('name'), id: meta.node_fields.indexOf('id'), size: meta.node_fields.indexOf('self_size'), edges: meta.node_fields.indexOf('edge_count') };
const EFI = { type: meta.edge_fields.indexOf('type'), name: meta.edge_fields.indexOf('name_or_index'), to: meta.edge_fields.indexOf('to_node') };
const LFI = Object.fromEntries(meta.location_fields.map((n, i) => [n, i]));
const B = base.nodes.length / NF; // base node count
const baseFirstEdge = new Uint32Array(B + 1);
for (let o = 0, e = 0; o < B; o++) {
  baseFirstEdge[o] = e;
  e += base.nodes[o * NF + F.edges];
}
baseFirstEdge[B] = base.edges.length / EF;
const baseName = (o) => base.strings[base.nodes[o * NF + F.name]];
const baseType = (o) => nodeTypeNames[base.nodes[o * NF + F.type]];
/** Target of the first edge of `o` with this type and name, or -1. */
function baseChild(o, type, name) {
  for (let e = baseFirstEdge[o]; e < baseFirstEdge[o + 1]; e++) {
    const t = base.edges[e * EF + EFI.type];
    if (edgeTypeNames[t] === type && base.strings[base.edges[e * EF + EFI.name]] === name) return base.edges[e * EF + EFI.to] / NF;
  }
  return -1;
}
function baseFind(type, name) {
  for (let o = 0; o < B; o++) if (baseType(o) === type && baseName(o) === name) return o;
  return -1;
}
let globalObject = -1;
for (let e = baseFirstEdge[0]; e < baseFirstEdge[1]; e++) {
  if (base.edges[e * EF + EFI.type] === E.shortcut) { globalObject = base.edges[e * EF + EFI.to] / NF; break; }
}
if (globalObject < 0) throw new Error('the base snapshot has no user global (no shortcut edge from the root)');
let maxBaseId = 0;
for (let o = 0; o < B; o++) maxBaseId = Math.max(maxBaseId, base.nodes[o * NF + F.id] < 0x40000000 ? base.nodes[o * NF + F.id] : 0);

// ------------------------------------------------------------------ strings
const baseStringIndex = new Map();
base.strings.forEach((s, i) => { if (!baseStringIndex.has(s)) baseStringIndex.set(s, i); });
/** Strings the records share (names, property names, interned values), after the base's. */
const hubStrings = [];
const hubStringIndex = new Map();
function str(text) {
  const known = baseStringIndex.get(text) ?? hubStringIndex.get(text);
  if (known !== undefined) return known;
  const index = base.strings.length + hubStrings.length;
  hubStrings.push(text);
  hubStringIndex.set(text, index);
  return index;
}
const CITIES = ['Berlin', 'Lisbon', 'Osaka', 'Austin', 'Nairobi', 'Lima', 'Oslo', 'Pune'];
const TAGS = ['admin', 'beta', 'trial', 'vip', 'churned', 'staff', 'eu', 'us', 'apac'];
const LEVELS = ['INFO', 'WARN', 'DEBUG', 'ERROR'];
const S = Object.create(null); // no prototype: "__proto__" is one of the names
for (const name of ['', 'User', 'Address', 'Order', 'LineItem', 'Session', 'Date', 'Map', 'Array', 'Object', 'Function', 'system / Map', 'system / Context', 'system / ScopeInfo', 'system / FeedbackCell',
  'system / DescriptorArray', '(object elements)', 'heap number', 'handleEvent', 'onExpire', 'name', 'email', 'active', 'tags', 'address', 'bio', 'street', 'city', '__proto__', 'map', 'elements',
  'orderId', 'user', 'items', 'createdAt', 'status', 'sku', 'sid', 'attrs', 'onExpire', 'table', 'feedback_cell', 'shared', 'context', 'code', 'self', 'scope_info', 'previous', 'counter', 'label',
  'value', 'hits', 'ts', 'prototype', 'constructor', 'descriptors', 'users', 'orders', 'sessions', 'handlers', 'logs', 'cache', 'classes', '__retained', 'paid', 'refunded',
  'theme', 'dark', 'light', 'lang', 'en', 'visits', '(CompileLazy builtin handle)', 'system / Oddball']) S[name] = str(name);
const S_TAGS = TAGS.map(str);
// SKUs and street names repeat (5000 and 977 distinct values): separate string nodes, one table entry each.
const S_SKU0 = str('SKU0');
for (let k = 1; k < 5000; k++) str(`SKU${k}`);
const S_STREET0 = str('0 Main St');
for (let k = 1; k < 977; k++) str(`${k} Main St`);
const S_CITIES = CITIES.map(str);

// ------------------------------------------------------------------ shared nodes
/** Ordinals of the shared nodes the base already has (or -1: made in the hub region). */
function basePrototype(ctor) {
  const c = baseChild(globalObject, 'property', ctor);
  return c < 0 ? -1 : baseChild(c, 'property', 'prototype');
}
const fromBase = {
  stringMap: baseFind('hidden', 'system / Map (OneByteString)'),
  numberMap: (() => { for (let o = 0; o < B; o++) if (baseType(o) === 'number') { const m = baseChild(o, 'internal', 'map'); if (m >= 0) return m; } return -1; })(),
  oddball: baseFind('hidden', 'system / Oddball'),
  compileLazy: baseFind('code', '(CompileLazy builtin handle)'),
  outerContext: baseFind('object', 'system / Context'),
  objectPrototype: basePrototype('Object'),
  arrayPrototype: basePrototype('Array'),
  mapPrototype: basePrototype('Map'),
  datePrototype: basePrototype('Date'),
  functionPrototype: basePrototype('Function'),
};

/**
 * The hub region: the container R (global.__retained) and its arrays, the record classes (constructor,
 * prototype, map), closures' shared parts, and whatever the base lacks. Each hub: [name, type, nameIndex,
 * selfSize, edges()], its edges [type, nameOrIndex, target ordinal] (a function: ordinals of the regions
 * are known only once the hubs are counted).
 */
const hubs = [];
const H = {};
function hub(key, type, name, size, edges = () => []) {
  H[key] = hubs.length; // relative; made absolute below
  hubs.push({ key, type, name, size, edges });
}
const at = (key) => HUB0 + H[key];
const shared = (key, baseOrdinal) => (baseOrdinal >= 0 ? baseOrdinal : at(key));
// Filled in once the region sizes are known.
let HUB0 = 0;

hub('R', T.object, S.Object, 72, () => [
  [E.property, S.users, at('users')], [E.property, S.orders, at('orders')], [E.property, S.sessions, at('sessions')], [E.property, S.handlers, at('handlers')],
  [E.property, S.logs, at('logs')], [E.property, S.cache, at('cache')], [E.property, S.classes, at('classes')],
  [E.property, S.__proto__, shared('objectPrototype', fromBase.objectPrototype)], [E.internal, S.map, at('mapR')],
  ...missing.map((k, i) => [E.hidden, i, at(k)]),
]);
hub('mapR', T['object shape'], S['system / Map'], 72, () => [[E.internal, S.descriptors, at('descriptors')]]);
hub('descriptors', T['object shape'], S['system / DescriptorArray'], 168);
for (const kind of ['users', 'orders', 'sessions', 'handlers', 'logs']) {
  hub(kind, T.object, S.Array, 32, () => [containerEdges(kind), [E.property, S.__proto__, shared('arrayPrototype', fromBase.arrayPrototype)], [E.internal, S.elements, at(`${kind}Elements`)], [E.internal, S.map, at('arrayMap')]]);
  // The backing store holds every element too (so a record is retained by both, as in V8).
  hub(`${kind}Elements`, T.array, S['(object elements)'], 16, () => lazy(CONTAINER[kind], countBefore(CONTAINER[kind], RECORDS), E.internal)); // self size set from the count below
}
hub('cache', T.object, S.Map, 32, () => [[E.internal, S.table, at('cacheTable')], [E.property, S.__proto__, shared('mapPrototype', fromBase.mapPrototype)], [E.internal, S.map, at('mapMap')]]);
hub('cacheTable', T.array, S[''], 24, () => cacheTableEdges());
hub('classes', T.object, S.Object, 56, () => [
  ...['User', 'Address', 'Order', 'LineItem', 'Session'].map((c) => [E.property, S[c], at(`ctor${c}`)]),
  [E.property, S.__proto__, shared('objectPrototype', fromBase.objectPrototype)], [E.internal, S.map, at('mapR')],
]);
for (const c of ['User', 'Address', 'Order', 'LineItem', 'Session']) {
  hub(`ctor${c}`, T.closure, S[c], 64, () => [[E.property, S.prototype, at(`proto${c}`)], [E.property, S.__proto__, shared('functionPrototype', fromBase.functionPrototype)],
    [E.internal, S.shared, at(`sfi${c}`)], [E.internal, S.context, shared('outerContext', fromBase.outerContext)], [E.internal, S.map, at('closureMap')]]);
  hub(`sfi${c}`, T.code, S[c], 56);
  hub(`proto${c}`, T.object, S.Object, 24, () => [[E.property, S.constructor, at(`ctor${c}`)], [E.property, S.__proto__, shared('objectPrototype', fromBase.objectPrototype)], [E.internal, S.map, at(`protoMap${c}`)]]);
  hub(`protoMap${c}`, T['object shape'], S['system / Map'], 72);
  hub(`map${c}`, T['object shape'], S['system / Map'], 72, () => [[E.internal, S.prototype, at(`proto${c}`)], [E.internal, S.descriptors, at('descriptors')]]);
}
hub('mapObject', T['object shape'], S['system / Map'], 72, () => [[E.internal, S.prototype, shared('objectPrototype', fromBase.objectPrototype)]]);
hub('arrayMap', T['object shape'], S['system / Map'], 72);
hub('mapMap', T['object shape'], S['system / Map'], 72);
hub('dateMap', T['object shape'], S['system / Map'], 72);
hub('closureMap', T['object shape'], S['system / Map'], 72);
hub('contextMap', T['object shape'], S['system / Map'], 72);
hub('tableMap', T.hidden, S['system / Map'], 72);
for (const f of ['handleEvent', 'onExpire']) {
  hub(`sfi${f}`, T.code, S[f], 56);
  hub(`cell${f}`, T.code, S['system / FeedbackCell'], 24);
  hub(`scope${f}`, T.code, S['system / ScopeInfo'], 64);
}
// What the base lacks (nothing, on Node 20–26: so that a leaner V8 still gives a valid file), held by R.
const MISSING = { stringMap: [T.hidden, S['system / Map'], 40], numberMap: [T.hidden, S['system / Map'], 40], oddball: [T.hidden, S['system / Oddball'], 48],
  compileLazy: [T.code, S['(CompileLazy builtin handle)'], 88], outerContext: [T.object, S['system / Context'], 48], objectPrototype: [T.object, S.Object, 56],
  arrayPrototype: [T.object, S.Object, 56], mapPrototype: [T.object, S.Object, 56], datePrototype: [T.object, S.Object, 56], functionPrototype: [T.closure, S[''], 56] };
const missing = Object.keys(MISSING).filter((k) => fromBase[k] < 0);
for (const k of missing) hub(k, ...MISSING[k]);
for (let k = 0; k < TAGS.length; k++) hub(`tag${k}`, T.string, S_TAGS[k], 24, () => [[E.internal, S.map, SHARED.stringMap]]);
for (let k = 0; k < CITIES.length; k++) hub(`city${k}`, T.string, S_CITIES[k], 24, () => [[E.internal, S.map, SHARED.stringMap]]);
for (const s of ['paid', 'refunded', 'theme', 'dark', 'light', 'lang', 'en', 'visits']) hub(`s_${s}`, T.string, S[s], 24, () => [[E.internal, S.map, SHARED.stringMap]]);

/** Shared nodes records point at, by ordinal. */
const SHARED = {};

// ------------------------------------------------------------------ records
// Kinds by index, repeating every PERIOD records (gen.mjs: i % 10, an order's items 2 + i % 3).
const PERIOD = 30;
const USER = 0, ORDER = 1, SESSION = 2, HANDLER = 3, LOG = 4, CACHE = 5;
const KIND_BY_SLOT = [USER, USER, USER, ORDER, ORDER, SESSION, HANDLER, LOG, CACHE, USER];
const kindOf = (r) => KIND_BY_SLOT[r % 10];
const CONTAINER = { users: USER, orders: ORDER, sessions: SESSION, handlers: HANDLER, logs: LOG };

/** A seeded 32-bit hash of (record, k): the record's random numbers, the same in every pass. */
function random(r, k) {
  let h = Math.imul(seed ^ Math.imul(r, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35);
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d); h ^= h >>> 15; h = Math.imul(h, 0x846ca68b); h ^= h >>> 16;
  return h >>> 0;
}

/**
 * One record's nodes, as the template functions below describe them: HEAD nodes go to the head
 * region, MID nodes after the heads of the record's block (same region), TAIL nodes to the tail
 * region; each node's edges follow it. Flat, reused arrays.
 */
const HEAD = 0, MID = 1, TAIL = 2;
/** Records per block: a record's MID nodes follow the HEAD nodes of its whole block (a few hundred nodes away). */
const BLOCK = 40 * 30;
class Record {
  constructor() {
    this.nodeCount = 0;
    this.node = new Float64Array(64 * 6); // part, type, name, size, first edge, location line (0: none)
    this.edgeCount = 0;
    this.edge = new Float64Array(256 * 3); // type, name or index, target ordinal
    this.head = 0; // first head ordinal
    this.mid = 0; // first mid ordinal
    this.tail = 0; // first tail ordinal
    this.str = 0; // first unique string index
  }
  reset(head, mid, tail, str) { this.nodeCount = 0; this.edgeCount = 0; this.head = head; this.mid = mid; this.tail = tail; this.str = str; }
  add(part, type, name, size, line = 0) {
    const k = this.nodeCount++ * 6;
    const n = this.node;
    n[k] = part; n[k + 1] = type; n[k + 2] = name; n[k + 3] = size; n[k + 4] = this.edgeCount; n[k + 5] = line;
    return this;
  }
  e(type, name, to) {
    const k = this.edgeCount++ * 3;
    this.edge[k] = type; this.edge[k + 1] = name; this.edge[k + 2] = to;
    return this;
  }
}

/** Line of each class's constructor in the generated script (locations: object_index, script, line, column). */
const LINE = { User: 30, Address: 29, LineItem: 41, Order: 43, Session: 55, handleEvent: 66, onExpire: 61 };
const SCRIPT_ID = 99; // as in bench/out/s120: the generator's own script

// Each template: (r, record) → adds the record's nodes; returns nothing. Local ordinals are fixed per
// kind, so a node can point at one added after it: h(k) is the k-th head node, t(k) the k-th tail node.
function userRecord(r, x) {
  const h = (k) => x.head + k, t = (k) => x.tail + k, s = x.str;
  const str = SHARED.stringMap;
  x.add(HEAD, T.object, S.User, 88, LINE.User)
    .e(E.property, S.name, h(1)).e(E.property, S.email, h(2)).e(E.property, S.active, SHARED.oddball).e(E.property, S.tags, h(3))
    .e(E.property, S.address, h(4)).e(E.property, S.bio, h(5)).e(E.property, S.__proto__, at('protoUser')).e(E.internal, S.map, at('mapUser'));
  x.add(HEAD, T.string, s, 32).e(E.internal, S.map, str); // name
  x.add(HEAD, T.string, s + 1, 40).e(E.internal, S.map, str); // email
  const tags = [at(`tag${r % 9}`), at(`tag${(r >> 3) % 9}`), at(`tag${(r >> 5) % 9}`)];
  x.add(HEAD, T.object, S.Array, 32).e(E.element, 0, tags[0]).e(E.element, 1, tags[1]).e(E.element, 2, tags[2])
    .e(E.property, S.__proto__, SHARED.arrayPrototype).e(E.internal, S.elements, t(0)).e(E.internal, S.map, at('arrayMap'));
  x.add(HEAD, T.object, S.Address, 48, LINE.Address).e(E.property, S.street, t(1)).e(E.property, S.city, at(`city${r % 8}`))
    .e(E.property, S.__proto__, at('protoAddress')).e(E.internal, S.map, at('mapAddress'));
  x.add(HEAD, T.string, s + 2, 64).e(E.internal, S.map, str); // bio
  x.add(TAIL, T.array, S['(object elements)'], 40).e(E.internal, 0, tags[0]).e(E.internal, 1, tags[1]).e(E.internal, 2, tags[2]);
  x.add(TAIL, T.string, S_STREET0 + (r % 977), 32).e(E.internal, S.map, str); // street
}
function orderRecord(r, x) {
  const h = (k) => x.head + k, m = (k) => x.mid + k, t = (k) => x.tail + k, s = x.str;
  const items = 2 + (r % 3);
  // head: Order, orderId, items array, Date, total; mid: line items (item, sku, price) ×n; tail: elements, the Date's number
  x.add(HEAD, T.object, S.Order, 72, LINE.Order)
    .e(E.property, S.orderId, h(1)).e(E.property, S.user, earlierUser(r, 0)).e(E.property, S.items, h(2)).e(E.property, S.createdAt, h(3))
    .e(E.property, S.status, at(random(r, 3) % 5 === 0 ? 's_refunded' : 's_paid')).e(E.property, S.__proto__, at('protoOrder')).e(E.internal, S.map, at('mapOrder')).e(E.hidden, 2, h(4));
  x.add(HEAD, T.string, s, 24).e(E.internal, S.map, SHARED.stringMap); // orderId
  x.add(HEAD, T.object, S.Array, 32);
  for (let k = 0; k < items; k++) x.e(E.element, k, m(3 * k));
  x.e(E.property, S.__proto__, SHARED.arrayPrototype).e(E.internal, S.elements, t(0)).e(E.internal, S.map, at('arrayMap'));
  x.add(HEAD, T.object, S.Date, 96).e(E.property, S.__proto__, SHARED.datePrototype).e(E.internal, S.map, at('dateMap')).e(E.hidden, 2, t(1));
  x.add(HEAD, T.number, S['heap number'], 16).e(E.internal, S.map, SHARED.numberMap); // total
  for (let k = 0; k < items; k++) {
    x.add(MID, T.object, S.LineItem, 48, LINE.LineItem).e(E.property, S.sku, m(3 * k + 1)).e(E.property, S.__proto__, at('protoLineItem'))
      .e(E.internal, S.map, at('mapLineItem')).e(E.hidden, 2, m(3 * k + 2));
    x.add(MID, T.string, S_SKU0 + ((r * 7 + k) % 5000), 24).e(E.internal, S.map, SHARED.stringMap); // sku
    x.add(MID, T.number, S['heap number'], 16).e(E.internal, S.map, SHARED.numberMap); // price
  }
  x.add(TAIL, T.array, S['(object elements)'], 16 + 8 * items);
  for (let k = 0; k < items; k++) x.e(E.internal, k, m(3 * k));
  x.add(TAIL, T.number, S['heap number'], 16).e(E.internal, S.map, SHARED.numberMap); // the Date's value
}
function sessionRecord(r, x) {
  const m = (k) => x.mid + k, s = x.str;
  // head: Session; mid: sid, attrs Map, its table, onExpire closure, its context
  x.add(HEAD, T.object, S.Session, 56, LINE.Session)
    .e(E.property, S.sid, m(0)).e(E.property, S.user, earlierUser(r, 0)).e(E.property, S.attrs, m(1)).e(E.property, S.onExpire, m(3))
    .e(E.property, S.__proto__, at('protoSession')).e(E.internal, S.map, at('mapSession'));
  x.add(MID, T.string, s, 32).e(E.internal, S.map, SHARED.stringMap);
  x.add(MID, T.object, S.Map, 32).e(E.internal, S.table, m(2)).e(E.property, S.__proto__, SHARED.mapPrototype).e(E.internal, S.map, at('mapMap'));
  x.add(MID, T.array, S[''], 152).e(E.internal, 5, at('s_theme')).e(E.internal, 6, at(random(r, 4) & 1 ? 's_dark' : 's_light')).e(E.internal, 8, at('s_lang'))
    .e(E.internal, 9, at('s_en')).e(E.internal, 11, at('s_visits')).e(E.internal, S.map, at('tableMap'));
  closure(x, MID, 'onExpire', m(4));
  x.add(MID, T.object, S['system / Context'], 48).e(E.context, S.self, x.head).e(E.internal, S.scope_info, at('scopeonExpire'))
    .e(E.internal, S.previous, SHARED.outerContext).e(E.internal, S.map, at('contextMap'));
}
function handlerRecord(r, x) {
  const h = (k) => x.head + k, t = (k) => x.tail + k, s = x.str;
  // head: handleEvent closure, its context; tail: the counter object and the label (allocated apart)
  closure(x, HEAD, 'handleEvent', h(1));
  x.add(HEAD, T.object, S['system / Context'], 56).e(E.context, S.user, earlierUser(r, 0)).e(E.context, S.counter, t(0)).e(E.context, S.label, t(1))
    .e(E.internal, S.scope_info, at('scopehandleEvent')).e(E.internal, S.previous, SHARED.outerContext).e(E.internal, S.map, at('contextMap'));
  x.add(TAIL, T.object, S.Object, 32).e(E.property, S.__proto__, SHARED.objectPrototype).e(E.internal, S.map, at('mapObject'));
  x.add(TAIL, T.string, s, 24).e(E.internal, S.map, SHARED.stringMap);
}
function closure(x, part, name, context) {
  x.add(part, T.closure, S[name], 64, LINE[name]).e(E.property, S.__proto__, SHARED.functionPrototype).e(E.internal, S.feedback_cell, at(`cell${name}`))
    .e(E.internal, S.shared, at(`sfi${name}`)).e(E.internal, S.context, context).e(E.internal, S.code, SHARED.compileLazy).e(E.internal, S.map, at('closureMap'));
}
function logRecord(r, x) {
  x.add(HEAD, T.string, x.str, 104).e(E.internal, S.map, SHARED.stringMap);
  x.add(HEAD, T.string, x.str + 1, 104).e(E.internal, S.map, SHARED.stringMap);
}
function cacheRecord(r, x) {
  const h = (k) => x.head + k;
  // head: the key, the value object, its ts (a heap number)
  x.add(HEAD, T.string, x.str, 32).e(E.internal, S.map, SHARED.stringMap);
  x.add(HEAD, T.object, S.Object, 40).e(E.property, S.ts, h(2)).e(E.property, S.__proto__, SHARED.objectPrototype).e(E.internal, S.map, at('mapObject'));
  x.add(HEAD, T.number, S['heap number'], 16).e(E.internal, S.map, SHARED.numberMap);
}
const TEMPLATES = [userRecord, orderRecord, sessionRecord, handlerRecord, logRecord, cacheRecord];

/** Each record's unique strings, in string-index order. */
function recordStrings(r, emit) {
  switch (kindOf(r)) {
    case USER:
      emit(`user-${r}`); emit(`user${r}@example.com`);
      emit(`Joined ${1990 + (r % 35)}; likes ${TAGS[(r >> 2) % 9]} and ${CITIES[(r >> 4) % 8]}; ref #${(r * 40503) % 1000003}`);
      break;
    case ORDER:
      emit(`ord_${r.toString(36)}`);
      break;
    case SESSION: emit(`sess-${(random(r, 7) >>> 0).toString(16)}`); break;
    case HANDLER: emit(`h${r}`); break;
    case LOG:
      for (let k = 0; k < 2; k++) {
        emit(`${new Date(1.7e12 + r * 10 + k).toISOString()} ${LEVELS[(r + k) % 4]} request ${r}.${k} served in ${(r + k) % 997}ms path=/api/v1/items/${(r + k) % 4096}?q=${(r * 7919) % 100003}`);
      }
      break;
    case CACHE: emit(`cache:item:${r}`); break;
  }
}

// ------------------------------------------------------------------ where each record's parts start
/** Per slot of a period: head nodes, tail nodes, edges (head, tail), unique strings, locations; and prefix sums (filled below). */
const COUNTS = () => ({ head: 0, mid: 0, tail: 0, edges: 0, strings: 0, locations: 0 });
const slot = Array.from({ length: PERIOD }, COUNTS);
const period = COUNTS();
const prefix = Array.from({ length: PERIOD }, COUNTS);
const before = (r, key) => Math.floor(r / PERIOD) * period[key] + prefix[r % PERIOD][key];
/** Records of a kind among the first r. */
const KIND_SLOTS = [USER, ORDER, SESSION, HANDLER, LOG, CACHE].map((kind) => { const slots = []; for (let k = 0; k < PERIOD; k++) if (kindOf(k) === kind) slots.push(k); return slots; });
function countBefore(kind, r) {
  const slots = KIND_SLOTS[kind];
  let n = Math.floor(r / PERIOD) * slots.length;
  for (const k of slots) if (k < r % PERIOD) n++;
  return n;
}
/** The record index of the k-th record of a kind. */
const nthOf = (kind, k) => Math.floor(k / KIND_SLOTS[kind].length) * PERIOD + KIND_SLOTS[kind][k % KIND_SLOTS[kind].length];
/**
 * The head (first node) of a seeded-random user record before r: half the time one of the last
 * RECENT users (objects made together refer to each other), otherwise any.
 */
const RECENT = 2048;
function earlierUser(r, k) {
  const users = countBefore(USER, r);
  if (users === 0) return SHARED.oddball;
  const pick = random(r, k);
  const range = pick & 1 ? Math.min(users, RECENT) : users;
  return headOf(nthOf(USER, users - 1 - ((pick >>> 1) % range)));
}
let RECORDS = 0;
let HEAD0 = 0;
let TAIL0 = 0;
let STR0 = 0;
/** Where record r's head, mid and tail nodes start (see BLOCK). */
const headOf = (r) => HEAD0 + before(r, 'head') + before(r - (r % BLOCK), 'mid');
const midOf = (r) => HEAD0 + before(Math.min(r - (r % BLOCK) + BLOCK, RECORDS), 'head') + before(r, 'mid');
const tailOf = (r) => TAIL0 + before(r, 'tail');

function containerEdges(name) {
  const kind = CONTAINER[name];
  return lazy(kind, countBefore(kind, RECORDS));
}
/** A container's element edges, made as they are written: a container of a 4 GB file has millions. */
function lazy(kind, count, type = E.element) {
  const perRecord = kind === LOG ? 2 : 1;
  return {
    length: count * perRecord,
    *[Symbol.iterator]() {
      for (let k = 0; k < count; k++) {
        const h = headOf(nthOf(kind, k));
        for (let j = 0; j < perRecord; j++) yield [type, k * perRecord + j, h + j];
      }
    },
  };
}
function cacheTableEdges() {
  const count = countBefore(CACHE, RECORDS);
  const edges = {
    length: 2 * count + 1,
    *[Symbol.iterator]() {
      for (let k = 0; k < count; k++) {
        const h = headOf(nthOf(CACHE, k));
        yield [E.internal, 3 + 3 * k, h];
        yield [E.internal, 4 + 3 * k, h + 1];
      }
      yield [E.internal, S.map, at('tableMap')];
    },
  };
  return edges;
}
/** Hub edges as a list that may be lazy: its length first, then its items. */
function hubEdges(h) {
  const list = h.edges();
  const items = [];
  let length = 0;
  for (const part of Array.isArray(list) ? list : [list]) {
    if (Array.isArray(part) && typeof part[0] === 'number') { items.push([part]); length++; } else { items.push(part); length += part.length; }
  }
  return { length, *[Symbol.iterator]() { for (const part of items) yield* part; } };
}

// ------------------------------------------------------------------ one period, counted
// The templates run once per slot (with whatever ordinals: only the counts matter here).
{
  const x = new Record();
  for (let k = 0; k < PERIOD; k++) {
    x.reset(0, 0, 0, 0);
    TEMPLATES[kindOf(k)](k, x);
    const c = slot[k];
    c.edges = x.edgeCount;
    for (let n = 0; n < x.nodeCount; n++) {
      c[['head', 'mid', 'tail'][x.node[n * 6]]]++;
      if (x.node[n * 6 + 5] !== 0) c.locations++;
    }
    recordStrings(k, () => c.strings++);
    for (const key of Object.keys(period)) { prefix[k][key] = period[key]; period[key] += c[key]; }
  }
}

// ------------------------------------------------------------------ layout for a target size
const baseEdgeCount = base.edges.length / EF + 1; // + global.__retained
function layout(records) {
  RECORDS = records;
  HUB0 = B;
  HEAD0 = B + hubs.length;
  TAIL0 = HEAD0 + before(records, 'head') + before(records, 'mid');
  STR0 = base.strings.length + hubStrings.length;
  Object.assign(SHARED, Object.fromEntries(Object.entries(fromBase).map(([k, v]) => [k, v >= 0 ? v : at(k)])));
  let hubEdgeCount = 0;
  for (const h of hubs) hubEdgeCount += hubEdges(h).length;
  const nodeCount = TAIL0 + before(records, 'tail');
  const edgeCount = baseEdgeCount + hubEdgeCount + before(records, 'edges');
  return { nodeCount, edgeCount };
}

// ------------------------------------------------------------------ output
/** Bytes out through one reused buffer; numbers written digit by digit (no strings). */
class Writer {
  constructor(fd) { this.fd = fd; this.buf = Buffer.allocUnsafe(8 << 20); this.pos = 0; this.total = 0; }
  flush() { if (this.fd !== undefined) { let off = 0; while (off < this.pos) off += fs.writeSync(this.fd, this.buf, off, this.pos - off); } this.total += this.pos; this.pos = 0; }
  room(n) { if (this.pos + n > this.buf.length) this.flush(); }
  text(s) { this.room(s.length * 3 + 4); this.pos += this.buf.write(s, this.pos, 'utf8'); }
  byte(c) { if (this.pos === this.buf.length) this.flush(); this.buf[this.pos++] = c; }
  num(v) {
    if (!(v >= 0) || v !== Math.floor(v)) throw new Error(`not a count: ${v}`);
    this.room(24);
    if (v < 10) { this.buf[this.pos++] = 48 + v; return; }
    let digits = 0;
    if (v <= 0x7fffffff) {
      // Small integers: integer division.
      for (let x = v; x > 0; x = (x / 10) | 0) digits++;
      let p = this.pos + digits;
      this.pos = p;
      for (let x = v; x > 0; x = (x / 10) | 0) this.buf[--p] = 48 + (x % 10);
      return;
    }
    for (let x = v; x >= 1; x = Math.floor(x / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    for (let x = v; x >= 1; x = Math.floor(x / 10)) this.buf[--p] = 48 + (x % 10);
  }
}
const COMMA = 0x2c, NL = 0x0a;

/** One V8 row: "\n," before every row but the first, "," between values. */
class Rows {
  constructor(w) { this.w = w; this.first = true; }
  start() { if (this.first) this.first = false; else { this.w.byte(NL); this.w.byte(COMMA); } }
}

function writeNodes(w, ids) {
  const rows = new Rows(w);
  const values = new Float64Array(NF);
  const put = (type, name, id, size, edges) => {
    values.fill(0);
    values[F.type] = type; values[F.name] = name; values[F.id] = id; values[F.size] = size; values[F.edges] = edges;
    rows.start();
    for (let f = 0; f < NF; f++) { if (f) w.byte(COMMA); w.num(values[f]); }
  };
  for (let o = 0; o < B; o++) {
    rows.start();
    for (let f = 0; f < NF; f++) { if (f) w.byte(COMMA); w.num(base.nodes[o * NF + f] + (o === globalObject && f === F.edges ? 1 : 0)); }
  }
  for (const h of hubs) put(h.type, h.name, ids.next(), h.key.endsWith('Elements') ? 16 + 8 * hubEdges(hubs[H[h.key.slice(0, -8)]]).length : h.size, hubEdges(h).length);
  inNodeOrder((x, n) => {
    const k = n * 6;
    put(x.node[k + 1], x.node[k + 2], ids.next(), x.node[k + 3], (n + 1 < x.nodeCount ? x.node[k + 6 + 4] : x.edgeCount) - x.node[k + 4]);
  });
}
function fill(x, r) {
  x.reset(headOf(r), midOf(r), tailOf(r), STR0 + before(r, 'strings'));
  TEMPLATES[kindOf(r)](r, x);
}
/**
 * Calls visit(record, n, ordinal) for every record node in node order: per block, its records' head
 * nodes, then their mid nodes; then every record's tail nodes.
 */
function inNodeOrder(visit) {
  const x = new Record();
  const each = (from, to, part) => {
    for (let r = from; r < to; r++) {
      fill(x, r);
      let ordinal = part === HEAD ? x.head : part === MID ? x.mid : x.tail;
      for (let n = 0; n < x.nodeCount; n++) if (x.node[n * 6] === part) visit(x, n, ordinal++);
    }
  };
  for (let b = 0; b < RECORDS; b += BLOCK) {
    each(b, Math.min(b + BLOCK, RECORDS), HEAD);
    each(b, Math.min(b + BLOCK, RECORDS), MID);
  }
  each(0, RECORDS, TAIL);
}

function writeEdges(w) {
  const rows = new Rows(w);
  const v = new Float64Array(EF);
  const put = (type, name, to) => {
    rows.start();
    v[EFI.type] = type; v[EFI.name] = name; v[EFI.to] = to * NF;
    w.num(v[0]); w.byte(COMMA); w.num(v[1]); w.byte(COMMA); w.num(v[2]);
  };
  for (let o = 0; o < B; o++) {
    for (let e = baseFirstEdge[o]; e < baseFirstEdge[o + 1]; e++) {
      rows.start();
      for (let f = 0; f < EF; f++) { if (f) w.byte(COMMA); w.num(base.edges[e * EF + f]); }
    }
    if (o === globalObject) put(E.property, S.__retained, at('R'));
  }
  for (const h of hubs) for (const [type, name, to] of hubEdges(h)) put(type, name, to);
  inNodeOrder((x, n) => {
    const k = n * 6;
    for (let e = x.node[k + 4], end = n + 1 < x.nodeCount ? x.node[k + 6 + 4] : x.edgeCount; e < end; e++) put(x.edge[e * 3], x.edge[e * 3 + 1], x.edge[e * 3 + 2]);
  });
}

function writeLocations(w) {
  const rows = new Rows(w);
  const n = base.locations.length / LF;
  for (let k = 0; k < n; k++) {
    rows.start();
    for (let f = 0; f < LF; f++) { if (f) w.byte(COMMA); w.num(base.locations[k * LF + f]); }
  }
  const v = new Float64Array(LF);
  inNodeOrder((x, n, ordinal) => {
    const k = n * 6;
    if (x.node[k + 5] === 0) return;
    v.fill(0);
    if (LFI.object_index !== undefined) v[LFI.object_index] = ordinal * NF;
    if (LFI.script_id !== undefined) v[LFI.script_id] = SCRIPT_ID;
    if (LFI.line !== undefined) v[LFI.line] = x.node[k + 5];
    if (LFI.column !== undefined) v[LFI.column] = 27;
    rows.start();
    for (let f = 0; f < LF; f++) { if (f) w.byte(COMMA); w.num(v[f]); }
  });
}

function writeStrings(w) {
  let first = true;
  const emit = (s) => { if (first) first = false; else { w.byte(COMMA); w.byte(NL); } w.text(JSON.stringify(s)); };
  for (const s of base.strings) emit(s);
  for (const s of hubStrings) emit(s);
  for (let r = 0; r < RECORDS; r++) recordStrings(r, emit);
}

function writeAll(w, counts) {
  let id = maxBaseId + 2;
  if (id % 2 === 0) id++; // V8's heap-object ids are odd
  const ids = { next: () => { const v = id; id += 2; return v; } };
  w.text(`{"snapshot":{"meta":${JSON.stringify(meta)},"node_count":${counts.nodeCount},"edge_count":${counts.edgeCount},"trace_function_count":0},\n"nodes":[`);
  const t = Date.now();
  const phases = {};
  writeNodes(w, ids);
  phases.nodes = Date.now() - t;
  w.text('],\n"edges":[');
  writeEdges(w);
  phases.edges = Date.now() - t - phases.nodes;
  w.text('],\n"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n"locations":[');
  writeLocations(w);
  w.text('],\n"strings":[');
  writeStrings(w);
  w.text(']}');
  w.flush();
  return phases;
}

// ------------------------------------------------------------------ main
/** Bytes of the whole file for `records` records, measured by writing one period near the end into nothing. */
function bytesFor(records) {
  const counts = layout(records);
  // Fixed part (base, hubs, header) plus records × the bytes of one period written at the same magnitudes.
  const w = new Writer(undefined);
  const x = new Record();
  const r0 = Math.max(0, Math.floor(records / PERIOD / 2) * PERIOD);
  let perPeriod = 0;
  const rows = new Rows(w);
  for (let r = r0; r < r0 + PERIOD; r++) {
    fill(x, r);
    for (let n = 0; n < x.nodeCount; n++) { rows.start(); for (let f = 0; f < NF; f++) { if (f) w.byte(COMMA); w.num(f === F.id ? 2 * counts.nodeCount : f === F.type ? x.node[n * 6 + 1] : f === F.name ? x.node[n * 6 + 2] : f === F.size ? x.node[n * 6 + 3] : f === F.edges ? 4 : 0); } }
    for (let e = 0; e < x.edgeCount; e++) { rows.start(); w.num(x.edge[e * 3]); w.byte(COMMA); w.num(x.edge[e * 3 + 1]); w.byte(COMMA); w.num(x.edge[e * 3 + 2] * NF); }
    recordStrings(r, (s) => w.text(JSON.stringify(s) + ',\n'));
  }
  perPeriod = w.total + w.pos + slot.reduce((a, c) => a + c.locations, 0) * 24;
  const fixed = BASE_BYTES + hubs.length * 40 + hubStrings.reduce((a, s) => a + s.length + 4, 0);
  let containerBytes = 0;
  for (const h of hubs) containerBytes += hubEdges(h).length * 14;
  return fixed + containerBytes + (records / PERIOD) * perPeriod;
}

const target = targetMB * 1048576;
let records = Math.max(PERIOD, Math.round(target / 700));
for (let k = 0; k < 4 && fixedRecords === undefined; k++) records = Math.max(PERIOD, Math.round(records * (target / bytesFor(records))));
if (fixedRecords !== undefined) records = fixedRecords;
const counts = layout(records);
const tmp = `${out}.tmp-${process.pid}`;
const fd = fs.openSync(tmp, 'w');
const t0 = Date.now();
let phases;
try {
  phases = writeAll(new Writer(fd), counts);
  fs.closeSync(fd);
  fs.renameSync(tmp, out);
} catch (e) {
  try { fs.closeSync(fd); } catch { /* closed */ }
  fs.rmSync(tmp, { force: true });
  throw e;
}
const bytes = fs.statSync(out).size;
console.log(JSON.stringify({
  out, targetMB, generator: 'bench/gen-stream.mjs', seed, records, bytes, nodeCount: counts.nodeCount, edgeCount: counts.edgeCount,
  baseNodes: B, baseEdges: base.edges.length / EF, hubNodes: hubs.length, node: process.version, writeMs: Date.now() - t0, phasesMs: phases, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
}));
if (compareWith) {
  const { snapshotStats, compareStats } = await import(path.join(HERE, 'snapshot-stats.mjs'));
  const real = await snapshotStats(compareWith);
  const ours = await snapshotStats(out);
  console.log(`\nstatistics: ${path.basename(compareWith)} (real, bench/gen.mjs) vs ${path.basename(out)} (bench/gen-stream.mjs)`);
  console.log(compareStats(real, ours));
}
