#!/usr/bin/python3
"""answer_check.py: the checks every answer of fmgate to a hostile request
must pass (tests/attack/common.bash), run once per suite over all its answers.

- The head: "Status: NNN Reason" first; every line ends in CRLF, with no other
  CR or LF and only printable ASCII; "Name: value" lines with names fmgate
  sends; no header twice; Content-Length equal to the body's length.
- An HTML body holds only the tags of fmgate's own pages, without attributes
  (but <meta charset>): no script, no element or attribute from a request.
- stderr: every line is an fmgate log line of printable ASCII; exactly one is
  the request's record (" outcome=").
- No secret (the API key) anywhere; no mark (a value planted in the request)
  in the answer or the log.
"""
import re
import sys

HEADERS = {"status", "location", "content-type", "content-length", "cache-control",
           "x-content-type-options", "vary", "access-control-allow-origin",
           "access-control-allow-methods", "access-control-allow-headers",
           "access-control-max-age", "allow", "retry-after"}
LOG_LINE = re.compile(rb"^fmgate\[[0-9]+\]: (info|warning|error): [\x20-\x7e]*$")
# fmgate's pages use these tags, with no attribute but <meta charset>: any
# other tag or attribute came from somewhere else.
PAGE_TAGS = {b"!doctype", b"html", b"head", b"meta", b"title", b"body", b"h1", b"ul",
             b"li", b"p"}
PAGE_ATTRS = {(b"!doctype", b" html"), (b"meta", b' charset="utf-8"')}
TAG = re.compile(rb"<(/?)([A-Za-z!][A-Za-z0-9]*)([^>]*)>")
HEADER_LINE = re.compile(rb"^([A-Za-z0-9-]+): ([\x20-\x7e]*)$")


def check(out, err, secrets, marks):
    problems = []
    end = out.find(b"\r\n\r\n")
    if end < 0:
        return ["the answer has no blank line ending its head"]
    head, body = out[:end + 2], out[end + 4:]
    lines = head.split(b"\r\n")[:-1]
    seen = {}
    for i, line in enumerate(lines):
        if b"\r" in line or b"\n" in line:
            problems.append("bare CR or LF in header line %r" % line)
            continue
        m = HEADER_LINE.match(line)
        if not m:
            problems.append("header line not printable 'Name: value': %r" % line)
            continue
        name = m.group(1).decode().lower()
        if name not in HEADERS:
            problems.append("unexpected header %r" % line)
        if name in seen and name != "vary":
            problems.append("header %s twice" % name)
        seen[name] = m.group(2)
        if i == 0 and not (name == "status" and re.match(rb"^[1-5][0-9][0-9] [A-Za-z ]+$", m.group(2))):
            problems.append("first line is not a Status: %r" % line)
    if "content-length" in seen and seen["content-length"] != str(len(body)).encode():
        problems.append("Content-Length %r but the body has %d bytes"
                        % (seen["content-length"], len(body)))
    if "content-type" not in seen and body:
        problems.append("a body without a Content-Type")
    if seen.get("content-type", b"").startswith(b"text/html"):
        for m in TAG.finditer(body):
            name, attrs = m.group(2).lower(), m.group(3)
            if name not in PAGE_TAGS or (attrs and (name, attrs) not in PAGE_ATTRS):
                problems.append("HTML answer holds a tag of its own: %r" % m.group(0)[:80])
    records = 0
    for line in err.split(b"\n")[:-1] if err.endswith(b"\n") else err.split(b"\n"):
        if not LOG_LINE.match(line):
            problems.append("stderr line is not a clean log line: %r" % line[:200])
        if b" outcome=" in line:
            records += 1
    if records != 1:
        problems.append("%d request records in the log, want 1" % records)
    for s in secrets:
        for what, data in (("answer", out), ("log", err)):
            if s and s.encode() in data:
                problems.append("a secret (the API key) is in the %s" % what)
    for mk in marks:
        for what, data in (("answer", out), ("log", err)):
            if mk and mk.encode() in data:
                problems.append("request value %r reached the %s" % (mk, what))
    return problems


def main(argv):
    """answer_check.py INDEX [--secret S]...: INDEX has a line per answer,
    "BASE<TAB>DESC[<TAB>MARK]...", the answer in BASE.out and its stderr in
    BASE.err. Prints "ok DESC" or "not ok DESC: problem" lines."""
    secrets = [argv[i + 1] for i in range(2, len(argv) - 1, 2) if argv[i] == "--secret"]
    bad = 0
    with open(argv[1], encoding="utf-8", errors="replace") as index:
        for entry in index:
            base, desc, *marks = entry.rstrip("\n").split("\t")
            with open(base + ".out", "rb") as f:
                out = f.read()
            with open(base + ".err", "rb") as f:
                err = f.read()
            problems = check(out, err, secrets, marks)
            for p in problems:
                print("not ok %s: %s" % (desc, p))
            if not problems:
                print("ok %s" % desc)
            bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
