"""A SQLite memory whose file is removed under a running process, or whose disk refuses a write: every write after that
is refused with a message naming why (503 through the server, `/health` unhealthy), none is acknowledged and lost, and
writes acknowledged before stay. (A probe on 7 December: after `rm -rf` of the data directory under `ruvllm serve`,
ingest, query and feedback all answered 200, `/health` said ok, and after the restart memory held nothing.)"""
import shutil
import pytest
from fastapi.testclient import TestClient

from ruvllm.config import Config
from ruvllm.orchestrator import RuvLLM
from ruvllm.server import create_app
from ruvllm.store import StoreUnavailableError


def _cfg(path):
    return (Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
            .set('learning.enabled', False).build())


def test_removed_directory_refuses_every_write(tmp_path):
    d = tmp_path / 'data'
    app = create_app(_cfg(d), autosave_s=0)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.post('/ingest', json={'items': ['The Frindle tower is 40 metres tall.']}).status_code == 200
        assert c.get('/health').json()['status'] == 'ok'
        shutil.rmtree(d)
        r = c.post('/ingest', json={'items': ['The Grommet bridge is 12 metres long.']})
        assert r.status_code == 503 and r.json()['error']['type'] == 'store_unavailable', r.text
        assert 'removed or replaced while in use' in r.json()['error']['message']
        assert c.post('/query', json={'query': 'How tall is the Frindle tower?'}).status_code == 503  # its record could not be kept
        h = c.get('/health')
        assert h.status_code == 503 and 'removed or replaced' in h.json()['store'], h.text


def test_a_full_disk_refuses_then_recovers_and_keeps_what_was_acknowledged(tmp_path):
    d = tmp_path / 'data'
    with RuvLLM(_cfg(d), start_scheduler=False) as llm:
        kept = llm.ingest(['The Frindle tower is 40 metres tall.'], progress=False)
        pages = llm.store.db.execute('PRAGMA page_count').fetchone()[0]
        llm.store.db.execute(f'PRAGMA max_page_count={pages}')  # SQLite's own "database or disk is full" from here on
        with pytest.raises(StoreUnavailableError, match='cannot be written .*full'):
            llm.ingest(['The Grommet bridge is 12 metres long. ' * 400], progress=False)
        assert 'full' in llm.store.disk_error  # what /health reports until the disk takes a write again
        assert all('Grommet' not in h.node.text for h in llm.memory.search('Grommet bridge', k=3))  # refused: not in memory either
        llm.store.db.execute('PRAGMA max_page_count=1073741823')  # room again: a one-row write probe finds it, with no other write
        assert llm.store.write_problem() is None and llm.store.disk_error is None
        again = llm.ingest(['The Grommet bridge is 12 metres long.'], progress=False)
    with RuvLLM(_cfg(d), start_scheduler=False) as llm:  # reopened: what was acknowledged is there
        texts = {n.text for n in llm.memory.get_many(kept + again).values()}
        assert texts == {'The Frindle tower is 40 metres tall.', 'The Grommet bridge is 12 metres long.'}


def test_a_stream_is_refused_before_any_text_once_the_file_is_gone(tmp_path):
    d = tmp_path / 'data'
    llm = RuvLLM(_cfg(d), start_scheduler=False)
    try:
        llm.ingest(['The Vetra zoo has 40 elephants.'], progress=False)
        shutil.rmtree(d)
        s = llm.query_stream('How many elephants does the Vetra zoo have?')
        with pytest.raises(StoreUnavailableError, match='removed or replaced'): next(s)  # its record could never be kept
        s.close()
    finally:
        try: llm.close()
        except StoreUnavailableError: pass  # its state cannot be saved either: said, not hidden


def test_a_relative_path_survives_a_change_of_directory(tmp_path, monkeypatch):
    "The identity check stats the file it opened, not whatever a relative path names after a chdir (a review finding)."
    from ruvllm.store import SQLiteStore
    monkeypatch.chdir(tmp_path)
    st = SQLiteStore('rel.sqlite')
    monkeypatch.chdir('/')
    with st.tx(): st.db.execute("INSERT INTO meta VALUES ('after_chdir', '1')")
    assert st.write_problem() is None
    st.close()
