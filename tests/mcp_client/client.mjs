// Drives `promptetheus mcp` with the official MCP TypeScript SDK client (StdioClientTransport):
// the SDK negotiates the protocol, validates every result against the tool's outputSchema, and
// this script checks what each tool says about a passing and a failing run.
//
// usage: node client.mjs <promptetheus binary> <empty scratch directory> [calendar_agent binary]
// With the calendar example, its two recorded runs are read as the README's demo leaves them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

const [cli, scratch, agent] = process.argv.slice(2);
if (!cli || !scratch) {
  console.error('usage: node client.mjs <promptetheus binary> <scratch directory>');
  process.exit(2);
}

// Two runs of the same agent, as the SDK spools them: one passes, one fails on a timed-out tool.
function run(id, second, { failing }) {
  const ts = (seq) => `2026-11-21T20:42:${String(second).padStart(2, '0')}.${String(seq).padStart(6, '0')}Z`;
  const span = `span_${id}`;
  const events = [
    ['state_change', { after: { agent: 'calendar-agent', tags: ['demo'], user_goal: 'Book Tuesday at 2pm' }, before: null, name: 'session_started' }],
    ['user_message', { content: 'Book Tuesday at 2pm' }],
    ['llm_call', { input_tokens: 1200, latency_ms: 850, model: 'gpt-4o-mini', output_tokens: 300 }],
    ['state_change', { name: 'span_start', span_name: 'search' }, span],
    ['tool_call', { arguments: { day: 'Tuesday' }, call_id: 'call-1', tool_name: 'calendar.search' }, span],
    ['tool_result', failing
      ? { call_id: 'call-1', error: 'TimeoutError: upstream timed out after 3133ms', result: null }
      : { call_id: 'call-1', error: null, result: { slots: ['2pm', '3pm'] } }, span],
    ['state_change', { duration_ms: 0, name: 'span_end', span_name: 'search' }, span],
    ['agent_message', { content: failing ? 'Booked Wednesday 2pm' : 'Booked Tuesday 2pm' }],
    ['goal_check', failing ? { mismatches: ['selected Wednesday, not Tuesday'], passed: false } : { mismatches: [], passed: true }],
    ['session_end', failing ? { error: 'RuntimeError: agent selected the wrong day', status: 'failed' } : { error: null, status: 'completed' }],
  ];
  return events.map(([type, payload, spanId], seq) => JSON.stringify({
    payload, seq, session_id: id, timestamp: ts(seq), type, ...(spanId ? { span_id: spanId, parent_id: null } : {}),
  })).join('\n') + '\n';
}

const PASSING = '01M7ZXHNVH2DNQWAR7C5Q4VEFW';
const FAILING = '01M7ZXHP4Z730Y2HVRQ21DGCXS';
const spool = path.join(scratch, 'spool');
fs.mkdirSync(spool, { recursive: true });
fs.writeFileSync(path.join(spool, `${PASSING}.jsonl`), run(PASSING, 43, { failing: false }));
fs.writeFileSync(path.join(spool, `${FAILING}.jsonl`), run(FAILING, 50, { failing: true }));

const transport = new StdioClientTransport({ command: cli, args: ['mcp', '--dir', spool], stderr: 'inherit' });
const client = new Client({ name: 'promptetheus-sdk-check', version: '1.0.0' });
await client.connect(transport);

let checks = 0;
function check(condition, message) {
  assert.ok(condition, message);
  checks += 1;
}

check(client.getServerVersion().name === 'promptetheus', 'serverInfo.name is promptetheus');
check(client.getServerCapabilities().tools !== undefined, 'the server has tools');
check(typeof client.getInstructions() === 'string', 'the server gives instructions');
check(transport.sessionId === undefined, 'stdio has no session id');

const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
assert.deepEqual(names, ['diff_sessions', 'get_events', 'get_failure_context', 'get_session', 'list_failures',
  'list_sessions', 'search_events']);
checks += 1;
for (const tool of tools) check(tool.outputSchema?.type === 'object', `${tool.name} has an output schema`);

// Each result comes back as structuredContent (validated by the SDK) and as JSON text.
async function callTool(name, args = {}) {
  const result = await client.callTool({ name, arguments: args });
  assert.equal(result.isError, undefined, `${name} failed: ${result.content?.[0]?.text}`);
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
  checks += 1;
  return result.structuredContent;
}

const sessions = await callTool('list_sessions');
assert.deepEqual(sessions.sessions.map((s) => s.id), [FAILING, PASSING], 'newest first');
check(sessions.sessions[0].status === 'failed' && sessions.sessions[1].status === 'completed', 'statuses');

const context = await callTool('get_failure_context');
check(context.session_id === FAILING, 'without an id: the newest failed session');
check(context.failed_tool_calls[0].tool_name === 'calendar.search', 'names the failing tool');
check(context.failed_tool_calls[0].error === 'TimeoutError: upstream timed out after 3133ms', 'and its error');
check(context.end.error === 'RuntimeError: agent selected the wrong day', 'the end error');
check(context.failed_goal_checks[0].mismatches[0] === 'selected Wednesday, not Tuesday', 'the goal check');

const session = await callTool('get_session', { session_id: FAILING.slice(0, 12) });
check(session.total_entries === 10 && session.timeline.length === 10, 'the whole timeline');
check(session.run_tree.includes('search'), 'the run tree');

const events = await callTool('get_events', { session_id: FAILING, type: 'tool_result' });
check(events.events.length === 1 && events.events[0].payload.error.startsWith('TimeoutError'), 'raw events');

const diff = await callTool('diff_sessions', { session_a: PASSING, session_b: FAILING });
check(diff.regressed === true && diff.verdict.startsWith('REGRESSED'), `a verdict: ${diff.verdict}`);
check(diff.diff.some((line) => line.includes('calendar.search')), 'the diff names the tool');

const hits = await callTool('search_events', { query: 'wednesday' });
check(hits.hits.length > 0 && hits.hits.every((h) => h.session_id === FAILING), 'search hits');

const failures = await callTool('list_failures');
check(failures.failures.length === 1 && failures.failures[0].sessions[0] === FAILING, 'one failure group');

// A tool error is a result with isError, not a protocol error.
const missing = await client.callTool({ name: 'get_session', arguments: { session_id: 'no-such-session' } });
check(missing.isError === true && missing.content[0].text.includes('no-such-session'), 'a missing session');

await client.ping();
await client.close();

if (agent) {
  // The demo's spool: the calendar agent, recorded by the SDK, books the wrong day twice.
  const demoSpool = path.join(scratch, 'demo-spool');
  const env = { ...process.env, PROMPTETHEUS_SPOOL_DIR: demoSpool };
  delete env.PROMPTETHEUS_API_KEY;
  delete env.PROMPTETHEUS_TRANSPORT;
  const out = execFileSync(agent, ['both'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const ids = [...out.matchAll(/session: (\S+)/g)].map((m) => m[1]);
  assert.equal(ids.length, 2, `two runs recorded: ${out}`);
  const demo = new Client({ name: 'promptetheus-demo-check', version: '1.0.0' });
  await demo.connect(new StdioClientTransport({ command: cli, args: ['mcp', '--dir', demoSpool], stderr: 'inherit' }));
  const call = async (name, args = {}) => {
    const result = await demo.callTool({ name, arguments: args });
    assert.equal(result.isError, undefined, `${name} failed: ${result.content?.[0]?.text}`);
    checks += 1;
    return result.structuredContent;
  };
  const listed = await call('list_sessions');
  check(ids.every((id) => listed.sessions.some((s) => s.id === id && s.agent === 'calendar-agent')),
    'the demo runs are listed with their agent');
  const ctx = await call('get_failure_context', { session_id: ids[1] });
  check(ctx.failed === true, 'the calendar run failed');
  check(ctx.failed_goal_checks.length === 1 && JSON.stringify(ctx.failed_goal_checks[0].mismatches).includes('Tuesday'),
    'its goal check says the day is wrong');
  check(String(ctx.end?.error).includes('agent selected the wrong day'), `its end error: ${ctx.end?.error}`);
  const compared = await call('diff_sessions', { session_a: ids[0], session_b: ids[1] });
  check(typeof compared.verdict === 'string' && compared.verdict.length > 0, `a verdict: ${compared.verdict}`);
  await demo.close();
}
console.log(`ok: ${checks} checks against promptetheus mcp with @modelcontextprotocol/sdk ` +
  `(protocol ${LATEST_PROTOCOL_VERSION})`);
