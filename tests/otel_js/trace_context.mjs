// The C++ SDK's W3C Trace Context (promptetheus::TraceContext, and the context a Session joined
// to a caller's trace hands to its tool calls) against the OpenTelemetry JS propagator
// (W3CTraceContextPropagator of @opentelemetry/core), through trace_context_probe:
//   (a) JS injects, C++ parses: the same trace id, parent id, flags and tracestate;
//   (b) C++ formats (parsed, generated, and a ToolCall's outgoing context), JS extracts;
//   (c) the invalid traceparents of W3C Trace Context Level 1 are refused by both, a future
//       version is read by both, and the tracestate limits are those trace_context.hpp states.
//
// usage: node trace_context.mjs <trace_context_probe binary>
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import readline from 'node:readline';

import { ROOT_CONTEXT, TraceFlags, defaultTextMapGetter, defaultTextMapSetter, isSpanContextValid, trace } from '@opentelemetry/api';
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';

const [probePath] = process.argv.slice(2);
if (!probePath) {
  console.error('usage: node trace_context.mjs <trace_context_probe binary>');
  process.exit(2);
}

let checks = 0;
function check(condition, message) {
  assert.ok(condition, message);
  checks += 1;
}
function checkEqual(actual, expected, message) {
  try {
    assert.deepStrictEqual(actual, expected);
  } catch {
    throw new Error(`${message}\n  got:      ${JSON.stringify(actual)}\n  expected: ${JSON.stringify(expected)}`);
  }
  checks += 1;
}

// --- the probe: one JSON line out, one JSON line back ------------------------------------------

const probe = spawn(probePath, [], { stdio: ['pipe', 'pipe', 'inherit'] });
const waiting = [];
readline.createInterface({ input: probe.stdout }).on('line', (line) => waiting.shift()?.resolve(JSON.parse(line)));
probe.on('exit', (code, signal) => {
  for (const w of waiting.splice(0)) w.reject(new Error(`trace_context_probe exited (${code ?? signal})`));
});
function ask(request) {
  return new Promise((resolve, reject) => {
    waiting.push({ resolve, reject });
    probe.stdin.write(`${JSON.stringify(request)}\n`);
  });
}
const cppParse = (traceparent, tracestate = '') => ask({ op: 'parse', traceparent, tracestate });

// --- the JS side -----------------------------------------------------------------------------

const propagator = new W3CTraceContextPropagator();

function jsInject(spanContext) {
  const carrier = {};
  propagator.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), carrier, defaultTextMapSetter);
  return carrier;
}
// The span context JS reads from headers (a value may be an array: repeated headers), or null.
function jsExtract(carrier) {
  const sc = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
  return sc && isSpanContextValid(sc) ? sc : null;
}

const hex = (bytes) => randomBytes(bytes).toString('hex');
function nonZeroHex(bytes) {
  for (;;) {
    const h = hex(bytes);
    if (/[^0]/.test(h)) return h;
  }
}
const pick = (chars) => chars[randomInt(chars.length)];
const LC = 'abcdefghijklmnopqrstuvwxyz';
const KEY_CHARS = `${LC}0123456789_-*/`;
function randomKey() {
  const run = (first, n) => first + Array.from({ length: n }, () => pick(KEY_CHARS)).join('');
  if (randomInt(4) === 0) return `${run(pick(`${LC}0123456789`), randomInt(8))}@${run(pick(LC), randomInt(6))}`;
  return run(pick(LC), randomInt(12));
}
function randomValue() {
  // printable ASCII but ',' and '='; not ending in a space
  const chars = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== ',' && c !== '=');
  const body = Array.from({ length: randomInt(20) }, () => pick(chars)).join('');
  return body + pick(chars.filter((c) => c !== ' '));
}
function randomTracestate(maxMembers = 8) {
  const keys = new Set();
  const n = randomInt(maxMembers + 1);
  while (keys.size < n) keys.add(randomKey());
  return [...keys].map((k) => `${k}=${randomValue()}`).join(',');
}

// --- (a) JS injects, C++ parses ------------------------------------------------------------------

async function jsToCpp(rounds) {
  for (let i = 0; i < rounds; i += 1) {
    const raw = randomTracestate();
    // Flags 00-0f: the JS propagator writes "0" plus one hex digit, so only those are well-formed.
    const sc = { traceId: nonZeroHex(16), spanId: nonZeroHex(8), traceFlags: i % 3 === 0 ? randomInt(16) : i % 2, isRemote: false };
    if (raw) sc.traceState = new TraceState(raw);
    const carrier = jsInject(sc);
    const where = `JS → C++ ${carrier.traceparent} ${carrier.tracestate ?? ''}`;
    const c = await cppParse(carrier.traceparent, carrier.tracestate ?? '');
    checkEqual([c.valid, c.trace_id, c.parent_id, c.flags, c.sampled],
      [true, sc.traceId, sc.spanId, sc.traceFlags, (sc.traceFlags & TraceFlags.SAMPLED) !== 0], `${where}: ids and flags`);
    checkEqual(c.traceparent, carrier.traceparent, `${where}: the same traceparent written back`);
    checkEqual(c.tracestate, raw, `${where}: the same tracestate`);
  }
}

// --- (b) C++ formats, JS extracts ------------------------------------------------------------------

function checkJsReads(c, where) {
  const carrier = c.headers;
  const sc = jsExtract(carrier);
  check(sc !== null, `${where}: JS extracts a valid span context from ${JSON.stringify(carrier)}`);
  checkEqual([sc.traceId, sc.spanId, sc.traceFlags, sc.isRemote], [c.trace_id, c.parent_id, c.flags, true],
    `${where}: trace id, span id, flags`);
  checkEqual(sc.traceState?.serialize() ?? '', carrier.tracestate ?? '', `${where}: tracestate`);
  return sc;
}

async function cppToJs(rounds) {
  for (let i = 0; i < rounds; i += 1) {
    const flags = randomInt(256).toString(16).padStart(2, '0');  // C++ writes any flags byte
    const tp = `00-${nonZeroHex(16)}-${nonZeroHex(8)}-${flags}`;
    const c = await cppParse(tp, randomTracestate());
    check(c.valid, `C++ parses ${tp}`);
    checkJsReads(c, `C++ → JS ${tp}`);
  }
  for (let i = 0; i < 50; i += 1) {
    const g = await ask({ op: 'generate' });
    check(g.valid && g.sampled && /^[0-9a-f]{32}$/.test(g.trace_id) && /^[0-9a-f]{16}$/.test(g.parent_id),
      `a generated context is valid and sampled: ${g.traceparent}`);
    checkJsReads(g, `generated ${g.traceparent}`);
  }
}

// A JS caller's context joins a C++ Session; what its tool calls send, JS reads back.
async function sessions(rounds) {
  for (let i = 0; i < rounds; i += 1) {
    const raw = randomTracestate(4);
    const caller = { traceId: nonZeroHex(16), spanId: nonZeroHex(8), traceFlags: i % 2, isRemote: false };
    if (raw) caller.traceState = new TraceState(raw);
    const carrier = jsInject(caller);
    const s = await ask({ op: 'session', traceparent: carrier.traceparent, tracestate: carrier.tracestate ?? '' });
    const where = `session joined to ${carrier.traceparent}`;
    for (const [name, ctx] of [['session', s.session], ['tool', s.tool], ['span', s.span], ['tool in span', s.tool_in_span]]) {
      checkEqual([ctx.valid, ctx.trace_id, ctx.flags, ctx.tracestate], [true, caller.traceId, caller.traceFlags, raw],
        `${where}: the ${name} context keeps the caller's trace, flags and tracestate`);
      check(ctx.parent_id !== caller.spanId, `${where}: the ${name} context has a span id of its own`);
      const sc = checkJsReads(ctx, `${where}, ${name}`);
      checkEqual(sc.traceId, caller.traceId, `${where}: JS sees the ${name} call in the caller's trace`);
      checkEqual((sc.traceFlags & TraceFlags.SAMPLED) !== 0, (caller.traceFlags & TraceFlags.SAMPLED) !== 0,
        `${where}: the sampled flag passed on`);
    }
    checkEqual(s.tool.parent_id, s.session.parent_id, `${where}: a top-level tool call is under the session's root span`);
    checkEqual(s.tool_in_span.parent_id, s.span_id.slice(5, 21), `${where}: a tool call in a span is under that span`);
    checkEqual(s.span.parent_id, s.tool_in_span.parent_id, `${where}: Span::trace_context is the span's`);
  }
  // No incoming trace: a trace of its own.
  const s = await ask({ op: 'session', traceparent: 'not a traceparent', tracestate: 'rojo=1' });
  check(s.tool.valid && s.tool.tracestate === '', 'an invalid incoming traceparent: a new trace, nothing carried over');
  checkJsReads(s.tool, 'a session with a trace of its own');
}

// --- (c) the specification's edge cases ------------------------------------------------------------

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

// Refused by a Level 1 parser (W3C Trace Context, "traceparent Header" and "Versioning").
const INVALID = [
  ['', 'empty'],
  ['   ', 'blank'],
  [`ff-${TRACE}-${PARENT}-01`, 'version ff is invalid'],
  [`00-${TRACE}-${PARENT}-01-`, 'version 00 followed by a dash'],
  [`00-${TRACE}-${PARENT}-01-extra`, 'version 00 with extra fields'],
  [`00-${TRACE}-${PARENT}-0100`, 'version 00 longer than 55 characters'],
  [`00-${TRACE.toUpperCase()}-${PARENT}-01`, 'uppercase trace id'],
  [`00-${TRACE}-${PARENT.toUpperCase()}-01`, 'uppercase parent id'],
  [`00-${TRACE}-${PARENT}-0A`, 'uppercase flags'],
  [`0A-${TRACE}-${PARENT}-01`, 'uppercase version'],
  [`00-${'0'.repeat(32)}-${PARENT}-01`, 'all-zero trace id'],
  [`00-${TRACE}-${'0'.repeat(16)}-01`, 'all-zero parent id'],
  [`00-${TRACE.slice(1)}-${PARENT}-01`, 'trace id of 31 digits'],
  [`00-${TRACE}a-${PARENT}-01`, 'trace id of 33 digits'],
  [`00-${TRACE}-${PARENT.slice(1)}-01`, 'parent id of 15 digits'],
  [`00-${TRACE}-${PARENT}a-01`, 'parent id of 17 digits'],
  [`00-${TRACE}-${PARENT}-1`, 'flags of one digit'],
  [`00-${TRACE}-${PARENT}-001`, 'flags of three digits'],
  [`0-${TRACE}-${PARENT}-01`, 'version of one digit'],
  [`000-${TRACE}-${PARENT}-01`, 'version of three digits'],
  [`00${TRACE}${PARENT}01`, 'no dashes'],
  [`00-${TRACE}${PARENT}-01`, 'a dash missing'],
  [`00_${TRACE}_${PARENT}_01`, 'underscores for dashes'],
  [`00-${TRACE.slice(0, 31)}g-${PARENT}-01`, 'non-hex trace id'],
  [`00-${TRACE}-${PARENT.slice(0, 15)}z-01`, 'non-hex parent id'],
  [`00-${TRACE}-${PARENT}-zz`, 'non-hex flags'],
  [`xx-${TRACE}-${PARENT}-01`, 'non-hex version'],
  [`00-${TRACE}-${PARENT}`, 'flags missing'],
  [`cc-${TRACE}-${PARENT}-0`, 'a future version shorter than 55 characters'],
  [`cc-${TRACE}-${PARENT}-01extra`, 'a future version without a dash after the flags'],
  [`00-0x${TRACE.slice(2)}-${PARENT}-01`, 'a 0x prefix'],
  [`00-${TRACE}-${PARENT}-01`.replace('-', '–'), 'a non-ASCII dash'],
];

// Accepted: a later version is read as far as version 00 goes.
const VALID = [
  [`cc-${TRACE}-${PARENT}-01`, 'a future version of 55 characters', '01'],
  [`cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`, 'a future version with more fields', '01'],
  [`01-${TRACE}-${PARENT}-00-`, 'a future version ending in a dash', '00'],
  [`00-${TRACE}-${PARENT}-09`, 'flags with bits Level 1 does not define', '09'],
  [` 00-${TRACE}-${PARENT}-01\t`, 'surrounding whitespace', '01'],
];

async function edgeCases() {
  for (const [tp, why] of INVALID) {
    const c = await cppParse(tp, 'rojo=1');
    checkEqual([c.valid, c.traceparent, c.headers], [false, '', {}], `C++ refuses ${why}: ${JSON.stringify(tp)}`);
    checkEqual(jsExtract({ traceparent: tp, tracestate: 'rojo=1' }), null, `JS refuses ${why}: ${JSON.stringify(tp)}`);
  }
  for (const [tp, why, flags] of VALID) {
    const c = await cppParse(tp, 'rojo=1');
    checkEqual([c.valid, c.trace_id, c.parent_id, c.flags, c.tracestate], [true, TRACE, PARENT, parseInt(flags, 16), 'rojo=1'],
      `C++ reads ${why}: ${JSON.stringify(tp)}`);
    // Passed on as version 00, the only version this side writes.
    checkEqual(c.traceparent, `00-${TRACE}-${PARENT}-${flags}`, `C++ writes ${why} as version 00`);
    const sc = jsExtract({ traceparent: tp, tracestate: 'rojo=1' });
    check(sc !== null, `JS reads ${why}: ${JSON.stringify(tp)}`);
    checkEqual([sc.traceId, sc.spanId, sc.traceFlags], [TRACE, PARENT, parseInt(flags, 16)], `JS reads ${why}: the ids`);
  }

  const tp = `00-${TRACE}-${PARENT}-01`;
  const members = (n, prefix = 'k') => Array.from({ length: n }, (_, i) => `${prefix}${i}=v${i}`);
  // What trace_context.hpp states: up to 32 members; an invalid tracestate is dropped whole
  // while the traceparent stays valid; members are trimmed and empty ones removed.
  const tracestates = [
    [members(32).join(','), members(32).join(','), '32 members are kept'],
    [members(33).join(','), '', '33 members: the tracestate is dropped'],
    [`${members(32).join(',')},,, ,`, members(32).join(','), '32 members and empty ones'],
    ['rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', 'the specification\'s example'],
    ['  rojo=1 ,\t, congo=2\t', 'rojo=1,congo=2', 'spaces, tabs and empty members'],
    ['tenant1@vendor=x,a*b/c_d-e=y', 'tenant1@vendor=x,a*b/c_d-e=y', 'multi-tenant and punctuated keys'],
    ['k=a b', 'k=a b', 'a space inside a value'],
    ['Rojo=1,congo=2', '', 'an uppercase key drops the tracestate'],
    ['1abc=1', '', 'a key starting with a digit drops it'],
    ['rojo=1,rojo=2', '', 'a repeated key drops it'],
    ['rojo', '', 'a member without "=" drops it'],
    ['rojo=', '', 'an empty value drops it'],
    ['rojo=a,b', '', 'a comma splits a member: "b" is invalid'],
    ['rojo=a=b', '', 'an "=" in a value drops it'],
    [`${'k'.repeat(257)}=1`, '', 'a key of 257 characters drops it'],
    [`${'k'.repeat(256)}=1`, `${'k'.repeat(256)}=1`, 'a key of 256 characters is kept'],
    [`t@${'s'.repeat(15)}=1`, '', 'a system id of 15 characters drops it'],
    [`k=${'v'.repeat(257)}`, '', 'a value of 257 characters drops it'],
    [`k=${'v'.repeat(256)}`, `k=${'v'.repeat(256)}`, 'a value of 256 characters is kept'],
    ['k=caf\u00e9', '', 'a non-ASCII value drops it'],
  ];
  for (const [state, want, why] of tracestates) {
    const c = await cppParse(tp, state);
    checkEqual([c.valid, c.tracestate], [true, want], `C++ tracestate: ${why}`);
  }
  // JS agrees wherever its parser keeps the whole list (it drops invalid members one by one and
  // keeps the first 32, where this SDK drops the header whole).
  for (const [state, want] of tracestates.slice(0, 7)) {
    if (want === '') continue;
    checkEqual(jsExtract({ traceparent: tp, tracestate: state }).traceState.serialize(), want, `JS reads ${JSON.stringify(state)} the same`);
  }

  // Repeated tracestate headers are one list, in order, on both sides.
  const c = await ask({ op: 'extract', headers: [['TraceParent', tp], ['tracestate', 'a=1'], ['TRACESTATE', 'b=2,c=3']] });
  checkEqual([c.valid, c.tracestate], [true, 'a=1,b=2,c=3'], 'C++ joins repeated tracestate headers');
  checkEqual(jsExtract({ traceparent: tp, tracestate: ['a=1', 'b=2,c=3'] }).traceState.serialize(), 'a=1,b=2,c=3',
    'JS joins them the same');
  const two = await ask({ op: 'extract', headers: [['traceparent', tp], ['traceparent', `00-${TRACE}-${'1'.repeat(16)}-01`]] });
  checkEqual(two.valid, false, 'C++ refuses two traceparent headers');

  // Sent on, a tracestate is cut to 512 characters: members over 128 characters go first, then
  // members from the right; JS reads what is sent unchanged.
  const long = `long=${'x'.repeat(150)}`;
  const short = members(30, 'm').map((m) => `${m}${'y'.repeat(20)}`);  // 30 × ~25 characters
  const sent = await cppParse(tp, [short[0], long, ...short.slice(1)].join(','));
  check(sent.tracestate.includes(long), 'the tracestate is kept whole as received');
  const out = sent.headers.tracestate;
  check(out.length <= 512 && !out.includes('long=') && out.startsWith(short.slice(0, 3).join(',')),
    `sent tracestate cut to 512 characters, the long member first, then from the right (${out.length})`);
  checkEqual(out, short.slice(0, out.split(',').length).join(','), 'what is left is the leftmost short members');
  checkEqual(jsExtract(sent.headers).traceState.serialize(), out, 'JS reads the cut tracestate unchanged');
  const fits = await cppParse(tp, [short[0], long].join(','));
  checkEqual(fits.headers.tracestate, [short[0], long].join(','), 'under 512 characters nothing is cut');
}

// --- run -------------------------------------------------------------------------------------

let failed = false;
try {
  await jsToCpp(300);
  await cppToJs(300);
  await sessions(100);
  await edgeCases();
} catch (error) {
  failed = true;
  console.error(`FAILED after ${checks} checks: ${error.message}`);
}
probe.stdin.end();
const status = await new Promise((resolve) => (probe.exitCode !== null ? resolve(probe.exitCode) : probe.once('exit', resolve)));
if (!failed && status !== 0) {
  failed = true;
  console.error(`trace_context_probe exited with ${status}`);
}
if (failed) process.exit(1);
console.log(`${checks} checks passed`);
