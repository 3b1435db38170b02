"""A stream's answer is recorded once its final event reached the client, even when the client closes at once (found by
a probe: a client that read `/query/stream`'s `response` event, or the chat stream's finish chunk, and closed got the
whole answer, but about half the time the answer was dropped unrecorded, so feedback on its id was a 404; and feedback
sent at once, before the commit that follows the last event, found the id unknown too). A client
that leaves before the final event still cancels, and nothing is recorded (tests/test_server_live.py)."""
import http.client, json, socket

import pytest

from ruvllm.config import Config
from ruvllm.server import ServerProcess

FACTS = ["The Zorblat river flows through Quenby.", "Quenby is the capital of Marsovia."]


def call(port, method, path, body=None):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    c.request(method, path, body=json.dumps(body) if body else None, headers={'Content-Type': 'application/json'})
    r = c.getresponse(); out = (r.status, json.loads(r.read())); c.close()
    return out


def rate(port, rid) -> int:
    "Feedback on `rid` at once: it waits for the answer's commit, which runs just after its last event was sent."
    return call(port, 'POST', '/feedback', {'request_id': rid, 'rating': 5})[0]


def read_until_then_close(port, path, body, marker: bytes) -> str:
    "POST on a raw socket, read until `marker` and the end of its event, then close at once."
    s = socket.create_connection(('127.0.0.1', port)); data = json.dumps(body).encode()
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (path.encode(), len(data)) + data)
    buf = b''
    while not (marker in buf.replace(b'\r', b'') and buf.replace(b'\r', b'').split(marker, 1)[1].count(b'\n\n')):
        got = s.recv(65536); assert got, buf; buf += got
    s.close()
    return buf.decode().replace('\r', '')


def test_an_answer_read_to_its_final_event_is_recorded_though_the_client_closes_at_once(tmp_path):
    cfg = Config.builder().db_path(tmp_path / 'db').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with ServerProcess(cfg) as srv:
        p = srv.port
        assert call(p, 'POST', '/ingest', {'items': FACTS})[0] == 200
        statuses = []
        for _ in range(6):
            buf = read_until_then_close(p, '/query/stream', {'query': 'Where does the Zorblat river flow?', 'constraints': {'no_cache': True}},
                                        b'event: response\ndata: ')
            rid = json.loads(buf.split('event: response\ndata: ', 1)[1].split('\n', 1)[0])['request_id']
            statuses.append(rate(p, rid))
            buf = read_until_then_close(p, '/v1/chat/completions', {'model': 'ruvllm', 'stream': True, 'no_cache': True,
                                        'messages': [{'role': 'user', 'content': 'Where does the Zorblat river flow?'}]}, b'"finish_reason": "stop"')
            cid = json.loads(buf.split('data: ', 1)[1].split('\n', 1)[0])['id']
            statuses.append(rate(p, cid))
        assert statuses == [200] * 12, statuses
        assert call(p, 'GET', '/stats')[1]['queries']['queries'] == 12


def test_feedback_sent_before_a_streamed_answer_is_committed_waits_for_the_commit(tmp_path):
    "The consumer holds the `Response` and has not read on (the commit): feedback on it waits, then counts."
    import threading
    from ruvllm import Feedback, RuvLLM, Response
    cfg = Config.builder().db_path(tmp_path / 'db').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(FACTS, progress=False)
        stream = llm.query_stream("Where does the Zorblat river flow?")
        resp = next(x for x in stream if isinstance(x, Response))  # as a server worker holds it until the event is sent
        out = {}
        t = threading.Thread(target=lambda: out.setdefault('r', llm.feedback(Feedback(resp.request_id, rating=5))), daemon=True)
        t.start(); t.join(0.5)
        assert t.is_alive() and 'r' not in out  # waiting for the commit, not refused as unknown
        for _ in stream: pass  # read on: the commit
        t.join(10)
        assert not t.is_alive() and 'r' in out
        assert llm.record(resp.request_id).feedback['rating'] == 5


def test_feedback_from_the_thread_holding_the_stream_says_to_read_it_to_its_end(tmp_path):
    "Rating inside the loop that reads the stream: the commit cannot run while that thread waits, so it is told, not hung."
    from ruvllm import Feedback, RuvLLM, Response, InvalidInputError
    cfg = Config.builder().db_path(tmp_path / 'db').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(FACTS, progress=False)
        for x in llm.query_stream("Where does the Zorblat river flow?"):
            if isinstance(x, Response):
                with pytest.raises(InvalidInputError, match='read its stream to the end'): llm.feedback(Feedback(x.request_id, rating=5))
                rid = x.request_id
        assert llm.feedback(Feedback(rid, rating=5)) is not None and llm.record(rid).feedback['rating'] == 5
