"""A write-back that fails because the store is away is tried again while the process runs (found by a stress run of
PostgreSQL replicas: after a database restart the acknowledged hand-off stayed in the store until the process was
reopened, and `flush` returned True over it). `write` is a test double that raises `StoreUnavailableError` twice, as
Loop A's write does while PostgreSQL restarts, then writes. Any other failure is still left for the next queue, once."""
import pytest

from ruvllm.embedding import HashingEmbedder
from ruvllm.learning import WriteBackQueue
from ruvllm.memory import Memory
from ruvllm.store import StoreUnavailableError


@pytest.fixture
def mem(tmp_path):
    m = Memory.open(tmp_path / 'm', HashingEmbedder(dim=64))
    yield m
    m.close()


def test_a_batch_the_store_refused_is_written_once_it_is_back(mem, monkeypatch):
    monkeypatch.setattr(WriteBackQueue, 'RETRY_S', 0.05)
    calls = []
    def write_after_an_outage(batch):  # test double for Loop A's write
        calls.append([rid for rid, _ in batch])
        if len(calls) <= 2: raise StoreUnavailableError("test double: the database is restarting")
        return {rid: {f'req:{rid}': b'{"writeback": "done"}'} for rid, _ in batch}
    wq = WriteBackQueue(mem.store, write_after_an_outage)
    try:
        wq.submit('r1', {}, puts={'req:r1': b'{"writeback": "queued"}'})
        assert wq.flush(timeout=10)
        assert calls == [['r1'], ['r1'], ['r1']]  # tried until the store was back, not dropped after the first failure
        assert (wq.written, wq.failed, wq.pending) == (1, 0, 0)
        assert mem.store.kv_keys('wbq:') == [] and mem.store.get('req:r1') == b'{"writeback": "done"}'
    finally: wq.close(timeout=5)


def test_flush_does_not_report_a_refused_batch_written(mem, monkeypatch):
    monkeypatch.setattr(WriteBackQueue, 'RETRY_S', 0.05)
    def always_away(batch): raise StoreUnavailableError("test double: the database is down")
    wq = WriteBackQueue(mem.store, always_away)
    try:
        wq.submit('r2', {})
        assert not wq.flush(timeout=0.5) and wq.pending == 1
    finally: wq.close(timeout=5)
    assert mem.store.kv_keys('wbq:') == ['wbq:0:r2']  # left durable for the next queue on the slot


def test_another_failure_is_left_for_the_next_queue_not_retried(mem):
    calls = []
    def broken(batch): calls.append(1); raise ValueError("test double: a bug")
    wq = WriteBackQueue(mem.store, broken)
    try:
        wq.submit('r3', {})
        assert wq.flush(timeout=5) and (wq.written, wq.failed) == (0, 1) and len(calls) == 1
    finally: wq.close(timeout=5)
    assert mem.store.kv_keys('wbq:') == ['wbq:0:r3']


def test_a_write_back_queued_across_a_database_restart_is_written_without_reopening(tmp_path, caplog):
    """The real case, on its own PostgreSQL server: a request answered, the database stopped before the writer took its
    batch, started again: the live process writes it (before: the hand-off stayed in the store until a reopen)."""
    import json, logging, shutil, tempfile, time
    from ruvllm import Config, RuvLLM
    from ruvllm.pgstore import fresh_database, start_local_postgres, stop_local_postgres
    caplog.set_level(logging.WARNING, logger='ruvllm')
    d = tempfile.mkdtemp(prefix='ruvllm-test-pg-wb-')  # its own server: this test stops it
    try:
        url = fresh_database(start_local_postgres(d))
        cfg = (Config.builder().db_path(tmp_path / 'r').set('memory.store', url).set('memory.pg_timeout_s', 2.0)
               .set('embedding.model', 'hashing').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
               .set('learning.writeback_gather_s', 1.0).build())  # the stop lands before the writer takes the batch
        llm = RuvLLM(cfg, start_scheduler=False)
        try:
            llm.ingest(["Record ab1: the widget wab1q is stored in bin 3 of hall 6."], progress=False)
            r = llm.query("Where is widget wab1q stored?")
            stop_local_postgres(d)
            t0 = time.monotonic()  # until the writer has tried and met the stopped server (before: it gave up there)
            while time.monotonic() - t0 < 30 and not (llm.writes.failed or any('waits for the store' in m for m in caplog.messages)):
                time.sleep(0.1)
            start_local_postgres(d)
            assert llm.flush(timeout=30)
            assert llm.store.kv_keys('wbq:') == [] and json.loads(llm.store.get(f'req:{r.request_id}'))['writeback'] == 'done'
            assert (llm.writes.written, llm.writes.failed) == (1, 0)
        finally: llm.close()
        assert not [m for m in caplog.messages if 'not released cleanly' in m]  # the lock lost with the restart is not released again
    finally:
        try: stop_local_postgres(d)
        except Exception: pass
        shutil.rmtree(d, ignore_errors=True)
