// `promptetheus export --format otlp`, and the SDK's live OTLP export (PROMPTETHEUS_TRANSPORT=otlp,
// received here by a plain node:http server), against the OTLP schema: each document is read with the
// protobuf definitions that ship in @opentelemetry/otlp-transformer (its generated protobufjs
// root), every field of it must be a field of ExportTraceServiceRequest with the right type
// (verify, and a fromObject/toObject round trip that loses nothing but proto3 defaults), and its
// binary encoding decodes to the same span tree. The decoded protobuf is then sent to
// `promptetheus dev`, which must store the tree the export described.
//
// usage: node export_schema.mjs <promptetheus binary> <trace_context_probe binary> [scratch directory]
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
// The static module the transformer is built with (CommonJS, no exports map: a file path).
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const Long = require('long');

const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const [cli, probe, scratchArg] = process.argv.slice(2);
if (!cli || !probe) {
  console.error('usage: node export_schema.mjs <promptetheus binary> <trace_context_probe binary> [scratch directory]');
  process.exit(2);
}
const scratch = fs.mkdtempSync(path.join(scratchArg ?? os.tmpdir(), 'export-schema-'));

let checks = 0;
function check(condition, message) {
  assert.ok(condition, message);
  checks += 1;
}
// The path of the first difference of two JSON values, and the two values there.
function firstDifference(a, b, at = '$') {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return a === b ? null : [at, a, b];
  }
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = firstDifference(a[k], b[k], Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`);
    if (d) return d;
  }
  return null;
}
function checkEqual(actual, expected, message) {
  const d = firstDifference(actual, expected);
  if (d) {
    throw new Error(`${message}\n  at ${d[0]}\n  got:      ${JSON.stringify(d[1])}\n  expected: ${JSON.stringify(d[2])}`);
  }
  checks += 1;
}

// --- a recorded session, as the SDK spools it ----------------------------------------------------

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER = '00f067aa0ba902b7';
const SPANS = {
  outer: 'span_1206b65bc0284755b50a6a09eb0abf46',
  middle: 'span_771bf1b27c504413a7af3a0bc3736561',
  inner: 'span_9959d316b3e64409a7ea3bac57d4a3d1',
};

function spool(id, { traced }) {
  const ts = (n) => `2026-03-04T05:06:07.${String(100000 + n * 1111).padStart(6, '0')}Z`;
  const rows = [
    [null, null, 'state_change', { name: 'session_started', before: null, after: { agent: 'planner', user_goal: 'Plan a trip', tags: [] } },
      traced ? { trace_id: TRACE, parent_span_id: CALLER, trace_flags: '01', tracestate: 'rojo=1,congo=2' } : undefined],
    [null, null, 'user_message', { content: 'plan it ✓ "quoted"' }],
    [SPANS.outer, null, 'state_change', { name: 'span_start', span_name: 'outer' }],
    [SPANS.outer, null, 'llm_call', { model: 'gpt-4o-mini', input_tokens: 1200, output_tokens: 300, latency_ms: 850 }],
    [SPANS.middle, SPANS.outer, 'state_change', { name: 'span_start', span_name: 'middle', kind: 'tool' }],
    [SPANS.middle, SPANS.outer, 'tool_call', { tool_name: 'search', call_id: 'c1', arguments: { q: [1, 2, { deep: null }], big: 5000000000 } }],
    [SPANS.inner, SPANS.middle, 'state_change', { name: 'span_start', span_name: 'inner' }],
    [SPANS.inner, SPANS.middle, 'metric', { name: 'ratio', value: 0.25, unit: null }],
    [SPANS.inner, SPANS.middle, 'score', { name: 'ok', value: true }],
    [SPANS.inner, SPANS.middle, 'state_change', { name: 'span_end', span_name: 'inner', duration_ms: 3 }],
    [SPANS.middle, SPANS.outer, 'tool_result', { call_id: 'c1', result: null, error: 'TimeoutError: too slow' }],
    [SPANS.middle, SPANS.outer, 'state_change', { name: 'span_end', span_name: 'middle', duration_ms: 9 }],
    [SPANS.outer, null, 'error', { message: 'retrying', error_type: 'RuntimeError', handled: true }],
    [SPANS.outer, null, 'state_change', { name: 'span_end', span_name: 'outer', duration_ms: 15 }],
    [null, null, 'agent_message', { content: 'done' }],
    [null, null, 'session_end', { status: 'failed', error: 'RuntimeError: gave up' }],
  ];
  return rows.map(([spanId, parentId, type, payload, metadata], seq) => JSON.stringify({
    idempotency_key: `${id}:${seq}`, payload, seq, session_id: id, timestamp: ts(seq), type,
    ...(spanId ? { span_id: spanId, parent_id: parentId } : {}), ...(metadata ? { metadata } : {}),
  })).join('\n') + '\n';
}

const spoolDir = path.join(scratch, 'spool');
fs.mkdirSync(spoolDir, { recursive: true });
const SESSIONS = { plain: 'export_plain', traced: 'export_traced' };
fs.writeFileSync(path.join(spoolDir, `${SESSIONS.plain}.jsonl`), spool(SESSIONS.plain, { traced: false }));
fs.writeFileSync(path.join(spoolDir, `${SESSIONS.traced}.jsonl`), spool(SESSIONS.traced, { traced: true }));

const exportOtlp = (id) => JSON.parse(execFileSync(cli, ['export', id, '--dir', spoolDir, '--format', 'otlp'], { encoding: 'utf8' }));

// --- OTLP JSON → protobufjs message ---------------------------------------------------------------

// OTLP/HTTP JSON writes trace and span ids as hex where the protobuf JSON mapping has base64, and
// int64 values as decimal strings: both are converted to what the generated code takes.
const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
const INT64_FIELDS = new Set(['startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano', 'intValue']);
function toMessageShape(value, key) {
  if (Array.isArray(value)) return value.map((v) => toMessageShape(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toMessageShape(v, k)]));
  }
  if (ID_FIELDS.has(key)) {
    assert.match(value, /^([0-9a-f]{2})*$/, `${key} is lowercase hex`);
    return Uint8Array.from(Buffer.from(value, 'hex'));
  }
  if (INT64_FIELDS.has(key)) {
    assert.ok(typeof value === 'string' && /^-?\d+$/.test(value), `${key} is a decimal string: ${value}`);
    return Long.fromString(value, key === 'intValue' ? false : true);
  }
  return value;
}
// The generated toObject, back in the OTLP JSON form.
function toJsonShape(value, key) {
  if (Array.isArray(value)) return value.map((v) => toJsonShape(v));
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonShape(v, k)]));
  }
  return value;
}
// Proto3 leaves defaults off the wire: a field missing after the round trip must have been one
// (but a member of AnyValue's oneof is kept when set, even to its default).
const ONEOF = new Set(['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue']);
const isDefault = (v) => v === 0 || v === '' || v === false || v === '0' || (Array.isArray(v) && v.length === 0);
function withoutDefaults(value) {
  if (Array.isArray(value)) return value.map(withoutDefaults);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k, v]) => ONEOF.has(k) || !isDefault(v)).map(([k, v]) => [k, withoutDefaults(v)]));
  }
  return value;
}
const OBJECT_OPTIONS = { longs: String, enums: Number, bytes: Uint8Array, defaults: false, oneofs: false };

function spansOf(doc) {
  return doc.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
}
const tree = (spans) => spans.map((s) => ({ name: s.name, spanId: s.spanId, parentSpanId: s.parentSpanId || '' }))
  .sort((a, b) => a.spanId.localeCompare(b.spanId));

// `spanIds`: the recorded ids of outer, middle and inner, when known in advance.
function checkDocument(label, doc, { traced, spanIds = [SPANS.outer, SPANS.middle, SPANS.inner] }) {
  const shaped = toMessageShape(doc);
  checkEqual(Request.verify(shaped), null, `${label}: verify() accepts every field`);
  const message = Request.fromObject(shaped);
  const back = toJsonShape(Request.toObject(message, OBJECT_OPTIONS));
  checkEqual(withoutDefaults(back), withoutDefaults(doc), `${label}: no field is unknown to the schema or of another type`);

  const bytes = Request.encode(message).finish();
  const decoded = toJsonShape(Request.toObject(Request.decode(bytes), OBJECT_OPTIONS));
  checkEqual(decoded, back, `${label}: the protobuf encoding decodes to the same request`);
  const spans = spansOf(decoded);
  checkEqual(tree(spans), tree(spansOf(doc)), `${label}: names and parent ids survive the encoding`);

  // The tree the session recorded: the root, then outer > middle > inner.
  const byName = Object.fromEntries(spans.map((s) => [s.name, s]));
  const sessionSpan = byName[`promptetheus.session ${label}`];
  check(sessionSpan !== undefined, `${label}: the session's root span`);
  const otelId = (id) => id.slice(5, 21);
  if (spanIds) {
    checkEqual([byName.outer.spanId, byName.middle.spanId, byName.inner.spanId], spanIds.map(otelId),
      `${label}: span ids are the first 16 hex digits`);
  }
  checkEqual([byName.outer.parentSpanId, byName.middle.parentSpanId, byName.inner.parentSpanId],
    [sessionSpan.spanId, byName.outer.spanId, byName.middle.spanId], `${label}: three levels under the root`);
  checkEqual(sessionSpan.parentSpanId ?? '', traced ? CALLER : '', `${label}: the root's parent is the caller's span`);
  check(new Set(spans.map((s) => s.traceId)).size === 1, `${label}: one trace`);
  if (traced) {
    checkEqual(spans[0].traceId, TRACE, `${label}: the incoming trace id`);
    check(spans.every((s) => s.traceState === 'rojo=1,congo=2'), `${label}: the incoming tracestate on every span`);
  }
  checkEqual(byName.middle.status?.code, 2, `${label}: a failed tool result makes its span ERROR`);
  const scope = decoded.resourceSpans[0].scopeSpans[0].scope;
  checkEqual(scope.name, 'promptetheus', `${label}: instrumentation scope`);
  const service = decoded.resourceSpans[0].resource.attributes.find((a) => a.key === 'service.name');
  checkEqual(service.value.stringValue, 'planner', `${label}: service.name is the agent`);
  return { bytes, spans };
}

// --- promptetheus dev reads the encoded export --------------------------------------------------------

async function sendToDev(exports) {
  const server = spawn(cli, ['dev', '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(scratch, 'data')],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const base = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`promptetheus dev did not start: ${out}`)), 20000);
      server.stdout.setEncoding('utf8');
      server.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      server.on('exit', (code) => reject(new Error(`promptetheus dev exited early (${code}): ${out}`)));
    });
    for (const [label, { bytes, spans }] of Object.entries(exports)) {
      const res = await fetch(`${base}/v1/traces`, {
        method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: bytes,
      });
      checkEqual(res.status, 200, `${label}: promptetheus dev accepts the encoded export`);
      const body = new Uint8Array(await res.arrayBuffer());
      const response = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse.decode(body);
      check(!response.partialSuccess || Number(response.partialSuccess.rejectedSpans) === 0,
        `${label}: no span rejected (${response.partialSuccess?.errorMessage ?? ''})`);
      const session = `otel_${spans[0].traceId}`;
      const events = await fetch(`${base}/api/traces/${session}/events`, { headers: { Authorization: 'Bearer pt_console_token' } });
      checkEqual(events.status, 200, `${label}: stored as ${session}`);
      const starts = (await events.json()).events.filter((e) => e.payload.name === 'span_start');
      const stored = starts.map((e) => ({
        name: e.payload.span_name, spanId: e.span_id.slice(5), parentSpanId: e.metadata['otel.parent_span_id'] ?? '',
      })).sort((a, b) => a.spanId.localeCompare(b.spanId));
      checkEqual(stored, tree(spans), `${label}: the stored spans are the exported tree`);
    }
  } finally {
    const exited = new Promise((resolve) => (server.exitCode !== null ? resolve() : server.once('exit', resolve)));
    server.kill('SIGTERM');
    await exited;
  }
}

// --- the SDK's live export, received by a plain HTTP server ---------------------------------------

// The probe records one session with a client of its own, its spans sent live to this server as
// each ends; the requests are gunzipped when the SDK compressed them and merged into one document.
async function receiveLiveExport() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      requests.push({ method: req.method, url: req.url, type: req.headers['content-type'], doc: JSON.parse(body.toString('utf8')) });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const endpoint = `http://127.0.0.1:${server.address().port}`;  // a base URL: the SDK adds /v1/traces
    const child = spawn(probe, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => { out += chunk; });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end(`${JSON.stringify({ op: 'live_otlp', endpoint, traceparent: `00-${TRACE}-${CALLER}-01`, tracestate: 'rojo=1,congo=2' })}\n`);
    checkEqual(await exited, 0, 'the probe exits cleanly');
    const answer = JSON.parse(out.trim());
    check(requests.length >= 1, 'the live export sent requests');
    for (const r of requests) {
      checkEqual([r.method, r.url, r.type], ['POST', '/v1/traces', 'application/json'], 'OTLP/HTTP JSON to /v1/traces');
    }
    const doc = { resourceSpans: requests.flatMap((r) => r.doc.resourceSpans) };
    const received = spansOf(doc).length;
    checkEqual(received, 4, 'the root span and outer, middle, inner, each sent once');
    checkEqual([answer.transport, answer.otlp_spans_exported, answer.otlp_spans_pending, answer.otlp_spans_rejected,
      answer.otlp_spans_dropped], ['otlp', received, 0, 0, 0], 'stats() counts every span exported');
    const environment = doc.resourceSpans[0].resource.attributes.find((a) => a.key === 'deployment.environment');
    checkEqual(environment?.value, { stringValue: 'test' }, 'the configured resource attributes');
    return { label: answer.session_id, doc };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

// --- run -------------------------------------------------------------------------------------

let failed = false;
try {
  const exported = {};
  for (const [kind, id] of Object.entries(SESSIONS)) {
    exported[id] = checkDocument(id, exportOtlp(id), { traced: kind === 'traced' });
  }
  const live = await receiveLiveExport();
  checkDocument(live.label, live.doc, { traced: true, spanIds: null });
  await sendToDev(exported);
} catch (error) {
  failed = true;
  console.error(`FAILED after ${checks} checks: ${error.message}`);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
if (failed) process.exit(1);
console.log(`${checks} checks passed`);
