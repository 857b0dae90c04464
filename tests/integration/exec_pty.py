#!/usr/bin/env python3
"""Runs `mcpvm exec -t ...` on a real pseudo-terminal (python's pty module) with a given window size,
optionally resizes the window while it runs, and checks the terminal's settings are restored afterwards.

usage: exec_pty.py ROWS COLS RESIZE_AFTER_S NEW_ROWS NEW_COLS -- MCPVM ARGS...
EXEC_PTY_INPUT, if set, is typed into the terminal 1.5 s after the start; just before, the terminal's mode
is sampled ('DURING raw' when mcpvm put it in raw mode: no line editing, no echo, no signals from keys;
'DURING cooked' otherwise).
Prints the command's output (CRs removed), then 'EXIT <code>', the DURING line when input was typed, and
'TERMIOS restored|changed'."""
import fcntl
import os
import select
import struct
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    rows, cols, resize_after, new_rows, new_cols = (float(a) for a in sys.argv[1:6])
    argv = sys.argv[sys.argv.index("--") + 1:]
    master, slave = os.openpty()
    set_size(slave, int(rows), int(cols))
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(master)
        os.execv(argv[0], argv)
    out = b""
    start = time.monotonic()
    resized = resize_after <= 0
    pending_input = os.environ.get("EXEC_PTY_INPUT", "").encode()
    status = None
    during = None
    deadline = start + 60
    while time.monotonic() < deadline:
        if not resized and time.monotonic() - start >= resize_after:
            set_size(master, int(new_rows), int(new_cols))  # the kernel sends SIGWINCH to mcpvm
            resized = True
        if pending_input and time.monotonic() - start >= 1.5:
            lflag = termios.tcgetattr(slave)[3]
            raw = not lflag & (termios.ICANON | termios.ECHO | termios.ISIG)
            during = "DURING " + ("raw" if raw else "cooked")
            os.write(master, pending_input)  # typed once the session is up
            pending_input = b""
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            out += chunk
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
        if status is not None and not r:
            break
    if status is None:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    after = termios.tcgetattr(slave)
    sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    print(f"\nEXIT {os.waitstatus_to_exitcode(status)}")
    if during:
        print(during)
    print("TERMIOS " + ("restored" if before == after else "changed"))


main()
