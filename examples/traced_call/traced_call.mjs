// The two services around the C++ agent, instrumented with the official OpenTelemetry JS SDK,
// and the check that `promptetheus dev` shows caller, agent run and callee as one session of one
// trace.
//
//   trip-api (caller)        SERVER span "POST /plan-trip"; starts the agent with the
//                            traceparent/tracestate it injects (TRACEPARENT/TRACESTATE env)
//   traced_call_agent (C++)  a Promptetheus session in that trace; its tool call sends the
//                            ToolCall's trace context to the callee
//   inventory-service        SERVER span "GET /inventory" under the context it extracts
//
// Both services export over OTLP/HTTP to the dev server's /v1/traces. The script then reads the
// agent's session through GET /api/traces/<id>/events, checks the joins, prints the trace as a
// tree and exits 0; on a failed check it exits 1 with what was expected and what was read.
//
// usage: node traced_call.mjs <dev server URL> <traced_call_agent binary> <scratch directory>
import http from 'node:http';
import { spawn } from 'node:child_process';
import path from 'node:path';

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace } from '@opentelemetry/api';
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const [apiUrl, agentBinary, scratch] = process.argv.slice(2);
if (!apiUrl || !agentBinary || !scratch) {
  console.error('usage: node traced_call.mjs <dev server URL> <traced_call_agent binary> <scratch directory>');
  process.exit(2);
}

const API_KEY = 'pt_dev_key';
const CONSOLE_TOKEN = 'pt_console_token';
// A vendor's entry the caller's tracing system put in tracestate: W3C requires every hop,
// the agent included, to pass it on unchanged.
const TRACESTATE = 'tripco=web-7f3a';

class CheckFailed extends Error {}
const check = (condition, message, details) => {
  if (!condition) {
    throw new CheckFailed(details === undefined ? message : `${message}\n  read: ${JSON.stringify(details)}`);
  }
};

const propagator = new W3CTraceContextPropagator();

// One tracer provider per service, as two separately deployed services would have. The callee
// exports each span as it ends, while the agent is still running and before its session has
// necessarily reached the server; the caller batches and flushes after the run. The dev server
// joins the spans to the agent's session in either order.
function serviceTracer(serviceName, processorFor) {
  const exporter = new OTLPTraceExporter({ url: `${apiUrl}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [processorFor(exporter)],
  });
  return { provider, tracer: provider.getTracer('promptetheus-traced-call-example', '1.0.0') };
}

const caller = serviceTracer('trip-api', (exporter) => new BatchSpanProcessor(exporter, { scheduledDelayMillis: 600_000 }));
const callee = serviceTracer('inventory-service', (exporter) => new SimpleSpanProcessor(exporter));

// ---- the callee: GET /inventory -----------------------------------------------------------
const received = [];  // what the callee got: headers and the context it extracted
const inventory = http.createServer((req, res) => {
  const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
  const span = callee.tracer.startSpan(
    `${req.method} ${new URL(req.url, 'http://inventory').pathname}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.url } },
    parent,
  );
  received.push({
    traceparent: req.headers.traceparent,
    tracestate: req.headers.tracestate,
    span: span.spanContext(),
  });
  const body = JSON.stringify({
    city: 'Lisbon',
    rooms: [
      { hotel: 'Alfama Lodge', price_eur: 118 },
      { hotel: 'Baixa House', price_eur: 142 },
      { hotel: 'Lx Riverside', price_eur: 171 },
    ],
  });
  span.setAttribute('http.response.status_code', 200);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
  span.end();
});
await new Promise((resolve) => inventory.listen(0, '127.0.0.1', resolve));
const inventoryUrl = `http://127.0.0.1:${inventory.address().port}/inventory?city=Lisbon`;

// ---- the caller: POST /plan-trip, which runs the agent ------------------------------------
function runAgent(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(agentBinary, [inventoryUrl], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Stopped with us (run.sh stops this script on a timeout), not left running.
    const stopChild = () => {
      child.kill();
      process.exit(1);
    };
    process.once('SIGTERM', stopChild);
    process.once('SIGINT', stopChild);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      process.off('SIGTERM', stopChild);
      process.off('SIGINT', stopChild);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const callerSpan = caller.tracer.startSpan('POST /plan-trip', {
  kind: SpanKind.SERVER,
  attributes: { 'http.request.method': 'POST', 'url.path': '/plan-trip' },
});
const callerContext = callerSpan.spanContext();
// The caller's span with the vendor's tracestate, as an upstream hop would have handed it on.
const outgoing = trace.setSpanContext(ROOT_CONTEXT, { ...callerContext, traceState: new TraceState(TRACESTATE) });
const carrier = {};
propagator.inject(outgoing, carrier, defaultTextMapSetter);

const agentEnv = {
  ...process.env,
  TRACEPARENT: carrier.traceparent,
  TRACESTATE: carrier.tracestate ?? '',
  PROMPTETHEUS_TRANSPORT: 'http',
  PROMPTETHEUS_API_URL: apiUrl,
  PROMPTETHEUS_API_KEY: API_KEY,
  // The retry backlog, should delivery fail, stays in the scratch directory.
  PROMPTETHEUS_SPOOL_DIR: path.join(scratch, 'spool'),
};
const run = await runAgent(agentEnv);
if (run.code !== 0) {
  callerSpan.setStatus({ code: SpanStatusCode.ERROR, message: `agent exited with ${run.code ?? run.signal}` });
}
callerSpan.setAttribute('http.response.status_code', run.code === 0 ? 200 : 502);
callerSpan.end();
inventory.close();

let exitCode = 0;
try {
  check(run.code === 0, `the agent exited with ${run.code ?? run.signal}:\n${run.stdout}${run.stderr}`);
  const sessionId = /^session (\S+)$/m.exec(run.stdout)?.[1];
  check(sessionId, `the agent printed no "session <id>" line:\n${run.stdout}`);

  await Promise.all([caller.provider.forceFlush(), callee.provider.forceFlush()]);

  const traceId = callerContext.traceId;
  const callerSpanId = `span_${callerContext.spanId}`;
  check(received.length === 1, `the inventory service got ${received.length} request(s), expected 1`);
  const hop = received[0];
  const calleeSpanId = `span_${hop.span.spanId}`;

  const events = await readEvents(sessionId, [callerSpanId, calleeSpanId]);
  await verify({ sessionId, traceId, callerSpanId, calleeSpanId, hop, events });
  console.log('context passed on:');
  console.log(`  trip-api -> agent             traceparent ${carrier.traceparent}  tracestate ${carrier.tracestate}`);
  console.log(`  agent -> inventory-service    traceparent ${hop.traceparent}  tracestate ${hop.tracestate}\n`);
  console.log(render({ sessionId, traceId, events }));
  console.log(`\nOK: caller, agent run and callee are one session (${sessionId}) of trace ${traceId}`);
} catch (error) {
  exitCode = 1;
  console.error(error instanceof CheckFailed ? `FAILED: ${error.message}` : error);
} finally {
  await Promise.allSettled([caller.provider.shutdown(), callee.provider.shutdown()]);
}
process.exit(exitCode);

// ---- reading and checking -----------------------------------------------------------------
async function api(pathname) {
  const response = await fetch(`${apiUrl}${pathname}`, { headers: { Authorization: `Bearer ${CONSOLE_TOKEN}` } });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

// The session's events once the given OTel spans are in it (or after 5 s, for verify() to say
// what is missing). The exports were answered before this runs, so the spans are normally there
// at once; the retries cover a slow store.
async function readEvents(sessionId, spanIds) {
  let last;
  for (let attempt = 0; attempt < 50; attempt++) {
    last = await api(`/api/traces/${encodeURIComponent(sessionId)}/events`);
    if (last.status === 200) {
      const present = new Set(last.body.events.filter(isSpanStart).map((e) => e.span_id));
      if (spanIds.every((id) => present.has(id))) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  check(last.status === 200, `GET /api/traces/${sessionId}/events answered ${last.status}`, last.body);
  return last.body.events;
}

function isSpanStart(event) {
  return event.type === 'state_change' && event.payload?.name === 'span_start';
}

async function verify({ sessionId, traceId, callerSpanId, calleeSpanId, hop, events }) {
  const spanStart = (id) => events.find((e) => isSpanStart(e) && e.span_id === id);

  // The agent joined the caller's trace, under the caller's span, and kept its tracestate.
  const started = events.find((e) => e.type === 'state_change' && e.payload?.name === 'session_started');
  check(started, 'no session_started event in the agent session');
  const meta = started.metadata ?? {};
  check(meta.trace_id === traceId, `session_started metadata trace_id is not the caller's trace ${traceId}`, meta);
  check(meta.parent_span_id === callerSpanId.slice(5), `session_started metadata parent_span_id is not the caller's span`, meta);
  check(meta.tracestate === TRACESTATE, `session_started metadata tracestate is not "${TRACESTATE}"`, meta);

  // The agent's own events: the user's request, the tool call and its result, the answer.
  const toolCall = events.find((e) => e.type === 'tool_call' && e.payload?.tool_name === 'inventory.lookup');
  check(toolCall, 'no tool_call inventory.lookup in the agent session');
  const toolResult = events.find((e) => e.type === 'tool_result' && e.payload?.call_id === toolCall.payload.call_id);
  check(toolResult && !toolResult.payload.error, 'the tool call has no successful tool_result', toolResult);
  for (const type of ['user_message', 'agent_message']) {
    check(events.some((e) => e.type === type), `no ${type} in the agent session`);
  }
  const toolSpanId = toolCall.span_id;
  check(typeof toolSpanId === 'string' && /^span_[0-9a-f]{32}$/.test(toolSpanId),
    'the tool_call does not run in an agent span', toolCall);
  check(spanStart(toolSpanId), `no span_start for the tool call's span ${toolSpanId}`);

  // What went over the wire to the callee: the caller's trace, the tool's span as parent, the
  // vendor's tracestate untouched.
  check(hop.traceparent === `00-${traceId}-${toolSpanId.slice(5, 21)}-01`,
    `the callee got traceparent ${hop.traceparent}, expected trace ${traceId} under the tool's span ${toolSpanId}`);
  check(hop.tracestate === TRACESTATE, `the callee got tracestate ${hop.tracestate}, expected "${TRACESTATE}"`);

  // The two OTel spans, mapped into the agent session.
  const where = async (id, role) => {
    const other = await api(`/api/traces/otel_${traceId}/events`);
    const there = other.status === 200 && other.body.events.some((e) => e.span_id === id);
    return `the ${role}'s span ${id} is not in session ${sessionId}` +
      (there ? ` but in a separate session otel_${traceId}` : ` (nor in a session otel_${traceId})`);
  };
  if (!spanStart(callerSpanId)) throw new CheckFailed(await where(callerSpanId, 'caller'));
  if (!spanStart(calleeSpanId)) throw new CheckFailed(await where(calleeSpanId, 'callee'));
  const callerStart = spanStart(callerSpanId);
  check(callerStart.metadata?.['otel.trace_id'] === traceId, "the caller's span is not in the caller's trace", callerStart);
  check(callerStart.metadata?.['otel.service'] === 'trip-api', "the caller's span has the wrong service", callerStart);
  check(callerStart.parent_id == null, "the caller's span (a root span) is not top-level", callerStart);

  const calleeStart = spanStart(calleeSpanId);
  check(calleeStart.metadata?.['otel.trace_id'] === traceId, "the callee's span is not in the caller's trace", calleeStart);
  check(calleeStart.metadata?.['otel.service'] === 'inventory-service', "the callee's span has the wrong service", calleeStart);
  check(calleeStart.parent_id === toolSpanId,
    `the callee's span is not nested under the tool call's span ${toolSpanId}`, calleeStart);

  // Every event of the session is the session's, and the trace made no session of its own.
  check(events.every((e) => e.session_id === sessionId), 'an event of the session names another session');
  const separate = await api(`/api/traces/otel_${traceId}`);
  check(separate.status === 404, `a separate session otel_${traceId} was created (GET answered ${separate.status})`,
    separate.body);
  const all = await api('/api/traces');
  check(all.status === 200, `GET /api/traces answered ${all.status}`, all.body);
  const ids = all.body.traces.map((t) => t.id);
  check(ids.length === 1 && ids[0] === sessionId, `expected the agent session alone, the server has: ${ids.join(', ')}`);
}

// ---- the tree -----------------------------------------------------------------------------
// Spans from their span_start events, the agent's run (its root span, a child of the span named
// in session_started's parent_span_id) and each event under the span it was recorded in, each
// level in time order (seq orders the agent's events and the OTel spans separately).
function render({ sessionId, traceId, events }) {
  const started = events.find((e) => e.type === 'state_change' && e.payload?.name === 'session_started');
  const rootKey = `session:${sessionId}`;
  const node = (label, at) => ({ label, at, children: [] });
  const nodes = new Map([[rootKey, node(`agent run ${sessionId}  [${started.payload?.after?.agent ?? 'agent'}, C++ agent session]`, started.timestamp)]]);
  const parentOf = new Map();
  for (const e of events.filter(isSpanStart)) {
    const service = e.metadata?.['otel.service'];
    const kind = service ? `${service}, OTel ${e.metadata['otel.kind']} span` : 'agent span';
    nodes.set(e.span_id, node(`${e.payload.span_name}  [${kind}]`, e.timestamp));
    // An agent span without a parent is a child of the run; an OTel one is a root of the trace.
    parentOf.set(e.span_id, e.parent_id ?? (service ? null : rootKey));
  }
  // The run's root span is a child of the caller's span when that span is in the session.
  const callerKey = started.metadata?.parent_span_id ? `span_${started.metadata.parent_span_id}` : null;
  parentOf.set(rootKey, nodes.has(callerKey) ? callerKey : null);
  const structural = ['span_start', 'span_end', 'session_started'];
  for (const e of events) {
    if (e.type === 'state_change' && structural.includes(e.payload?.name)) continue;
    const owner = e.span_id && nodes.has(e.span_id) ? e.span_id : rootKey;
    nodes.get(owner).children.push(node(describe(e), e.timestamp));
  }
  const roots = [];
  for (const [key, n] of nodes) {
    const parent = parentOf.get(key);
    (parent && nodes.has(parent) ? nodes.get(parent).children : roots).push(n);
  }
  const byTime = (a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0);
  const lines = [`trace ${traceId}, one session: ${sessionId}`];
  const walk = (n, prefix, last) => {
    lines.push(`${prefix}${last ? '└─ ' : '├─ '}${n.label}`);
    const children = [...n.children].sort(byTime);
    children.forEach((child, i) => walk(child, prefix + (last ? '   ' : '│  '), i === children.length - 1));
  };
  roots.sort(byTime).forEach((n, i) => walk(n, '', i === roots.length - 1));
  return lines.join('\n');
}

function describe(e) {
  const short = (value) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  };
  switch (e.type) {
    case 'user_message':
    case 'agent_message':
      return `${e.type}: ${short(e.payload.content)}`;
    case 'tool_call':
      return `tool_call ${e.payload.tool_name} ${short(e.payload.arguments)}`;
    case 'tool_result':
      return e.payload.error ? `tool_result error: ${short(e.payload.error)}` : `tool_result ${short(e.payload.result)}`;
    case 'session_end':
      return e.payload.error ? `session_end ${e.payload.status}: ${short(e.payload.error)}` : `session_end ${e.payload.status}`;
    case 'state_change':
      return `state_change ${e.payload.name}`;
    default:
      return e.type;
  }
}
