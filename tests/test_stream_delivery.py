"""A stream's answer is recorded once its final event reached the client, even when the client closes at once (found by
a probe: a client that read `/query/stream`'s `response` event, or the chat stream's finish chunk, and closed got the
whole answer, but about half the time the answer was dropped unrecorded, so feedback on its id stayed a 404). A client
that leaves before the final event still cancels, and nothing is recorded (tests/test_server_live.py)."""
import http.client, json, socket, time

from ruvllm.config import Config
from ruvllm.server import ServerProcess

FACTS = ["The Zorblat river flows through Quenby.", "Quenby is the capital of Marsovia."]


def call(port, method, path, body=None):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    c.request(method, path, body=json.dumps(body) if body else None, headers={'Content-Type': 'application/json'})
    r = c.getresponse(); out = (r.status, json.loads(r.read())); c.close()
    return out


def rate(port, rid, within_s: float = 3.0) -> int:
    "Feedback on `rid`, asked again while it is unknown: the answer is committed just after its last event is sent."
    t0 = time.monotonic()
    while (status := call(port, 'POST', '/feedback', {'request_id': rid, 'rating': 5})[0]) == 404 and time.monotonic() - t0 < within_s:
        time.sleep(0.05)
    return status


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
