#!/usr/bin/env python3
"""first_byte.py URL: seconds from sending a GET to receiving the first byte of the body
(not of the headers: a proxy may send headers before it has any data), then reads the rest."""
import http.client
import sys
import time
from urllib.parse import urlsplit

url = urlsplit(sys.argv[1])
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
start = time.monotonic()
conn.request("GET", url.path + ("?" + url.query if url.query else ""))
response = conn.getresponse()
first = response.read(1)
elapsed = time.monotonic() - start
if response.status != 200 or len(first) != 1:
    sys.exit(f"unexpected answer: {response.status}")
while response.read(1 << 20):
    pass
print(f"{elapsed:.4f}")
