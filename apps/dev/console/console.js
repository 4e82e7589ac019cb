// The Promptetheus dev console: sessions, one session (waterfall and timeline), compare, failures.
// Plain DOM: every value from the server is inserted as text (createTextNode / textContent) or as
// a safe attribute, never parsed as HTML.
'use strict';

(function () {
  const TOKEN_KEY = 'promptetheus.console_token';
  const SESSIONS_PAGE = 50;
  const TIMELINE_PAGE = 500;
  const MAX_WATERFALL_SPANS = 1000;
  const app = document.getElementById('app');
  // Static report mode (`promptetheus report`): the session's analysis is in this block (its
  // timeline entries in the blocks read by reportPage) and the page is rendered from it, with no
  // server and no navigation that needs one.
  const reportBlock = document.getElementById('promptetheus-report');
  const REPORT = reportBlock ? JSON.parse(reportBlock.textContent) : null;

  // --- DOM helpers ---------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === 'class') node.className = value;
        else if (name === 'value') node.value = value;
        else node.setAttribute(name, String(value));
      }
    }
    for (const child of children) append(node, child);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { for (const c of child) append(node, c); return; }
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  function show(...children) {
    app.replaceChildren();
    append(app, children);
  }

  function str(value) {
    if (value === null || value === undefined) return '';
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  function fmtMs(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return '—';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(2) + ' s';
    return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
  }

  function fmtOffset(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return '';
    return '+' + (ms / 1000).toFixed(3) + 's';
  }

  function fmtUsd(v) { return '$' + Number(v || 0).toFixed(4); }

  function badge(status) {
    const s = str(status) || 'unknown';
    return el('span', { class: 'badge ' + s.replace(/[^a-z_-]/gi, '') }, s);
  }

  function sessionLink(id) {
    return el('a', { href: '#/session/' + encodeURIComponent(id) }, id);
  }

  // --- API -----------------------------------------------------------------------------------

  class Unauthorized extends Error {}

  async function api(path) {
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    const res = await fetch(path, { headers, credentials: 'omit' });
    if (res.status === 401) throw new Unauthorized();
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) throw new Error((body && body.detail) || ('HTTP ' + res.status));
    return body;
  }

  function loginForm() {
    const input = el('input', { type: 'password', autocomplete: 'off', placeholder: 'console token' });
    const form = el('form', { class: 'card login' },
      el('h1', null, 'Console token'),
      el('p', { class: 'muted' }, 'This server is not bound to a loopback address: enter the console token. It is kept in this tab only.'),
      input, el('button', { type: 'submit' }, 'Open console'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (input.value) sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      route();
    });
    show(form);
    input.focus();
  }

  function failed(err) {
    if (err instanceof Unauthorized) return loginForm();
    show(el('p', { class: 'error' }, 'Error: ' + err.message));
  }

  // --- routing -------------------------------------------------------------------------------

  function parseHash() {
    const hash = location.hash.replace(/^#/, '') || '/sessions';
    const q = hash.indexOf('?');
    const path = q < 0 ? hash : hash.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : hash.slice(q + 1));
    return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params };
  }

  function route() {
    const { parts, params } = parseHash();
    const page = parts[0] || 'sessions';
    let done;
    if (REPORT) {
      const id = str((REPORT.trace || {}).id);
      sessionPage(id, page === 'session' ? params : new URLSearchParams()).catch(failed);
      return;
    }
    if (page === 'session' && parts[1]) done = sessionPage(parts[1], params);
    else if (page === 'compare') done = comparePage(params);
    else if (page === 'failures') done = failuresPage();
    else done = sessionsPage(params);
    done.catch(failed);
  }

  function go(path, params) {
    const q = params ? params.toString() : '';
    location.hash = '#' + path + (q ? '?' + q : '');
  }

  // --- sessions ------------------------------------------------------------------------------

  async function sessionsPage(params) {
    const offset = Math.max(0, parseInt(params.get('offset') || '0', 10) || 0);
    const query = new URLSearchParams();
    for (const k of ['status', 'agent', 'tag', 'q']) if (params.get(k)) query.set(k, params.get(k));
    query.set('offset', String(offset));
    query.set('limit', String(SESSIONS_PAGE));
    const data = await api('/api/console/sessions?' + query.toString());

    const status = el('select', { name: 'status' },
      ['', 'running', 'completed', 'success', 'failed', 'error'].map((s) =>
        el('option', { value: s, selected: params.get('status') === s ? 'selected' : null }, s || 'any status')));
    const agent = el('input', { name: 'agent', placeholder: 'agent', value: params.get('agent') || '' });
    const tag = el('input', { name: 'tag', placeholder: 'tag', value: params.get('tag') || '' });
    const text = el('input', { name: 'q', placeholder: 'search id, agent, goal, error', size: 32, value: params.get('q') || '' });
    const form = el('form', { class: 'filters' }, status, agent, tag, text, el('button', { type: 'submit' }, 'Filter'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const next = new URLSearchParams();
      if (status.value) next.set('status', status.value);
      if (agent.value) next.set('agent', agent.value);
      if (tag.value) next.set('tag', tag.value);
      if (text.value) next.set('q', text.value);
      go('/sessions', next);
    });

    const rows = data.sessions.map((s) => {
      const fp = s.fingerprint || {};
      return el('tr', { class: fp.is_failure ? 'failed' : null },
        el('td', null, sessionLink(s.id)),
        el('td', null, str(s.agent)),
        el('td', null, str(s.user_goal)),
        el('td', null, badge(s.status), fp.is_failure ? [' ', el('span', { class: 'badge failed', title: fp.fingerprint }, '✖ ' + fp.label)] : null),
        el('td', null, str(s.started_at)),
        el('td', { class: 'num' }, fmtMs(s.duration_ms)),
        el('td', { class: 'num' }, String(s.events)),
        el('td', { class: 'num' }, String(s.llm_calls)),
        el('td', { class: 'num' }, String(s.tokens)),
        el('td', { class: 'num' }, fmtUsd(s.cost_usd)),
        el('td', null, (s.tags || []).map((t) => el('span', { class: 'badge' }, t))));
    });
    const table = el('table', null,
      el('thead', null, el('tr', null, ['Session', 'Agent', 'Goal', 'Status / failure', 'Started', 'Duration', 'Events', 'LLM calls', 'Tokens', 'Cost', 'Tags']
        .map((h, i) => el('th', { class: i >= 5 && i <= 9 ? 'num' : null }, h)))),
      el('tbody', null, rows));

    const pager = el('div', { class: 'pager' });
    const page = (delta) => {
      const next = new URLSearchParams(params);
      next.set('offset', String(Math.max(0, offset + delta)));
      go('/sessions', next);
    };
    if (offset > 0) { const b = el('button', null, '← Newer'); b.addEventListener('click', () => page(-SESSIONS_PAGE)); append(pager, b); }
    append(pager, el('span', { class: 'muted' },
      data.total === 0 ? 'no sessions' : (offset + 1) + '–' + (offset + data.sessions.length) + ' of ' + data.total));
    if (offset + data.sessions.length < data.total) { const b = el('button', null, 'Older →'); b.addEventListener('click', () => page(SESSIONS_PAGE)); append(pager, b); }

    show(el('h1', null, 'Sessions'), form, table, pager);
  }

  // --- one session ---------------------------------------------------------------------------

  function waterfall(spans, overview) {
    const box = el('div', { class: 'waterfall' });
    if (!spans.length) { append(box, el('p', { class: 'muted' }, 'No spans.')); return box; }
    let end = overview.duration_ms || 0;
    for (const s of spans) if (s.end_ms !== null && s.end_ms > end) end = s.end_ms;
    if (!end) end = 1;
    for (const s of spans.slice(0, MAX_WATERFALL_SPANS)) {
      const start = s.start_ms || 0;
      const stop = s.end_ms !== null && s.end_ms !== undefined ? s.end_ms : end;
      const bar = el('div', { class: 'wf-bar' + (s.failed ? ' failed' : '') });
      bar.style.left = (100 * start / end) + '%';
      bar.style.width = Math.max(0.2, 100 * (stop - start) / end) + '%';
      const label = el('div', { class: 'wf-label' }, (s.failed ? '✖ ' : '') + (str(s.name) || s.span_id) + ' · ' + fmtMs(s.duration_ms));
      label.style.paddingLeft = (s.depth * 14) + 'px';
      append(box, el('div', { class: 'wf-row' + (s.failed ? ' failed' : '') }, label, el('div', { class: 'wf-track' }, bar)));
    }
    if (spans.length > MAX_WATERFALL_SPANS) append(box, el('p', { class: 'muted' }, (spans.length - MAX_WATERFALL_SPANS) + ' more spans not drawn'));
    return box;
  }

  function screenshot(traceId, entry) {
    const ev = entry.event || {};
    const p = ev.payload || {};
    if (ev.type !== 'screenshot' || typeof p.artifact_id !== 'string' || !p.artifact_id) return null;
    if (REPORT) {
      const images = REPORT.images || {};
      const omitted = REPORT.omitted_images || {};
      if (Object.prototype.hasOwnProperty.call(images, p.artifact_id)) {
        return el('img', { class: 'shot', alt: 'screenshot', src: images[p.artifact_id] });
      }
      const why = Object.prototype.hasOwnProperty.call(omitted, p.artifact_id) ? omitted[p.artifact_id] : 'not included';
      return el('p', { class: 'muted' }, 'screenshot ' + p.artifact_id + ' (' + str(why) + ')');
    }
    const src = '/api/traces/' + encodeURIComponent(traceId) + '/artifacts/' + encodeURIComponent(p.artifact_id);
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return el('img', { class: 'shot', alt: 'screenshot', loading: 'lazy', src });
    // Beyond loopback the bytes need the token, which an <img> cannot send: fetch them with it
    // and show them from a blob: URL.
    const img = el('img', { class: 'shot', alt: 'screenshot' });
    fetch(src, { headers: { Authorization: 'Bearer ' + token }, credentials: 'omit' })
      .then((res) => { if (!res.ok) throw new Error('HTTP ' + res.status); return res.blob(); })
      .then((blob) => { img.src = URL.createObjectURL(blob); })
      .catch((e) => { img.replaceWith(el('p', { class: 'muted' }, 'screenshot ' + p.artifact_id + ': ' + e.message)); });
    return img;
  }

  function timelineRow(traceId, entry) {
    const row = el('div', { class: 'tl-row' + (entry.failure ? ' failed' : ''), title: 'show the event' },
      el('span', { class: 'muted' }, fmtOffset(entry.offset_ms)),
      el('span', { class: 'muted' }, '#' + entry.seq),
      el('span', null, (entry.failure ? '✖ ' : '') + '  '.repeat(Math.max(0, entry.depth)) + entry.type),
      el('span', { class: 'text' }, entry.text));
    const wrap = el('div', { class: 'tl-entry' }, row, screenshot(traceId, entry));
    let detail = null;
    row.addEventListener('click', () => {
      if (detail) { detail.remove(); detail = null; return; }
      detail = el('pre', { class: 'tl-detail' }, JSON.stringify(entry.event, null, 2));
      row.after(detail);
    });
    return wrap;
  }

  // The report's entries are in blocks of REPORT.entries_per_block, one <script> each, parsed
  // the first time a page shows them: a 100,000-event report opens without parsing them all.
  const reportBlocks = new Map();
  function reportEntryBlock(k) {
    if (!reportBlocks.has(k)) {
      const node = document.getElementById('promptetheus-entries-' + k);
      reportBlocks.set(k, node ? JSON.parse(node.textContent) : []);
    }
    return reportBlocks.get(k);
  }

  // One page of the report's entries, shaped like the analysis route's answer.
  function reportPage(offset) {
    const total = REPORT.total_entries || 0;
    const per = REPORT.entries_per_block || TIMELINE_PAGE;
    const first = Math.min(offset, total);
    const end = Math.min(first + TIMELINE_PAGE, total);
    const entries = [];
    for (let i = first; i < end;) {
      const k = Math.floor(i / per);
      const block = reportEntryBlock(k);
      const from = i - k * per;
      const take = Math.min(block.length - from, end - i);
      if (take <= 0) break;  // a block shorter than it should be: show what there is
      for (let j = from; j < from + take; j++) entries.push(block[j]);
      i += take;
    }
    return Object.assign({}, REPORT, { offset: first, limit: TIMELINE_PAGE, entries });
  }

  async function sessionPage(id, params) {
    const offset = Math.max(0, parseInt(params.get('offset') || '0', 10) || 0);
    const data = REPORT ? reportPage(offset) : await api('/api/traces/' + encodeURIComponent(id) + '/analysis?offset=' + offset + '&limit=' + TIMELINE_PAGE);
    const o = data.overview || {};
    const t = data.trace || {};
    const fp = data.fingerprint || {};
    const facts = el('dl', { class: 'facts' });
    const fact = (k, v) => append(facts, [el('dt', null, k), el('dd', null, v)]);
    fact('Agent', str(t.agent || o.agent));
    fact('Goal', str(t.user_goal || o.goal));
    fact('Status', badge(t.status || o.status));
    if (t.error || o.end_error) fact('End error', el('span', { class: 'error' }, str(t.error || o.end_error)));
    fact('Started', str(o.started_at || t.started_at));
    fact('Duration', fmtMs(o.duration_ms));
    fact('Totals', o.events + ' events · ' + o.llm_calls + ' LLM calls · ' +
      ((o.input_tokens || 0) + (o.output_tokens || 0)) + ' tokens · ' + fmtUsd(o.cost_usd) +
      (o.failures ? ' · ' + o.failures + ' failure(s)' : ''));
    if (t.tags && t.tags.length) fact('Tags', t.tags.map((x) => el('span', { class: 'badge' }, str(x))));

    const fpCard = el('div', { class: 'card' + (fp.is_failure ? ' failed' : '') },
      el('strong', null, fp.is_failure ? '✖ ' + fp.label : 'No failure detected'),
      fp.is_failure ? el('span', { class: 'muted' }, '  fingerprint ' + fp.fingerprint) : null,
      (fp.signals && fp.signals.length) ? el('ul', { class: 'signals' }, fp.signals.map((s) => el('li', null, s))) : null);

    const compare = new URLSearchParams(); compare.set('a', id);
    const header = el('div', { class: 'card' },
      el('h1', null, 'Session ', el('code', null, id)), facts,
      REPORT ? null : el('p', null, el('a', { href: '#/compare?' + compare.toString() }, 'Compare with…')));

    const total = data.total_entries;
    const timeline = el('div', { class: 'timeline' }, data.entries.map((e) => timelineRow(id, e)));
    const pager = el('div', { class: 'pager' });
    const page = (to) => { const next = new URLSearchParams(); next.set('offset', String(to)); go('/session/' + encodeURIComponent(id), next); };
    if (offset > 0) { const b = el('button', null, '← Earlier'); b.addEventListener('click', () => page(Math.max(0, offset - TIMELINE_PAGE))); append(pager, b); }
    append(pager, el('span', { class: 'muted' }, total ? 'events ' + (offset + 1) + '–' + (offset + data.entries.length) + ' of ' + total : 'no events'));
    if (offset + data.entries.length < total) { const b = el('button', null, 'Later →'); b.addEventListener('click', () => page(offset + TIMELINE_PAGE)); append(pager, b); }

    show(header, fpCard, el('h2', null, 'Spans'), waterfall(data.spans || [], o),
      el('h2', null, 'Timeline'), pager, timeline);
    // When the page was ready, in ms since navigation started: what the render-time benchmark
    // reads (and anyone curious can, in the developer tools).
    document.documentElement.setAttribute('data-rendered-ms', String(Math.round(performance.now())));
  }

  // --- compare -------------------------------------------------------------------------------

  function stepList(steps, otherKeys, kind) {
    return el('div', { class: 'card' }, steps.map((s) => {
      let cls = 'step';
      if (!otherKeys.has(s.key)) cls += ' ' + kind;
      if (!s.ok) cls += ' notok';
      return el('div', { class: cls }, (s.ok ? '' : '✖ ') + s.key + '  ' + s.label);
    }));
  }

  function overviewCard(id, o) {
    return el('div', { class: 'card' },
      el('h2', null, sessionLink(id)),
      el('div', null, badge(o.status), ' ', str(o.agent), ' · ', str(o.goal)),
      o.end_error ? el('div', { class: 'error' }, str(o.end_error)) : null,
      el('div', { class: 'muted' }, fmtMs(o.duration_ms) + ' · ' + o.events + ' events · ' + o.llm_calls + ' LLM calls · ' + fmtUsd(o.cost_usd)));
  }

  async function comparePage(params) {
    const a = el('input', { placeholder: 'session A', value: params.get('a') || '' });
    const b = el('input', { placeholder: 'session B', value: params.get('b') || '' });
    const form = el('form', { class: 'filters' }, a, ' vs ', b, el('button', { type: 'submit' }, 'Compare'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const next = new URLSearchParams(); next.set('a', a.value.trim()); next.set('b', b.value.trim());
      go('/compare', next);
    });
    if (!params.get('a') || !params.get('b')) { show(el('h1', null, 'Compare sessions'), form); return; }
    const q = new URLSearchParams(); q.set('a', params.get('a')); q.set('b', params.get('b'));
    const data = await api('/api/diff?' + q.toString());
    const c = data.comparison;
    const aKeys = new Set(data.a_steps.map((s) => s.key));
    const bKeys = new Set(data.b_steps.map((s) => s.key));
    const markers = { added: '+ ', removed: '- ', changed: '~ ', regressed: '✖ ', fixed: '✓ ' };
    show(el('h1', null, 'Compare sessions'), form,
      el('div', { class: 'card' + (c.regressed ? ' failed' : '') },
        el('strong', null, c.changes.length === 0 ? 'No differences' : (c.regressed ? '✖ Regressed' : 'Changed, no regression')),
        el('div', { class: 'muted' }, 'Verdict: ' + c.verdict),
        c.changes.length ? el('ul', null, c.changes.map((x) =>
          el('li', { class: x.kind === 'regressed' ? 'error' : null }, (markers[x.kind] || '~ ') + x.text))) : null),
      el('div', { class: 'columns' },
        el('div', null, overviewCard(data.a_id, data.a_overview), el('h2', null, 'Steps of A (only in A marked)'), stepList(data.a_steps, bKeys, 'removed')),
        el('div', null, overviewCard(data.b_id, data.b_overview), el('h2', null, 'Steps of B (only in B marked)'), stepList(data.b_steps, aKeys, 'added'))));
  }

  // --- failures ------------------------------------------------------------------------------

  async function failuresPage() {
    const data = await api('/api/failures');
    const rows = data.failures.map((g) => el('tr', { class: 'failed' },
      el('td', null, el('strong', null, g.label), el('div', { class: 'muted' }, g.fingerprint),
        (g.signals && g.signals.length) ? el('ul', { class: 'signals' }, g.signals.map((s) => el('li', null, s))) : null),
      el('td', { class: 'num' }, String(g.count)),
      el('td', null, str(g.first_seen)),
      el('td', null, str(g.last_seen)),
      el('td', null, (g.agents || []).join(', ')),
      el('td', null, (g.sessions || []).map((id) => el('div', null, sessionLink(id))))));
    show(el('h1', null, 'Failures'),
      data.failures.length ? el('table', null,
        el('thead', null, el('tr', null, ['Failure', 'Sessions', 'First seen', 'Last seen', 'Agents', 'Recent sessions'].map((h) => el('th', null, h)))),
        el('tbody', null, rows)) : el('p', { class: 'muted' }, 'No failures recorded.'));
  }

  window.addEventListener('hashchange', route);
  route();
})();
