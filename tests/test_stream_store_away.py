"""A stream asked while the PostgreSQL memory is away is refused before any text (real server, stopped and started).
Its record is committed after its text, so it used to send the whole answer and then an error (a probe of replicas,
lead30: 11 of 11 streams during an outage; the answer was never recorded and its id unknown afterwards), while `query`
is refused with the store's error (a 503 through the server). The server's `/health` says so too (it said `ok`)."""
import time
from pathlib import Path
import pytest

from ruvllm import Config, Feedback, RuvLLM
from ruvllm.store import StoreUnavailableError
from ruvllm.pgstore import fresh_database, start_local_postgres, stop_local_postgres


def test_a_stream_is_refused_before_any_text_while_the_store_is_away(own_server, tmp_path):
    d, server = own_server
    cfg = (Config.builder().db_path(str(tmp_path / 'r')).set('memory.store', fresh_database(server))
           .set('memory.pg_timeout_s', 1.0).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('system.warm_up', False).set('cache.enabled', False).build())
    llm = RuvLLM(cfg, start_scheduler=False)
    try:
        llm.ingest(["The Vetra zoo has 40 elephants."], progress=False)
        llm.query("How many elephants does the Vetra zoo have?")  # warm: what retrieval reads from the store once is read
        stop_local_postgres(d)
        for _ in range(2):
            s = llm.query_stream("How many elephants does the Vetra zoo have?")
            with pytest.raises(StoreUnavailableError): next(s)  # used to give the answer's text first
            s.close()
        start_local_postgres(d)
        for _ in range(40):  # the store finds the server back within about a second
            try: s = llm.query_stream("How many elephants does the Vetra zoo have?"); events = list(s); break
            except StoreUnavailableError: time.sleep(0.1)
        assert '40' in ''.join(e for e in events if isinstance(e, str)) and s.response is not None
        assert llm.feedback(Feedback(s.request_id, rating=5)) is not None  # recorded, so it can be rated
    finally:
        llm.close()
        if not Path(d, 'data', 'postmaster.pid').exists(): start_local_postgres(d)


def test_health_answers_503_while_the_store_is_away(own_server, tmp_path):
    "A load balancer reads `/health`: through an outage it said `ok`, and sent every query to a replica that refused them all."
    from fastapi.testclient import TestClient
    from ruvllm.server import create_app
    d, server = own_server
    cfg = (Config.builder().db_path(str(tmp_path / 'h')).set('memory.store', fresh_database(server))
           .set('memory.pg_timeout_s', 1.0).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('system.warm_up', False).build())
    try:
        with TestClient(create_app(cfg, autosave_s=0)) as c:
            h = c.get('/health'); assert (h.status_code, h.json()['status'], h.json()['store']) == (200, 'ok', 'ok')
            stop_local_postgres(d)
            h = c.get('/health')
            assert h.status_code == 503 and h.json()['status'] == 'store unavailable' and 'PostgreSQL' in h.json()['store']
            start_local_postgres(d)
            for _ in range(40):  # back within about a second
                if (h := c.get('/health')).status_code == 200: break
                time.sleep(0.1)
            assert h.json()['status'] == 'ok'
    finally:
        if not Path(d, 'data', 'postmaster.pid').exists(): start_local_postgres(d)
