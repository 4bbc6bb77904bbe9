#!/usr/bin/python3
"""burst.py: sends form posts to a FastCGI socket as fast as it can, for the
crash test (tests/spool/05-crash.sh) and the several-hosts test
(tests/spool/11-hosts.sh). Standard library only.

Usage: burst.py SOCKET USERS FIRST LAST THREADS [PREFIX]

Round r (FIRST to LAST) posts version r of every user (first=vR, uid=PREFIX-N,
PREFIX "c" unless given; tests/spool/11-hosts.sh gives each host its own); a
round starts when the previous one has ended, so one user's versions are sent
one after another. Prints one line per post: "USER VERSION STATUS", STATUS 0 when no
complete answer came (the worker was killed, the connection dropped).
"""

import socket
import struct
import sys
import threading

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def record(rtype, content, req_id=1):
    return struct.pack(">BBHHBB", 1, rtype, req_id, len(content), 0, 0) + content


def pair(name, value):
    out = b""
    for part in (name, value):
        n = len(part)
        out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name + value


def post(path, body):
    """Status of one POST /contact, 0 when no complete answer came."""
    params = {
        "REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)), "PATH_INFO": "/contact",
        "SCRIPT_NAME": "/forms", "REMOTE_ADDR": "127.0.0.1",
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
    }
    payload = b"".join(pair(k.encode(), v.encode()) for k, v in params.items())
    msg = (record(FCGI_BEGIN, struct.pack(">HB5x", 1, 0)) + record(FCGI_PARAMS, payload)
           + record(FCGI_PARAMS, b"") + record(FCGI_STDIN, body) + record(FCGI_STDIN, b""))
    out = b""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(20)
            s.connect(path)
            s.sendall(msg)
            buf = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return 0
                buf += chunk
                while len(buf) >= 8:
                    _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
                    if len(buf) < 8 + clen + plen:
                        break
                    content = buf[8:8 + clen]
                    buf = buf[8 + clen + plen:]
                    if rtype == FCGI_STDOUT:
                        out += content
                    elif rtype == FCGI_END:
                        head = out.split(b"\r\n", 1)[0]
                        if head.startswith(b"Status: "):
                            return int(head[8:11])
                        return 0
    except (OSError, ValueError):
        return 0


def main():
    path, users, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[5])
    first, last = int(sys.argv[3]), int(sys.argv[4])
    prefix = sys.argv[6] if len(sys.argv) > 6 else "c"
    barrier = threading.Barrier(threads)
    lock = threading.Lock()
    lines = []

    def work(t):
        for r in range(first, last + 1):
            for u in range(t, users, threads):
                body = ("email=%s-%d%%40example.com&uid=%s-%d&company=Acme&first=v%d"
                        % (prefix, u, prefix, u, r)).encode()
                status = post(path, body)
                with lock:
                    lines.append("%s-%d %d %d" % (prefix, u, r, status))
            barrier.wait()

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
