#!/usr/bin/python3
"""tests/smtpd.py: a loopback SMTP server for fmgate's tests, and the demo's mail catcher.

Standard library only (smtpd and asyncore are gone from Python 3.12).

    /usr/bin/python3 tests/smtpd.py --port P --dir DIR [--user U --password-file F]
                                    [--pidfile F] [--port-file F]

Listens on 127.0.0.1:P (P 0: a port the kernel picks, written to --port-file) and
prints one line saying where mails go. Speaks EHLO/HELO, AUTH PLAIN and AUTH LOGIN
(always offered), MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT; no STARTTLS.
With --user, MAIL needs a login first (530) and AUTH checks the user and the password
(the file's content less trailing white space): 535 when wrong. Without --user any
login is taken and recorded.

Each mail received is written as DIR/NNNN.eml (the data as sent, CRLF line ends) and
then DIR/NNNN.json: {"from": "a@b", "rcpt": ["c@d", ...], "auth": "user" or null}.
NNNN counts on from the mails already in DIR. A reader that sees the .json sees both
files whole.

Faults: the file DIR/fault, when present, is read again at each command; one
instruction a line, '#' starts a comment:
    mail 451      answer MAIL with 451
    rcpt 550      answer every RCPT with 550
    data 554      answer the end of DATA with 554 (the mail is not kept)
    delay 3       wait 3 seconds (a decimal number) before answering the end of DATA
Stop it with SIGTERM or SIGINT.
"""
import argparse
import base64
import binascii
import json
import os
import signal
import socketserver
import sys
import threading
import time

MAX_LINE = 4096                  # bytes of a command line or a data line
MAX_MESSAGE = 64 * 1024 * 1024   # bytes of one mail's data
IDLE_TIMEOUT = 60                # seconds a client may stay silent

HOST = "localhost"


def read_faults(folder):
    """The fault file as {verb: code or seconds}; {} when there is none."""
    faults = {}
    try:
        with open(os.path.join(folder, "fault"), encoding="utf-8") as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if len(words) == 2 and words[0] in ("mail", "rcpt", "data"):
                    faults[words[0]] = int(words[1])
                elif len(words) == 2 and words[0] == "delay":
                    faults["delay"] = float(words[1])
    except (OSError, ValueError):
        pass
    return faults


def b64text(s):
    try:
        return base64.b64decode(s, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def angle_addr(arg, keyword):
    """The address of "FROM:<a@b> SIZE=1" (keyword FROM) or None."""
    if not arg.upper().startswith(keyword + ":"):
        return None
    rest = arg[len(keyword) + 1:].strip()
    if not rest.startswith("<") or ">" not in rest:
        return None
    return rest[1:rest.index(">")]


class Store:
    """Numbers and writes the mails of one folder."""

    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.Lock()
        names = [n[:-5] for n in os.listdir(folder) if n.endswith(".json") and n[:-5].isdigit()]
        self.count = max((int(n) for n in names), default=0)

    def keep(self, sender, rcpts, user, data):
        with self.lock:
            self.count += 1
            base = os.path.join(self.folder, "%04d" % self.count)
        for ext, content in ((".eml", data),
                             (".json", json.dumps({"from": sender, "rcpt": rcpts,
                                                   "auth": user}).encode() + b"\n")):
            with open(base + ext + ".tmp", "wb") as f:
                f.write(content)
            os.rename(base + ext + ".tmp", base + ext)
        return base


class Handler(socketserver.StreamRequestHandler):
    timeout = IDLE_TIMEOUT

    def say(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def line(self):
        raw = self.rfile.readline(MAX_LINE + 1)
        if not raw:
            raise EOFError
        return raw.rstrip(b"\r\n").decode("utf-8", "replace")

    def reset(self):
        self.sender = None
        self.rcpts = []

    def handle(self):
        srv = self.server
        self.user = None
        self.reset()
        self.say("220 %s fmgate test smtpd" % HOST)
        try:
            while self.command(srv):
                pass
        except (EOFError, OSError):
            pass

    def command(self, srv):
        text = self.line()
        verb, _, arg = text.partition(" ")
        verb = verb.upper()
        faults = read_faults(srv.folder)
        if verb == "EHLO":
            self.reset()
            self.say("250-%s" % HOST)
            self.say("250-AUTH PLAIN LOGIN")
            self.say("250-8BITMIME")
            self.say("250 SIZE %d" % MAX_MESSAGE)
        elif verb == "HELO":
            self.reset()
            self.say("250 %s" % HOST)
        elif verb == "AUTH":
            self.auth(srv, arg)
        elif verb == "MAIL":
            addr = angle_addr(arg, "FROM")
            if srv.user is not None and self.user is None:
                self.say("530 5.7.0 Authentication required")
            elif addr is None:
                self.say("501 5.5.4 Syntax: MAIL FROM:<address>")
            elif "mail" in faults:
                self.say("%d fault: MAIL refused" % faults["mail"])
            else:
                self.reset()
                self.sender = addr
                self.say("250 2.1.0 OK")
        elif verb == "RCPT":
            addr = angle_addr(arg, "TO")
            if self.sender is None:
                self.say("503 5.5.1 MAIL first")
            elif not addr:
                self.say("501 5.5.4 Syntax: RCPT TO:<address>")
            elif "rcpt" in faults:
                self.say("%d fault: RCPT refused" % faults["rcpt"])
            else:
                self.rcpts.append(addr)
                self.say("250 2.1.5 OK")
        elif verb == "DATA":
            if not self.rcpts:
                self.say("503 5.5.1 RCPT first")
            else:
                self.data(srv)
        elif verb == "RSET":
            self.reset()
            self.say("250 2.0.0 OK")
        elif verb == "NOOP":
            self.say("250 2.0.0 OK")
        elif verb == "QUIT":
            self.say("221 2.0.0 Bye")
            return False
        else:
            self.say("502 5.5.2 Command not implemented")
        return True

    def auth(self, srv, arg):
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        if self.user is not None:
            self.say("503 5.5.1 Already authenticated")
            return
        if mech == "PLAIN":
            if not initial:
                self.say("334 ")
                initial = self.line()
            parts = (b64text(initial) or "").split("\0")
            user, password = (parts[1], parts[2]) if len(parts) == 3 else (None, None)
        elif mech == "LOGIN":
            if not initial:
                self.say("334 VXNlcm5hbWU6")      # "Username:"
                initial = self.line()
            user = b64text(initial)
            self.say("334 UGFzc3dvcmQ6")          # "Password:"
            password = b64text(self.line())
        else:
            self.say("504 5.5.4 Unrecognized authentication type")
            return
        if user is None or password is None:
            self.say("501 5.5.2 Cannot decode the response")
        elif srv.user is not None and (user != srv.user or password != srv.password):
            self.say("535 5.7.8 Authentication credentials invalid")
        else:
            self.user = user
            self.say("235 2.7.0 Authentication successful")

    def data(self, srv):
        self.say("354 End data with <CR><LF>.<CR><LF>")
        chunks, size, over, at_start = [], 0, False, True
        while True:
            raw = self.rfile.readline(MAX_LINE + 1)
            if not raw:
                raise EOFError
            if at_start and raw in (b".\r\n", b".\n"):
                break
            if at_start and raw.startswith(b"."):
                raw = raw[1:]
            at_start = raw.endswith(b"\n")   # a longer line comes in pieces
            size += len(raw)
            if size > MAX_MESSAGE:
                over = True
            elif not over:
                chunks.append(raw)
        faults = read_faults(srv.folder)
        if "delay" in faults:
            time.sleep(faults["delay"])
        if over:
            self.say("552 5.3.4 Message too big")
        elif "data" in faults:
            self.say("%d fault: DATA refused" % faults["data"])
        else:
            base = srv.store.keep(self.sender, self.rcpts, self.user, b"".join(chunks))
            self.say("250 2.0.0 OK kept as %s" % os.path.basename(base))
        self.reset()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description="A loopback SMTP server for tests.")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password-file")
    ap.add_argument("--pidfile")
    ap.add_argument("--port-file")
    args = ap.parse_args()
    if (args.user is None) != (args.password_file is None):
        ap.error("--user and --password-file go together")

    os.makedirs(args.dir, exist_ok=True)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.folder = args.dir
    srv.store = Store(args.dir)
    srv.user = args.user
    srv.password = None
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as f:
            srv.password = f.read().rstrip()
    port = srv.server_address[1]
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    print("smtpd: listening on 127.0.0.1:%d; mails go to %s/NNNN.eml (envelope in NNNN.json)"
          % (port, os.path.abspath(args.dir)), flush=True)

    def stop(_sig, _frame):
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever()


if __name__ == "__main__":
    main()
