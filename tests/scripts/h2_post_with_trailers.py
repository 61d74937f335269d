"""Sends one HTTP/2 (h2c) form POST whose body is followed by trailers; prints the status.

Usage: h2_post_with_trailers.py HOST:PORT CLIENT_IP BODY
Used by the e2e tests: with trailers, the last body chunk does not end the stream, which is the
case a WAF that judges bodies at end-of-stream must not miss.
"""
import socket
import sys

import h2.config
import h2.connection
import h2.events

host, port = sys.argv[1].rsplit(":", 1)
client_ip, body = sys.argv[2], sys.argv[3].encode()
sock = socket.create_connection((host, int(port)), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sock.sendall(conn.data_to_send())
headers = [
    (":method", "POST"), (":path", "/login"), (":scheme", "http"), (":authority", "example"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("accept-language", "en-US,en;q=0.9"), ("accept-encoding", "gzip, deflate, br"),
    ("content-type", "application/x-www-form-urlencoded"), ("x-forwarded-for", client_ip),
]
conn.send_headers(1, headers)
conn.send_data(1, body)
conn.send_headers(1, [("x-checksum", "0")], end_stream=True)
sock.sendall(conn.data_to_send())
status = None
while status is None:
    data = sock.recv(65535)
    if not data:
        break
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            status = dict(event.headers)[b":status"].decode()
    sock.sendall(conn.data_to_send())
print(status)
