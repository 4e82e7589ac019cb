// Feeds `promptetheus dev`'s OTLP/HTTP receiver (POST /v1/traces) with the official
// OpenTelemetry JS SDK: the same span trees go through the JSON exporter
// (exporter-trace-otlp-http) and the protobuf one (exporter-trace-otlp-proto), and every event
// read back from the server is compared with the SDK's own ReadableSpans (names, links, kinds,
// attributes, span events, exceptions, status, times to the microsecond, seq order). Also: a
// resend is not duplicated, malformed bodies are refused, and a span of a trace an agent session
// recorded from an incoming traceparent joins that session.
//
// usage: node otlp_receiver.mjs <promptetheus binary> [scratch directory]
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

const [cli, scratchArg] = process.argv.slice(2);
if (!cli) {
  console.error('usage: node otlp_receiver.mjs <promptetheus binary> [scratch directory]');
  process.exit(2);
}
const scratch = fs.mkdtempSync(path.join(scratchArg ?? os.tmpdir(), 'otlp-receiver-'));

let checks = 0;
function check(condition, message) {
  assert.ok(condition, message);
  checks += 1;
}
const show = (value) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
function checkEqual(actual, expected, message) {
  try {
    assert.deepStrictEqual(actual, expected);
  } catch {
    throw new Error(`${message}\n  got:      ${show(actual)}\n  expected: ${show(expected)}`);
  }
  checks += 1;
}

// --- the server ------------------------------------------------------------------------------

let server = null;
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, ['dev', '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(scratch, 'data')],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    server = child;
    let out = '';
    const timer = setTimeout(() => reject(new Error(`promptetheus dev did not start within 20 s: ${out}`)), 20000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`promptetheus dev exited early (${code ?? signal}): ${out}`));
    });
  });
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 10000));
  if (await Promise.race([exited, timeout]) === 'timeout') {
    server.kill('SIGKILL');
    throw new Error('promptetheus dev did not stop within 10 s of SIGTERM');
  }
}

// seq is a Unix time in nanoseconds, past 2^53: integer literals too long for a double are read
// as strings (outside string literals only) so that no digit is lost.
function parseExact(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < text.length && /[0-9.eE+-]/.test(text[j])) j += 1;
      const literal = text.slice(i, j);
      out += /^-?\d{16,}$/.test(literal) ? `"${literal}"` : literal;
      i = j - 1;
    } else {
      out += c;
    }
  }
  return JSON.parse(out);
}

let base;
const CONSOLE = { Authorization: 'Bearer pt_console_token' };
const PROJECT_KEY = { Authorization: 'Bearer pt_dev_key' };

async function getJson(route) {
  const res = await fetch(base + route, { headers: CONSOLE });
  return { status: res.status, body: res.status === 200 ? parseExact(await res.text()) : await res.text() };
}
async function sessionEvents(session) {
  const { status, body } = await getJson(`/api/traces/${session}/events`);
  assert.equal(status, 200, `GET /api/traces/${session}/events: ${status} ${JSON.stringify(body)}`);
  return body.events;
}
async function postJson(route, body, headers = PROJECT_KEY) {
  const res = await fetch(base + route, {
    method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

// --- what a span should become -----------------------------------------------------------------

const KINDS = ['internal', 'server', 'client', 'producer', 'consumer'];  // by the API's SpanKind
const STATUS = ['unset', 'ok', 'error'];  // by SpanStatusCode

const nanos = (hr) => BigInt(Math.trunc(hr[0])) * 1000000000n + BigInt(Math.trunc(hr[1]));
// The server's timestamp form: microseconds, truncated from nanoseconds.
function timestampOf(ns) {
  const micros = ns / 1000n;
  const date = new Date(Number(micros / 1000n)).toISOString().slice(0, 19);
  return `${date}.${String(micros % 1000000n).padStart(6, '0')}Z`;
}
// Half to even, like span_end's duration_ms.
function roundedMs(ns) {
  const whole = ns / 1000000n;
  const rest = ns % 1000000n;
  return Number(rest > 500000n || (rest === 500000n && whole % 2n === 1n) ? whole + 1n : whole);
}

// The events one ReadableSpan should give, in the order the server writes them.
function expectedEvents(span) {
  const spanHex = span.spanContext().spanId;
  const traceHex = span.spanContext().traceId;
  const parentHex = span.parentSpanContext?.spanId;
  const start = nanos(span.startTime);
  const end = nanos(span.endTime);
  const out = [];
  out.push({
    time: start, type: 'state_change', payload: { name: 'span_start', span_name: span.name },
    metadata: {
      'otel.trace_id': traceHex, 'otel.span_id': spanHex, ...(parentHex ? { 'otel.parent_span_id': parentHex } : {}),
      'otel.kind': KINDS[span.kind], 'otel.service': span.resource.attributes['service.name'],
      'otel.scope': span.instrumentationScope.name, 'otel.attributes': span.attributes,
      'otel.resource': span.resource.attributes,
    },
  });
  let exception = false;
  for (const e of span.events) {
    let t = nanos(e.time);
    t = t < start ? start : t > end ? end : t;  // clamped into the span
    const metadata = { 'otel.trace_id': traceHex, 'otel.span_id': spanHex, 'otel.event': e.name };
    if (e.name === 'exception') {
      exception = true;
      const a = e.attributes;
      out.push({
        time: t, type: 'error', metadata,
        payload: {
          message: a['exception.message'] ?? 'exception', error_type: a['exception.type'] ?? null,
          traceback: a['exception.stacktrace'] ?? null, handled: false,
        },
      });
    } else {
      out.push({ time: t, type: 'state_change', metadata, payload: { name: e.name, before: null, after: e.attributes ?? {} } });
    }
  }
  const ids = { 'otel.trace_id': traceHex, 'otel.span_id': spanHex };
  if (span.status.code === SpanStatusCode.ERROR && !exception) {
    out.push({
      time: end, type: 'error', metadata: ids,
      payload: { message: span.status.message || `span ${span.name} failed`, error_type: 'otel.status', handled: false },
    });
  }
  out.push({
    time: end, type: 'state_change', payload: { name: 'span_end', span_name: span.name, duration_ms: roundedMs(end - start) },
    metadata: { ...ids, 'otel.status': { code: STATUS[span.status.code], message: span.status.message ?? '' } },
  });
  return out.map((e, n) => ({
    ...e, span_id: `span_${spanHex}`, parent_hex: parentHex ?? null, idempotency_key: `otlp:${traceHex}:${spanHex}:${n}`,
  }));
}

// Compares the stored events of `session` with the spans: every event, field by field, and the
// order. `parentIdOf` maps an OTel parent id to the parent_id the server should write.
async function checkSession(label, session, spans, parentIdOf = (hex) => (hex ? `span_${hex}` : null)) {
  const stored = await sessionEvents(session);
  const otel = stored.filter((e) => typeof e.idempotency_key === 'string' && e.idempotency_key.startsWith('otlp:'));
  const byKey = new Map(otel.map((e) => [e.idempotency_key, e]));
  const expected = spans.flatMap(expectedEvents);
  checkEqual(otel.length, expected.length, `${label}: one event per span start/event/error/end, no more`);
  for (const want of expected) {
    const got = byKey.get(want.idempotency_key);
    const where = `${label}: ${want.payload.span_name ?? want.payload.name ?? want.type} (${want.idempotency_key})`;
    check(got !== undefined, `${where}: stored`);
    checkEqual(got.type, want.type, `${where}: type`);
    checkEqual(got.session_id, session, `${where}: session`);
    checkEqual(got.timestamp, timestampOf(want.time), `${where}: timestamp at the span's time, to the microsecond`);
    checkEqual(got.payload, want.payload, `${where}: payload`);
    checkEqual(got.metadata, want.metadata, `${where}: metadata`);
    checkEqual(got.span_id, want.span_id, `${where}: span_id`);
    checkEqual(got.parent_id, parentIdOf(want.parent_hex), `${where}: parent_id`);
    const seq = BigInt(got.seq);
    // seq is the time in nanoseconds, or the next free one after it when two events share it
    check(seq >= want.time && seq - want.time < 64n, `${where}: seq ${seq} is its time ${want.time}`);
  }
  // The list reads in seq order, and seq order is time order.
  for (let i = 1; i < stored.length; i += 1) {
    check(BigInt(stored[i - 1].seq) < BigInt(stored[i].seq), `${label}: events sorted by seq at ${i}`);
    if (byKey.has(stored[i].idempotency_key) && byKey.has(stored[i - 1].idempotency_key)) {
      check(stored[i - 1].timestamp <= stored[i].timestamp, `${label}: seq order is time order at ${i}`);
    }
  }
  return stored;
}

// --- the spans -------------------------------------------------------------------------------

// Wraps an OTLP exporter to keep each export's result: the span processors only log failures.
class Checked {
  constructor(inner, label) {
    this.inner = inner;
    this.label = label;
    this.failures = [];
  }
  export(spans, done) {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.failures.push(result.error?.message ?? String(result.code));
      done(result);
    });
  }
  resend(spans) {
    return new Promise((resolve) => this.inner.export(spans, resolve));
  }
  shutdown() { return this.inner.shutdown(); }
  forceFlush() { return this.inner.forceFlush(); }
}

const BIG = 5000000000;  // past 2^31 (and 2^32): an int64 on the wire
const T0 = Math.floor(Date.now() / 1000) - 60;
const at = (s, ns) => [T0 + s, ns];

// A three-level tree with every kind, attribute types, span events, an exception on an ERROR
// span, an ERROR status without exception, an event outside its span, and times given to the
// nanosecond (durations on a .5 ms to check the rounding); plus one span on the SDK's own clock.
function emitTree(tracer, tag) {
  const root = tracer.startSpan(`${tag}.checkout`, {
    kind: SpanKind.SERVER, startTime: at(0, 123456789),
    attributes: {
      'str': 'héllo ✓', 'empty': '', 'bool.t': true, 'bool.f': false, 'int': 42, 'neg': -7, 'big': BIG, 'negbig': -BIG,
      'double': 2.5, 'tenth': 0.1, 'strs': ['a', 'b', ''], 'bools': [true, false], 'ints': [1, -2, BIG], 'doubles': [1.5, -0.25],
    },
  });
  const inRoot = trace.setSpan(ROOT_CONTEXT, root);
  const plan = tracer.startSpan(`${tag}.plan`, { startTime: at(0, 200000999) }, inRoot);
  plan.addEvent('cache.miss', { key: 'user:1', attempts: 3, ratio: 0.75, hit: false, tags: ['x', 'y'] }, at(0, 210000001));
  plan.addEvent('before.start', { early: true }, at(0, 100));  // before the span: read at its start
  const inPlan = trace.setSpan(ROOT_CONTEXT, plan);
  const fetchSpan = tracer.startSpan(`${tag}.fetch`, { kind: SpanKind.CLIENT, startTime: at(0, 300000000) }, inPlan);
  fetchSpan.setAttribute('http.request.method', 'GET');
  const error = new TypeError('upstream said no');
  fetchSpan.recordException(error, at(0, 301000000));
  fetchSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'fetch failed' });
  fetchSpan.end(at(0, 302500000));  // 2.5 ms: rounds to 2
  const natural = tracer.startSpan(`${tag}.natural`, {}, inPlan);  // the SDK's clock, sub-ms digits
  natural.addEvent('tick');
  natural.end();
  plan.end(at(1, 0));
  const publish = tracer.startSpan(`${tag}.publish`, { kind: SpanKind.PRODUCER, startTime: at(1, 500000000) }, inRoot);
  publish.setStatus({ code: SpanStatusCode.OK });
  publish.end(at(1, 503500000));  // 3.5 ms: rounds to 4
  const consume = tracer.startSpan(`${tag}.consume`, { kind: SpanKind.CONSUMER, startTime: at(2, 0) }, inRoot);
  consume.setStatus({ code: SpanStatusCode.ERROR, message: 'queue down' });
  consume.end(at(2, 999));
  const quiet = tracer.startSpan(`${tag}.quiet`, { startTime: at(2, 5000) }, inRoot);
  quiet.setStatus({ code: SpanStatusCode.ERROR });  // no message: "span <name> failed"
  quiet.end(at(2, 6000));
  root.end(at(3, 987654321));
}

function emitHealthy(tracer, tag) {
  const root = tracer.startSpan(`${tag}.healthy`, { kind: SpanKind.SERVER, startTime: at(10, 0) });
  const child = tracer.startSpan(`${tag}.step`, { startTime: at(10, 1000) }, trace.setSpan(ROOT_CONTEXT, root));
  child.end(at(10, 2000));
  root.setStatus({ code: SpanStatusCode.OK });
  root.end(at(10, 3000));
}

async function exportThrough(label, Exporter, Processor, service) {
  const exporter = new Checked(new Exporter({ url: `${base}/v1/traces` }), label);
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.2.3', 'host.cores': 2 }),
    spanProcessors: [new Processor(exporter), new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer(`${label}-scope`, '0.1.0');
  emitTree(tracer, label);
  emitHealthy(tracer, label);
  await provider.forceFlush();
  checkEqual(exporter.failures, [], `${label}: every export succeeded`);
  const spans = memory.getFinishedSpans();
  const traces = new Map();
  for (const s of spans) {
    const id = s.spanContext().traceId;
    if (!traces.has(id)) traces.set(id, []);
    traces.get(id).push(s);
  }
  checkEqual(traces.size, 2, `${label}: two traces`);
  return { exporter, provider, spans, traces: [...traces.values()] };
}

async function checkThrough(label, Exporter, Processor) {
  const service = `${label}-service`;
  const { exporter, provider, traces } = await exportThrough(label, Exporter, Processor, service);
  const [tree, healthy] = traces[0].length > traces[1].length ? traces : [traces[1], traces[0]];
  for (const [spans, failed] of [[tree, true], [healthy, false]]) {
    const traceId = spans[0].spanContext().traceId;
    const session = `otel_${traceId}`;
    const { status, body } = await getJson(`/api/traces/${session}`);
    checkEqual(status, 200, `${label}: GET /api/traces/${session}`);
    const row = body.trace;
    checkEqual(row.agent, service, `${label}: the trace's agent is service.name`);
    checkEqual(row.source, 'otlp', `${label}: source otlp`);
    checkEqual(row.status, failed ? 'failed' : 'completed', `${label}: trace status`);
    const stored = await checkSession(`${label} ${failed ? 'tree' : 'healthy'}`, session, spans);

    if (failed) {
      // The tree itself: three levels, by the names.
      const starts = stored.filter((e) => e.payload.name === 'span_start');
      const idOf = (suffix) => starts.find((e) => e.payload.span_name === `${label}.${suffix}`).span_id;
      checkEqual(starts.find((e) => e.span_id === idOf('fetch')).parent_id, idOf('plan'), `${label}: fetch under plan`);
      checkEqual(starts.find((e) => e.span_id === idOf('plan')).parent_id, idOf('checkout'), `${label}: plan under checkout`);
      checkEqual(starts.find((e) => e.span_id === idOf('checkout')).parent_id, null, `${label}: checkout is the root`);
      checkEqual(starts.find((e) => e.span_id === idOf('checkout')).metadata['otel.attributes'].big, BIG,
        `${label}: an int beyond 2^31 kept`);
      const err = stored.find((e) => e.type === 'error' && e.payload.error_type === 'TypeError');
      check(err && err.payload.message === 'upstream said no' && err.payload.traceback.includes('TypeError'),
        `${label}: the recorded exception is an error with its traceback`);
      check(stored.filter((e) => e.type === 'error' && e.span_id === idOf('fetch')).length === 1,
        `${label}: an exception on an ERROR span is one error, not two`);

      // The same ReadableSpans exported again: stored once.
      const result = await exporter.resend(spans);
      checkEqual(result.code, ExportResultCode.SUCCESS, `${label}: resend accepted`);
      const again = await sessionEvents(session);
      checkEqual(again, stored, `${label}: a resent span is a duplicate, not a copy`);
    }
  }
  await provider.shutdown();
}

// --- malformed requests ------------------------------------------------------------------------

async function checkRefusals() {
  const post = (body, type) => fetch(`${base}/v1/traces`, { method: 'POST', headers: { 'Content-Type': type }, body });
  let res = await post('{"resourceSpans": [', 'application/json');
  checkEqual(res.status, 400, 'malformed JSON: 400');
  const status = JSON.parse(await res.text());
  check(status.code === 3 && typeof status.message === 'string', 'malformed JSON: a google.rpc.Status (INVALID_ARGUMENT)');
  res = await post('{"resourceSpans": {"not": "a list"}}', 'application/json');
  checkEqual(res.status, 400, 'JSON that is not an ExportTraceServiceRequest: 400');
  await res.arrayBuffer();
  // field 1 (resourceSpans), length-delimited, claiming 100 bytes of which 2 follow
  res = await post(new Uint8Array([0x0a, 0x64, 0x01, 0x02]), 'application/x-protobuf');
  checkEqual(res.status, 400, 'truncated protobuf: 400');
  checkEqual(res.headers.get('content-type'), 'application/x-protobuf', 'a protobuf request gets a protobuf Status');
  await res.arrayBuffer();
  res = await post(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 'application/x-protobuf');
  checkEqual(res.status, 400, 'garbage protobuf: 400');
  await res.arrayBuffer();
  res = await post('resourceSpans', 'text/plain');
  checkEqual(res.status, 415, 'text/plain: 415');
  await res.arrayBuffer();
}

// --- a span joining an agent session ------------------------------------------------------------

async function checkJoin() {
  const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const T = hex(16);
  const caller = hex(8);
  const S = hex(16);  // the agent span's id: "span_<32 hex>", its OTel id the first 16 digits
  const session = 'agent_sess_1';
  let res = await postJson('/api/traces', { id: session });
  check(res.status === 200 || res.status === 201, `POST /api/traces: ${res.status} ${res.text}`);
  const envelope = (seq, payload, extra) => ({
    type: 'state_change', session_id: session, timestamp: '2026-01-01T00:00:00.000000Z', seq,
    idempotency_key: `k${seq}`, payload, ...extra,
  });
  res = await postJson(`/api/traces/${session}/events`, {
    events: [
      envelope(0, { name: 'session_started', before: null, after: {} },
        { metadata: { trace_id: T, parent_span_id: caller, trace_flags: '01' } }),
      envelope(1, { name: 'span_start', span_name: 'tool' }, { span_id: `span_${S}`, parent_id: null }),
    ],
  });
  check(res.status >= 200 && res.status < 300, `POST events: ${res.status} ${res.text}`);

  const memory = new InMemorySpanExporter();
  const exporter = new Checked(new ProtoExporter({ url: `${base}/v1/traces` }), 'join');
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'calendar-api' }),
    spanProcessors: [new SimpleSpanProcessor(exporter), new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('join-scope');
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: T, spanId: S.slice(0, 16), traceFlags: TraceFlags.SAMPLED, isRemote: true,
  });
  const handler = tracer.startSpan('GET /calendar', { kind: SpanKind.SERVER }, remote);
  const query = tracer.startSpan('db.query', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, handler));
  query.end();
  handler.end();
  await provider.forceFlush();
  checkEqual(exporter.failures, [], 'join: export succeeded');
  const spans = memory.getFinishedSpans();
  checkEqual(spans.map((s) => s.spanContext().traceId), [T, T], 'join: the JS spans are in the agent trace');

  // Under the agent span it names by its first 16 hex digits: parent_id is the agent's full id.
  const parentIdOf = (h) => (h === S.slice(0, 16) ? `span_${S}` : h ? `span_${h}` : null);
  const stored = await checkSession('join', session, spans, parentIdOf);
  const start = stored.find((e) => e.payload.span_name === 'GET /calendar' && e.payload.name === 'span_start');
  checkEqual(start.parent_id, `span_${S}`, 'join: the JS span nests under the agent span');
  checkEqual(stored.filter((e) => !String(e.idempotency_key).startsWith('otlp:')).map((e) => e.seq), [0, 1],
    'join: the agent events keep their seqs');
  const { status } = await getJson(`/api/traces/otel_${T}`);
  checkEqual(status, 404, 'join: no otel_ session for a claimed trace');
  await provider.shutdown();
}

// --- run -------------------------------------------------------------------------------------

let failed = false;
try {
  base = await startServer();
  await checkThrough('json', JsonExporter, BatchSpanProcessor);
  await checkThrough('proto', ProtoExporter, SimpleSpanProcessor);
  await checkRefusals();
  await checkJoin();
} catch (error) {
  failed = true;
  console.error(`FAILED after ${checks} checks: ${error.message}`);
} finally {
  try {
    await stopServer();
  } catch (error) {
    failed = true;
    console.error(error.message);
  }
  fs.rmSync(scratch, { recursive: true, force: true });
}
if (failed) process.exit(1);
console.log(`${checks} checks passed`);
