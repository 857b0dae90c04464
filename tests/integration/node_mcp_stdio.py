#!/usr/bin/env python3
"""Talks MCP over stdio to a command (here `mcpvm run --foreground IMAGE`): initialize,
notifications/initialized, tools/list, tools/call echo; then closes stdin and waits for the exit.

usage: node_mcp_stdio.py REPLY_TIMEOUT_S EXIT_TIMEOUT_S STDERR_FILE -- CMD...
Prints one "ok: ..." line per check; exits 1 at the first failed check (the child is killed)."""
import json
import os
import select
import subprocess
import sys
import time

reply_timeout, exit_timeout, stderr_file = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
cmd = sys.argv[sys.argv.index("--") + 1:]
started = time.monotonic()
child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(stderr_file, "wb"))
pending = b""


def fail(what):
    print(f"FAIL: {what} (after {time.monotonic() - started:.1f} s)", flush=True)
    child.kill()
    child.wait()
    sys.exit(1)


def send(message):
    child.stdin.write((json.dumps(message) + "\n").encode())
    child.stdin.flush()


def reply(request_id, timeout):
    """The response to request_id; notifications and junk lines on the way are skipped."""
    global pending
    deadline = time.monotonic() + timeout
    while True:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("id") == request_id and "method" not in message:
                return message
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"no reply to request {request_id} within {timeout} s")
        ready, _, _ = select.select([child.stdout], [], [], left)
        if ready:
            chunk = os.read(child.stdout.fileno(), 65536)
            if not chunk:
                fail(f"stdout ended before the reply to request {request_id} (exit {child.wait()})")
            pending += chunk


def check(condition, what):
    if not condition:
        fail(what)
    print(f"ok: {what}", flush=True)


send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
      "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                 "clientInfo": {"name": "mcpvm-node-mcp-test", "version": "1"}}})
init = reply(1, reply_timeout)
check("tools" in init.get("result", {}).get("capabilities", {}),
      f"initialize answered with tools capability in {time.monotonic() - started:.1f} s: "
      f"{init.get('result', {}).get('serverInfo')}")
send({"jsonrpc": "2.0", "method": "notifications/initialized"})

send({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
tools = [t.get("name") for t in reply(2, reply_timeout).get("result", {}).get("tools", [])]
check("echo" in tools, f"tools/list has echo ({len(tools)} tools)")

message = "hello from the host \u00e9\u6f22 " + "x" * 2000
send({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
      "params": {"name": "echo", "arguments": {"message": message}}})
result = reply(3, reply_timeout).get("result", {})
texts = [c.get("text", "") for c in result.get("content", []) if c.get("type") == "text"]
check(any(message in t for t in texts) and not result.get("isError"), "tools/call echo returned the message byte-exact")

closed = time.monotonic()
child.stdin.close()  # EOF on the server's stdin
try:
    code = child.wait(timeout=exit_timeout)
except subprocess.TimeoutExpired:
    fail(f"no exit within {exit_timeout} s of closing stdin")
check(code == 0, f"exit code {code} {time.monotonic() - closed:.1f} s after stdin closed")
