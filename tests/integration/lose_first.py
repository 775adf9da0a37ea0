#!/usr/bin/env python3
"""A TCP relay that loses its first connection's answer, for the proxy's fault tests.

On a saturated link a lost segment can hold one request for many seconds while a new
connection gets through. This relay stands in for that link: the first connection is accepted,
its request read and never answered; every later one is relayed to the target unchanged.
Prints "held" and "relayed N" lines as it goes. Usage: lose_first.py LISTEN_PORT TARGET_PORT
"""
import socket
import sys
import threading

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])


def pump(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    server = socket.create_server(("127.0.0.1", listen_port))
    held, relayed = [], 0
    print("listening", flush=True)
    while True:
        client, _ = server.accept()
        if not held:
            held.append(client)  # kept open, never answered
            print("held", flush=True)
            continue
        upstream = socket.create_connection(("127.0.0.1", target_port))
        relayed += 1
        print("relayed", relayed, flush=True)
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


main()
