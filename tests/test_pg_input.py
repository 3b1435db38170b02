"""The PostgreSQL store when the database misbehaves (real server): the reason a connection failed, a write lock held
too long by another process, and a close after the database dropped every connection (the state is still saved)."""
import time
import psycopg
import pytest

from ruvllm import Config, RuvLLM
from ruvllm.cli import run_cli, EXIT_ERROR
from ruvllm.config import MemoryConfig
from ruvllm.store import StoreUnavailableError
from ruvllm.pgstore import PostgresStore, _WRITE_LOCK
from ruvllm.types import MemoryStoreError


def test_a_failed_open_says_why(pg_server):
    bad = pg_server.rsplit('/', 1)[0] + '/no_such_database_here'
    with pytest.raises(MemoryStoreError, match='does not exist'): PostgresStore(bad, MemoryConfig(pg_timeout_s=1.0))


def test_a_write_lock_held_elsewhere_is_busy_after_the_timeout_not_forever(pg_url):
    st = PostgresStore(pg_url, MemoryConfig(pg_timeout_s=1.0))
    other = psycopg.connect(pg_url)  # a stalled writer in another process: holds the writers' lock in an open transaction
    try:
        other.execute('SELECT pg_advisory_xact_lock(%s)', (_WRITE_LOCK,))
        t0 = time.monotonic()
        with pytest.raises(StoreUnavailableError, match='another process has held its write lock'):
            with st.tx(): pass
        assert time.monotonic() - t0 < 10
    finally: other.rollback(); other.close()
    with st.tx(): pass  # and it writes once the lock is free
    st.close()


def _cfg(tmp_path, url):
    return (Config.builder().db_path(tmp_path / 'd').set('memory.store', url).set('inference.tiers', {'tiny': 'extractive'})
            .set('router.safe_tier', 'tiny').build())


def test_close_after_the_database_dropped_every_connection_still_saves(tmp_path, pg_url):
    llm = RuvLLM(_cfg(tmp_path, pg_url), start_scheduler=False)
    llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
    for _ in range(3): llm.query("Which river flows through Quenby?")
    llm.flush()
    with psycopg.connect(pg_url, autocommit=True) as admin:  # as a database restart does: every other connection ends, the write-back slot's lock with it
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    for _ in range(2):
        try: llm.query("Which river flows through Quenby?")
        except StoreUnavailableError: pass  # a connection the pool had not yet found dead
    llm.close()  # used to raise from the slot's unlock, before saving anything
    with RuvLLM(_cfg(tmp_path, pg_url), start_scheduler=False) as again: assert again.stats()['queries']['queries'] >= 3


def test_migrate_refuses_a_url_that_is_not_postgresql(tmp_path, cli_argv):
    argv = cli_argv('[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n')
    (tmp_path / 'a.txt').write_text('A fact.\n')
    assert run_cli([*argv, 'ingest', '--no-progress', str(tmp_path / 'a.txt')])[0] == 0
    code, out, err = run_cli([*argv, 'migrate', str(tmp_path / 'data'), 'postgresql:/127.0.0.1/typo'])
    assert code == EXIT_ERROR and 'not a postgresql:// one' in err and not (tmp_path / 'postgresql:').exists(), (code, out, err)


def test_a_live_queue_takes_its_slot_again_after_the_database_dropped_it(tmp_path, pg_url):
    a = RuvLLM(_cfg(tmp_path / 'a', pg_url), start_scheduler=False)
    try:
        assert a.writes.slot == 0
        with psycopg.connect(pg_url, autocommit=True) as admin:  # a restart: every session lock ends with its connection
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        deadline = time.monotonic() + 10
        while not a.store.holds('writeback-0') and time.monotonic() < deadline: time.sleep(0.2)  # the idle writer checks every second
        with RuvLLM(_cfg(tmp_path / 'b', pg_url), start_scheduler=False) as b:
            assert b.writes.slot == 1  # not the live queue's slot (it used to take 0 and replay a's hand-offs)
        assert a.writes.slot == 0 and a.store.holds('writeback-0')
    finally: a.close()


@pytest.mark.parametrize('ddl', ["CREATE TABLE meta (k text, v text)",
                                 "CREATE TABLE meta (key text, value text); INSERT INTO meta VALUES ('owner', 'another app')",
                                 "CREATE TABLE meta (key text, value text); INSERT INTO meta VALUES ('schema_version', 'abc'), ('store_id', 'x')"])
def test_another_applications_meta_table_is_named_as_that(pg_url, ddl):
    with psycopg.connect(pg_url, autocommit=True) as c:
        for stmt in ddl.split('; '): c.execute(stmt)
    with pytest.raises(MemoryStoreError, match="holds a table 'meta' that is not ruvllm's"): PostgresStore(pg_url, MemoryConfig(pg_timeout_s=2.0))


def test_a_nul_character_is_refused_before_postgresql_sees_it(tmp_path, pg_url):
    """Found by a probe: on a PostgreSQL store a query holding a NUL was answered, then its queued write-back failed on
    every open and feedback on it was a server error (PostgreSQL's text and JSON refuse NUL; SQLite keeps it). Now it is
    refused where it enters, naming the field, and the memory goes on: what came before is written back and rated."""
    from ruvllm.types import Feedback, InvalidInputError
    with RuvLLM(_cfg(tmp_path, pg_url), start_scheduler=False) as llm:
        llm.ingest(["Quorvane was founded by Ada Lind."], progress=False)
        ok = llm.query("Who founded Quorvane?")
        for bad, what in [(lambda: llm.query("Who founded\x00 Quorvane?"), 'query contains a NUL character'),
                          (lambda: llm.ingest(["Part one\x00part two."], progress=False), 'contains a NUL character'),
                          (lambda: llm.ingest([{'text': 'ok', 'metadata': {'speaker': 'Ann\x00'}}], progress=False), r"\['speaker'\] contains a NUL"),
                          (lambda: llm.feedback(Feedback(ok.request_id, correction="Ada\x00 Lind")), 'correction contains a NUL')]:
            with pytest.raises(InvalidInputError, match=what): bad()
        llm.flush()
        assert llm.feedback(Feedback(ok.request_id, rating=5))
    with RuvLLM(_cfg(tmp_path, pg_url), start_scheduler=False) as again:
        st = again.stats()
        assert st['queries']['queries'] == 1 and st['memory']['nodes'] >= 1


def test_a_replica_directory_opened_without_its_store_names_the_setting(tmp_path, pg_url):
    "(A probe of replicas) an operator's slip: the message blamed a missing memory.sqlite and offered to move the index away."
    cfg = Config.builder().db_path(tmp_path / 'rep').set('memory.store', pg_url).set('inference.tiers', {'tiny': 'extractive'}).build()
    with RuvLLM(cfg) as llm: llm.ingest(["The Orvik ferry leaves at 9:15."], progress=False)
    code, out, err = run_cli(['--db', str(tmp_path / 'rep'), '--set', 'inference.tiers={tiny = "extractive"}', 'stats'])
    assert code == EXIT_ERROR and 'postgresql store' in err and 'memory.store is not set here' in err, err
    assert not (tmp_path / 'rep' / 'memory.sqlite').exists()  # nothing was made
