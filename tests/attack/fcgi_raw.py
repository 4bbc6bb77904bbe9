#!/usr/bin/python3
"""A hostile FastCGI client for tests/attack/17-hold.sh.

fcgi_raw.py PORT big BYTES
    A responder's begin record, then the parameters: PATH_INFO, then one
    parameter (HTTP_X_BIG) whose value is BYTES long, streamed in records of
    at most 65535 bytes. Prints "sent N" (the bytes that went out before the
    server closed or the end) and "answer LINE" (the first line of the
    FastCGI stdout, or "answer none" when the connection closed without one).
fcgi_raw.py PORT mgmt
    An FCGI_GET_VALUES management record instead of a request: the same
    two lines.
fcgi_raw.py PORT slow MS
    A begin record, MS milliseconds of nothing, then the parameters of a
    post of 100 bytes (JSON wanted), of which no byte follows. Prints the
    answer line and "ms N", the time from the connect to the answer.
fcgi_raw.py PORT linger
    A whole GET request; once its answer is in, one byte every 200 ms for
    at most 30 s. Prints "answered" once the answer is in, then the answer
    line and "ms N", the time from the answer to the server's close (seen by
    a failing send: up to 400 ms late).
fcgi_raw.py PORT keep
    Two GET requests on one connection with FCGI_KEEP_CONN, then nothing.
    Prints each answer line and "ms N", the time from the second answer to
    the server's close.
fcgi_raw.py PORT padbegin
    A begin record padded with 8 bytes that libfcgi 2.4 takes for the header
    of a 65535-byte parameters record, then what fmgate would see as a whole
    head, whose bytes libfcgi reads as a pair declaring a 252 MB name; then
    65535-byte records for at most 3 s. Prints "sent N", the answer line and
    "ms N", the time from the connect to the server's close.
fcgi_raw.py PORT padtrickle
    A begin record padded with a header libfcgi takes for a 2-byte parameters
    record, which makes libfcgi refuse the head that follows; then one byte
    every 500 ms for at most 10 s. Prints "ms N", the time from the connect
    to the server's close (seen by a failing send: up to 1 s late).
fcgi_raw.py PORT keepslow IDLE_MS
    With FCGI_KEEP_CONN: a GET, IDLE_MS of nothing, then the head of a post
    (JSON wanted) whose body follows 300 ms later. Prints both answer lines.
fcgi_raw.py PORT keepleft BYTES
    With FCGI_KEEP_CONN: a post of a BYTES-long body to a form that does not
    exist, then a GET. Prints both answer lines ("none" when the connection
    closed without one).
fcgi_raw.py PORT halfclose
    A begin record and 2 bytes of the next header, then the end of what
    it sends (shutdown of its writing side). Prints the answer line and "ms N",
    the time from the connect to the server's close.
fcgi_raw.py PORT xff BODY ADDR...
    A post of the urlencoded BODY (JSON wanted) from REMOTE_ADDR 10.0.0.1 with one
    HTTP_X_FORWARDED_FOR parameter per ADDR, in order, as nginx before 1.23
    passes repeated header lines. Prints the answer line.
Every socket operation times out after 20 s.
"""
import socket
import struct
import sys
import time

BEGIN, PARAMS, STDIN, STDOUT, GET_VALUES = 1, 4, 5, 6, 9


def record(rtype, content, rid=1, pad=b'', reserved=0):
    return struct.pack('>BBHHBB', 1, rtype, rid, len(content), len(pad), reserved) + content + pad


def begin(keep=0, pad=b''):
    return record(BEGIN, struct.pack('>HB5x', 1, keep), pad=pad)


def pair(name, value_len):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack('>I', n | 0x80000000)
    return length(len(name)) + length(value_len) + name


def send_all(s, chunks):
    sent = 0
    try:
        for c in chunks:
            s.sendall(c)
            sent += len(c)
    except OSError:
        pass
    return sent


def big(size):
    yield record(BEGIN, struct.pack('>HB5x', 1, 0))
    yield record(PARAMS, pair(b'PATH_INFO', 8) + b'/contact')
    head = pair(b'HTTP_X_BIG', size)
    first = 65535 - len(head)
    yield record(PARAMS, head + b'x' * min(first, size))
    left = size - min(first, size)
    while left > 0:
        n = min(65535, left)
        yield record(PARAMS, b'x' * n)
        left -= n
    yield record(PARAMS, b'')
    yield record(STDIN, b'')


def answer(s):
    data = b''
    try:
        while True:
            got = s.recv(65536)
            if not got:
                break
            data += got
    except OSError:
        pass
    return answer_of(data)


def answer_of(data):
    """The first stdout record's first line, or 'none'."""
    while len(data) >= 8:
        _, rtype, _, clen, plen, _ = struct.unpack('>BBHHBB', data[:8])
        if rtype == STDOUT and clen:
            return data[8:8 + clen].split(b'\r\n')[0].decode('latin-1')
        data = data[8 + clen + plen:]
    return 'none'


def params(env):
    return params_of(env.items())


def params_of(items):
    content = b''.join(pair(k.encode(), len(v)) + v.encode() for k, v in items)
    return record(PARAMS, content) + record(PARAMS, b'')


def slow(s, delay_ms):
    start = time.monotonic()
    s.sendall(record(BEGIN, struct.pack('>HB5x', 1, 0)))
    time.sleep(delay_ms / 1000)
    s.sendall(params({'REQUEST_METHOD': 'POST', 'PATH_INFO': '/contact',
                      'CONTENT_TYPE': 'application/x-www-form-urlencoded',
                      'CONTENT_LENGTH': '100', 'HTTP_ACCEPT': 'application/json',
                      'REMOTE_ADDR': '127.0.0.1'}))
    print('answer', answer(s))
    print('ms', int((time.monotonic() - start) * 1000))


def until_end(s):
    """The records up to the FCGI_END_REQUEST, or what came before a close."""
    data = b''
    while b'\x01\x03\x00\x01' not in data:
        got = s.recv(65536)
        if not got:
            break
        data += got
    return data


def keep(s):
    get = params({'REQUEST_METHOD': 'GET', 'PATH_INFO': '/contact', 'REMOTE_ADDR': '127.0.0.1'})
    for _ in range(2):
        s.sendall(record(BEGIN, struct.pack('>HB5x', 1, 1)) + get + record(STDIN, b''))
        print('answer', answer_of(until_end(s)))
    start = time.monotonic()
    print('closed', 'yes' if until_end(s) == b'' else 'no')
    print('ms', int((time.monotonic() - start) * 1000))


def linger(s):
    s.sendall(record(BEGIN, struct.pack('>HB5x', 1, 0)) +
              params({'REQUEST_METHOD': 'GET', 'PATH_INFO': '/contact',
                      'REMOTE_ADDR': '127.0.0.1'}) + record(STDIN, b''))
    data = until_end(s)
    print('answered', flush=True)
    start = time.monotonic()
    end = start + 30
    # The server's shutdown of its side is not its close: a send fails only
    # once the whole connection is gone.
    try:
        while time.monotonic() < end:
            s.sendall(b'x')
            time.sleep(0.2)
    except OSError:
        pass
    print('answer', answer_of(data))
    print('ms', int((time.monotonic() - start) * 1000))


def closed_after(s, start, pause, limit):
    """Sends a byte every pause s until a send fails; the ms since start."""
    try:
        while time.monotonic() - start < limit:
            time.sleep(pause)
            s.send(b'z')
    except OSError:
        pass
    return int((time.monotonic() - start) * 1000)


def padbegin(s):
    start = time.monotonic()
    # fmgate's next record header: libfcgi reads its last byte (0x8f) as
    # the top of a 4-byte name length.
    pairs = b'\x01\x01ab' * 8
    head = (begin(pad=struct.pack('>BBHHBB', 1, PARAMS, 1, 65535, 0, 0)) +
            record(PARAMS, pairs, reserved=0x8f) + record(PARAMS, b''))
    sent = send_all(s, [head, b'y' * (65535 - 48)])
    while time.monotonic() - start < 3 and sent > 0:
        n = send_all(s, [record(PARAMS, b'y' * 65535)])
        if n == 0:
            break
        sent += n
    print('sent', sent)
    print('answer', answer(s))
    print('ms', int((time.monotonic() - start) * 1000))


def padtrickle(s):
    start = time.monotonic()
    s.sendall(begin(pad=struct.pack('>BBHHBB', 1, PARAMS, 1, 2, 0, 0)) +
              record(PARAMS, b'\x01\x01ab') + record(PARAMS, b''))
    print('ms', closed_after(s, start, 0.5, 10))


POST = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/contact', 'REMOTE_ADDR': '127.0.0.1',
        'CONTENT_TYPE': 'application/x-www-form-urlencoded', 'CONTENT_LENGTH': '24',
        'HTTP_ACCEPT': 'application/json'}
GET = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/contact', 'REMOTE_ADDR': '127.0.0.1'}


def keepslow(s, idle_ms):
    s.sendall(begin(1) + params(GET) + record(STDIN, b''))
    print('answer', answer_of(until_end(s)))
    time.sleep(idle_ms / 1000)
    s.sendall(begin(1) + params(POST))
    time.sleep(0.3)
    s.sendall(record(STDIN, b'email=hold%40example.com') + record(STDIN, b''))
    print('answer', answer_of(until_end(s)))


def keepleft(s, size):
    env = dict(POST, PATH_INFO='/nosuchform', CONTENT_LENGTH=str(size))
    body = b''.join(record(STDIN, b'x' * min(8000, size - i)) for i in range(0, size, 8000))
    s.sendall(begin(1) + params(env) + body + record(STDIN, b''))
    print('answer', answer_of(until_end(s)))
    try:
        s.sendall(begin(1) + params(GET) + record(STDIN, b''))
        print('answer', answer_of(until_end(s)))
    except OSError:
        print('answer none')


def xff(s, body, addrs):
    body = body.encode()
    env = list(dict(POST, REMOTE_ADDR='10.0.0.1', CONTENT_LENGTH=str(len(body))).items())
    env += [('HTTP_X_FORWARDED_FOR', a) for a in addrs]
    s.sendall(begin() + params_of(env) + record(STDIN, body) + record(STDIN, b''))
    print('answer', answer(s))


def halfclose(s):
    start = time.monotonic()
    s.sendall(begin() + b'\x01\x04')
    s.shutdown(socket.SHUT_WR)
    print('answer', answer(s))
    print('ms', int((time.monotonic() - start) * 1000))


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    s = socket.create_connection(('127.0.0.1', port), timeout=20)
    if mode == 'slow':
        return slow(s, int(sys.argv[3]))
    if mode == 'linger':
        return linger(s)
    if mode == 'keep':
        return keep(s)
    if mode == 'padbegin':
        return padbegin(s)
    if mode == 'padtrickle':
        return padtrickle(s)
    if mode == 'keepslow':
        return keepslow(s, int(sys.argv[3]))
    if mode == 'halfclose':
        return halfclose(s)
    if mode == 'xff':
        return xff(s, sys.argv[3], sys.argv[4:])
    if mode == 'keepleft':
        return keepleft(s, int(sys.argv[3]))
    if mode == 'big':
        sent = send_all(s, big(int(sys.argv[3])))
    else:
        sent = send_all(s, [record(GET_VALUES, pair(b'FCGI_MAX_CONNS', 0), rid=0)])
    print('sent', sent)
    print('answer', answer(s))


main()
