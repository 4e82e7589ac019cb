#!/usr/bin/env python3
"""Writes one large spooled session (JSON-spool lines: sorted keys, compact, ASCII escapes) for
timing the CLI: ~100 000 events, ~28 MB, with nested spans, tool calls and results (some
failing), llm calls, errors, DOM snapshots, metrics, scores and non-ASCII text.

usage: generate_session.py OUT_DIR [--events N] [--session ID] [--seed S]
"""
import argparse
import json
import os
import random

WORDS = ("calendar search booking slot tuesday wednesday timezone checkout cart user agent "
         "retry upstream latency summary incident Größe façade naïve 東京 ✓ database query "
         "result token window page button submit form price total").split()


def text(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--session", default="bench_large")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    sid = args.session
    nonce = "%08x" % rng.getrandbits(32)
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, sid + ".jsonl")
    seq = 0
    spans = []  # stack of (span_id, name)
    usec = 0

    def emit(f, etype, payload, in_span=True):
        nonlocal seq, usec
        usec += rng.randint(3, 900)
        ev = {
            "idempotency_key": "%s:%s:%d" % (sid, nonce, seq),
            "payload": payload,
            "seq": seq,
            "session_id": sid,
            "timestamp": "2026-11-21T20:%02d:%02d.%06dZ" % ((usec // 60_000_000) % 60,
                                                            (usec // 1_000_000) % 60, usec % 1_000_000),
            "type": etype,
        }
        if in_span and spans:
            ev["span_id"] = spans[-1][0]
            ev["parent_id"] = spans[-2][0] if len(spans) > 1 else None
        f.write(json.dumps(ev, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n")
        seq += 1

    with open(path, "w", encoding="ascii") as f:
        emit(f, "state_change", {"after": {"agent": "bench-agent", "environment": "bench", "project_id": None,
                                           "tags": ["bench"], "user_goal": "Book Tuesday at 2pm"},
                                 "before": None, "name": "session_started"})
        emit(f, "user_message", {"content": text(rng, 5, 20)})
        while seq < args.events - 3:
            r = rng.random()
            if r < 0.02 and len(spans) < 6:
                name = rng.choice(["plan", "search", "book", "verify", "browse"])
                spans.append(("span_%032x" % rng.getrandbits(128), name))
                emit(f, "state_change", {"name": "span_start", "span_name": name})
            elif r < 0.10 and spans:
                emit(f, "state_change", {"duration_ms": rng.randint(0, 4000), "name": "span_end",
                                         "span_name": spans[-1][1]})
                spans.pop()
            elif r < 0.40:
                call_id = "%032x" % rng.getrandbits(128)
                tool = rng.choice(["calendar.search", "db.query", "http.get", "browser.click"])
                emit(f, "tool_call", {"arguments": {"q": text(rng, 1, 3), "limit": rng.randint(1, 50)},
                                      "call_id": call_id, "tool_name": tool})
                if rng.random() < 0.03:
                    err = "TimeoutError: upstream timed out after %dms at 0x%x in /srv/app/%s.py" % (
                        rng.randint(100, 9000), rng.getrandbits(40), tool.replace(".", "/"))
                    emit(f, "tool_result", {"call_id": call_id, "error": err, "result": None})
                else:
                    emit(f, "tool_result", {"call_id": call_id, "error": None,
                                            "result": {"rows": [text(rng, 1, 3) for _ in range(rng.randint(1, 3))]}})
            elif r < 0.58:
                emit(f, "llm_call", {"input_tokens": rng.randint(100, 9000), "latency_ms": rng.randint(50, 3000),
                                     "model": rng.choice(["gpt-4o-mini", "claude-x", "local-7b"]),
                                     "output_tokens": rng.randint(10, 900),
                                     "prompt": text(rng, 1, 6)})
            elif r < 0.66:
                emit(f, "dom_snapshot", {"url": "https://shop.test/%s" % rng.choice(WORDS),
                                         "visible_text": text(rng, 10, 30),
                                         "selected_values": {"day": rng.choice(["Tuesday", "Wednesday"])},
                                         "warnings": [text(rng, 3, 8)] if rng.random() < 0.2 else []})
            elif r < 0.72:
                emit(f, "browser_action", {"action": rng.choice(["click", "type", "scroll"]),
                                           "target": "#" + rng.choice(WORDS), "url": "https://shop.test/cart"})
            elif r < 0.80:
                emit(f, "metric", {"name": rng.choice(["latency", "steps", "tokens"]),
                                   "unit": "ms", "value": round(rng.uniform(0, 5000), rng.randint(0, 3))})
            elif r < 0.84:
                emit(f, "score", {"name": "quality", "value": rng.choice([True, False, 0.25, 1.0, 1e20])})
            elif r < 0.86:
                emit(f, "error", {"handled": True, "message": rng.choice([
                    "KeyError: 'user_id' at 0x7f3a2b1c in /srv/app/main.py line %d" % rng.randint(1, 999),
                    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.x.com', port=443)",
                    "Ünïcödé Fehler: Größe ٣٤ überschritten",
                    "ValueError: bad input %d" % rng.randint(1, 99)])})
            elif r < 0.93:
                emit(f, "agent_message", {"content": text(rng, 3, 15)})
            else:
                emit(f, "retrieval", {"documents": [{"id": "doc-%d" % rng.randint(1, 999), "score": rng.random()}
                                                    for _ in range(rng.randint(1, 4))],
                                      "query": text(rng, 2, 6)})
        while spans:
            emit(f, "state_change", {"duration_ms": 1, "name": "span_end", "span_name": spans[-1][1]})
            spans.pop()
        emit(f, "goal_check", {"mismatches": ["selected Wednesday, not Tuesday"], "passed": False}, in_span=False)
        emit(f, "session_end", {"error": "RuntimeError: agent selected the wrong day", "status": "failed"},
             in_span=False)
    print("%s: %d events, %d bytes" % (path, seq, os.path.getsize(path)))


if __name__ == "__main__":
    main()
