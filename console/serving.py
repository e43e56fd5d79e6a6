"""How run.py (and the benchmark's reference server) serve Flask-SocketIO in each async mode."""

from __future__ import annotations

import gc
import json
import socket

# The Server header werkzeug (threading) and eventlet send (gevent sends none): no software or
# version to look up; they sent "Werkzeug/3.1.x Python/3.11.x" and "BaseHTTP/0.6 Python/3.11.x".
SERVER_BANNER = "hotline-console"


def _nodelay(sock) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


def server_options(mode: str) -> dict:
    """socketio.run() options: Nagle's algorithm off on every accepted connection, and a
    Server header (SERVER_BANNER) that names no version in the modes that send one.

    gevent's pywsgi writes a response's headers and body in two sends and never sets
    TCP_NODELAY, so on a keep-alive connection the body waited for the client's delayed ACK
    (~40 ms on Linux); back-to-back Socket.IO pushes to one console waited the same way.
    """
    if mode == "gevent":
        from gevent.pywsgi import WSGIHandler

        class Handler(WSGIHandler):
            def handle(self):
                _nodelay(self.socket)
                return super().handle()

        return {"handler_class": Handler}
    if mode == "eventlet":
        from eventlet.wsgi import HttpProtocol

        class Protocol(HttpProtocol):
            def setup(self):
                _nodelay(self.request)
                super().setup()

            def version_string(self):
                return SERVER_BANNER

        return {"protocol": Protocol}
    from werkzeug.serving import WSGIRequestHandler

    class RequestHandler(WSGIRequestHandler):
        disable_nagle_algorithm = True

        def version_string(self):
            return SERVER_BANNER

    return {"request_handler": RequestHandler}


class Utf8Json:
    """The JSON module Socket.IO packets are written with: Thai text goes out as UTF-8.

    The standard library escapes every Thai letter as \\uXXXX (6 bytes instead of 3), which
    made an incident event ~15% larger (1,260 bytes against 1,098), sent once per console.
    """

    @staticmethod
    def dumps(obj, **kwargs) -> str:
        return json.dumps(obj, ensure_ascii=False, **kwargs)

    loads = staticmethod(json.loads)


def without_websocket_compression(wsgi_app):
    """Refuse the per-message deflate a browser offers when it opens a websocket.

    simple-websocket (threading, gevent) and eventlet accept it whenever it is offered, and
    then deflate every event once per console with a zlib stream kept per connection: at 500
    consoles that was half the server's CPU (py-spy) and ~150 KiB of memory a console, to save
    a few hundred bytes of a ~1 KB event. Removing the offer from the handshake leaves the
    connection uncompressed; nothing else changes.
    """

    def app(environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return app


def freeze_startup_objects() -> None:
    """Move everything the app built at startup out of the garbage collector's sight.

    A full collection walked ~150,000 startup objects (modules, mappers, the gazetteer,
    catalogs) and stopped the whole process for ~100 ms each time, a pause every console
    then saw as a late event. Frozen objects are never freed, so only call this once,
    after create_app() and before serving.
    """
    gc.collect()
    gc.freeze()


def close_abandoned_transports(eio) -> None:
    """Close the TCP connection of a websocket engine.io has given up on.

    When a console stops answering pings (it stopped reading: its tab froze, its network
    dropped without a FIN), engine.io marks the socket closed and stops sending to it, but the
    transport stays open: under gevent and threading (simple-websocket) its reader waits in
    recv() with no timeout and its writer may be stuck in send() on a full kernel buffer, so the
    handler never returns and the connection (fd, kernel buffers, two greenlets) is held for
    good. engine.io means to bound this with a socket timeout but looks for the socket where
    only eventlet keeps it.

    Every websocket handler is wrapped: once engine.io closes that socket (ping timeout,
    server-side disconnect), the handler has `ping_timeout` seconds to finish on its own (a
    live client answers the CLOSE packet); otherwise the connection is shut down, which wakes
    the blocked recv() and send(), and the handler ends as if the client had gone.
    """
    base = eio._async.get("websocket")
    if base is None or getattr(base, "closes_abandoned", False):
        return

    class Bounded(base):
        closes_abandoned = True

        def __init__(self, handler, server, *args, **kwargs):
            super().__init__(_bounded_handler(handler, server), server, *args, **kwargs)

    # NOTE: a new dict on this server only (the driver module's dict is shared).
    eio._async = {**eio._async, "websocket": Bounded}


def _raw_socket(ws):
    """The TCP socket under a websocket object of any async mode (None: not found)."""
    inner = getattr(ws, "ws", None)  # simple-websocket (threading, gevent)
    if inner is not None and getattr(inner, "sock", None) is not None:
        return inner.sock
    return getattr(ws, "socket", None) or getattr(ws, "_sock", None)  # eventlet, others


def _bounded_handler(handler, server):
    eio_socket = getattr(handler, "__self__", None)

    def bounded(ws):
        sock = _raw_socket(ws)
        if eio_socket is None or sock is None:
            return handler(ws)
        state = {"running": True, "scheduled": False}
        close = eio_socket.close

        def shut_down_later():
            server.sleep(server.ping_timeout)
            if state["running"]:
                server.logger.info("%s: transport still open after close, shutting it down",
                                   eio_socket.sid)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def closing(*args, **kwargs):
            result = close(*args, **kwargs)
            if state["running"] and not state["scheduled"]:
                state["scheduled"] = True
                server.start_background_task(shut_down_later)
            return result

        eio_socket.close = closing
        try:
            return handler(ws)
        finally:
            state["running"] = False

    return bounded
