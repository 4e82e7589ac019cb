#!/usr/bin/env python3
"""Anchor for the redaction figures of bench/policy_pipeline.cpp: the default redactor as the
Python reference SDK specifies it (contract §7.7: the key walk and the seven patterns, applied with
Python's `re`, one re.sub per pattern per string), timed on the same events: a 300-byte
agent_message line of prose, the same with an e-mail address and a provider key, and a tool_call
with a password in its arguments. Prints ns per event (median of 5 runs of 20,000 events).

Usage: python3 bench/anchors/python_redactor.py
"""
import re
import statistics
import time

PLACEHOLDER = "[REDACTED]"
PROTECTED = {"type", "session_id", "seq", "timestamp", "idempotency_key"}
SENSITIVE = ("password", "passwd", "secret", "token", "api_key", "apikey", "api-key", "authorization",
             "auth_token", "access_token", "refresh_token", "client_secret", "private_key", "session_key",
             "credential")
PATTERNS = [re.compile(p) for p in (
    r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}\b",
    r"(?i)\bBearer\s+[A-Za-z0-9._\-]+",
    r"\bAKIA[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{20,}\b",
    r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\b",
    r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b",
    r"\b(?:\d[ \-]?){13,16}\b",
)]


def scrub_string(text):
    for pattern in PATTERNS:
        text = pattern.sub(PLACEHOLDER, text)
    return text


def sensitive(key):
    lower = key.lower()
    return any(needle in lower for needle in SENSITIVE)


def scrub(value):
    if isinstance(value, dict):
        return {k: (PLACEHOLDER if sensitive(k) and not isinstance(v, (int, float, bool, type(None)))
                    else v if sensitive(k) else scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return scrub_string(value)
    return value


def redact(event):
    return {k: (v if k in PROTECTED else PLACEHOLDER if sensitive(k) else scrub(v)) for k, v in event.items()}


def envelope(event_type, payload):
    return {"idempotency_key": "01J0BENCHSESSION0000000000:1a2b3c4d:1", "payload": payload, "seq": 1,
            "session_id": "01J0BENCHSESSION0000000000", "timestamp": "2024-05-14T10:00:00.123456Z",
            "type": event_type}


PROSE = "Found three free slots on Tuesday; booked 10:00 with Ana in room B2 and sent the invite now."
SECRETS = "Mailed ana.lopez@example.com the invite; booked with key sk-live0123456789abcdefXYZ at 10:00"
EVENTS = {
    "prose": envelope("agent_message", {"content": PROSE}),
    "secrets": envelope("agent_message", {"content": SECRETS}),
    "tool_call_secrets": envelope("tool_call", {
        "tool_name": "crm.login", "call_id": "5f0c2d7e9a8b4c6d1e3f5a7b9c0d2e4f",
        "arguments": {"user": "ana", "password": "hunter2-password", "note": PROSE[:60]}}),
}

if __name__ == "__main__":
    for name, event in EVENTS.items():
        runs = []
        for _ in range(5):
            start = time.perf_counter_ns()
            for _ in range(20000):
                redact(event)
            runs.append((time.perf_counter_ns() - start) / 20000)
        print(f"python_redactor/{name}: {statistics.median(runs):.0f} ns per event")
