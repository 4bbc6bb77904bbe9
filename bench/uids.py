#!/usr/bin/python3
"""uids.py KEYFILE OUT.lua COUNT: signed userIds for the benchmark's posts.

Writes a 32-byte hex key to KEYFILE (mode 0600) and, to OUT.lua, a Lua chunk
returning COUNT values "bench-N.HMAC" (HMAC-SHA256 of the id under the key, as
a site's own code would sign them), percent-encoding nothing: ids and hex
are plain ASCII. Prints one of them (for a check with curl).
"""
import hashlib
import hmac
import os
import secrets
import sys

key_path, out_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
key = secrets.token_hex(32).encode()
fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, key + b"\n")
os.close(fd)
ids = []
for i in range(count):
    uid = "bench-%d" % i
    ids.append("%s.%s" % (uid, hmac.new(key, uid.encode(), hashlib.sha256).hexdigest()))
with open(out_path, "w") as out:
    out.write("return {\n")
    out.write(",\n".join('"%s"' % v for v in ids))
    out.write("\n}\n")
print(ids[0])
