"""A loopback TCP relay that counts the bytes a server sends: the browser's bytes on the wire.

The browser talks to the relay, the relay to gunicorn. Whatever the browser's own
accounting misses (a service worker's script fetch, say), these counts cannot.
"""

import socket
import threading


class CountingProxy:
    """Relay 127.0.0.1:<port> to 127.0.0.1:<target>, counting bytes in each direction."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.to_client = 0
        self.to_server = 0
        self.connections = 0
        self.closed = False
        threading.Thread(target=self.accept_loop, name="counting-proxy", daemon=True).start()

    def accept_loop(self) -> None:
        """Accept browser connections and relay each to the server."""
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.relay, args=(client,), daemon=True).start()

    def relay(self, client: socket.socket) -> None:
        """Relay one browser connection both ways, then close both ends."""
        with client, socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
            with self.lock:
                self.connections += 1
            upload = threading.Thread(target=self.pump, args=(client, upstream, "to_server"), daemon=True)
            upload.start()
            self.pump(upstream, client, "to_client")
            upload.join()

    def pump(self, source: socket.socket, sink: socket.socket, counter: str) -> None:
        """Copy bytes one way until the source closes, adding them to a counter."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                with self.lock:
                    setattr(self, counter, getattr(self, counter) + len(data))
        except OSError:
            pass
        # Pass the end on both ways, so the other direction's pump ends too.
        for sock in (sink, source):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def take(self) -> dict:
        """Return the counts since the last call, and start counting afresh."""
        with self.lock:
            counts = {"to_client": self.to_client, "to_server": self.to_server, "connections": self.connections}
            self.to_client = self.to_server = self.connections = 0
        return counts

    def close(self) -> None:
        """Stop accepting connections."""
        self.closed = True
        self.listener.close()
