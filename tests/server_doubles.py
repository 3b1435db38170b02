"Test helpers (not tests) shared by the server tests: a test-double upstream HTTP server, and asking until the cache answers."
import threading
from contextlib import contextmanager
from http.server import ThreadingHTTPServer


@contextmanager
def upstream_double(handler):  # a `BaseHTTPRequestHandler` subclass playing an OpenAI-compatible server
    "Serve `handler` on a free loopback port in a thread: the base URL (`.../v1`) while the block runs."
    srv = ThreadingHTTPServer(('127.0.0.1', 0), handler); srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try: yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally: srv.shutdown(); srv.server_close()


def cached_answer(c, question: str) -> dict:
    "POST /query on TestClient `c` until the answer comes from the cache (the first is written back off the request path)."
    for _ in range(3):
        r = c.post('/query', json={'query': question}).json()
        if r['cached']: return r
        c.app.state.ruvllm.llm.flush()
    raise AssertionError(f"never served from the cache: {r}")
