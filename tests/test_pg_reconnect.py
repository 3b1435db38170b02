"""PostgreSQL back after an outage (real server): the store works again at the next operation, not when psycopg_pool's
reconnect backoff (doubling after each failed attempt, up to 300 s) next fires; a session lock held through the outage
is still held after the store replaced its pool."""
import time
from pathlib import Path
import psycopg
import pytest

from ruvllm.config import MemoryConfig
from ruvllm.store import StoreUnavailableError
from ruvllm.pgstore import PostgresStore, fresh_database, start_local_postgres, stop_local_postgres



def _wait_for_failed_reconnects(store, n: int, limit: float = 20.0):
    "Wait until the pool failed to connect `n` times in all (each of its reconnect attempts waits 1, 2, 4, ... s after a failure)."
    deadline = time.monotonic() + limit
    while (errors := store.pool.get_stats().get('connections_errors', 0)) < n:
        assert time.monotonic() < deadline, f"the pool failed {errors} connection attempts in {limit} s, expected {n}"
        time.sleep(0.05)


def _read(st): return st.get('k')
def _write(st):
    with st.tx(): st.put('k', b'after')
    return st.get('k')


@pytest.mark.parametrize('op, expected', [(_read, b'before'), (_write, b'after')], ids=['read', 'write'])
def test_the_next_operation_after_the_database_is_back_succeeds(own_server, op, expected):
    d, server = own_server
    st = PostgresStore(fresh_database(server), MemoryConfig(pg_timeout_s=1.0))
    try:
        st.put('k', b'before')
        stop_local_postgres(d)
        for _ in range(2):  # the first finds its pooled connection ended with the server, the second finds none
            with pytest.raises(StoreUnavailableError): st.get('k')
        _wait_for_failed_reconnects(st, 6)  # both of the pool's attempts (replacing the broken one, growing) failed 3 times: each waits about 4 s now
        start_local_postgres(d)
        assert op(st) == expected  # used to fail (StoreUnavailableError) until the pool's next attempt
    finally:
        st.close()
        if not Path(d, 'data', 'postmaster.pid').exists(): start_local_postgres(d)  # for the next test, had this one failed


def test_a_session_lock_held_through_the_outage_is_still_held_after(pg_server, pg_url):
    "New connections refused, open sessions kept (as after a network outage): the lock's session outlives the stuck pool."
    st = PostgresStore(pg_url, MemoryConfig(pg_timeout_s=1.0))
    db = pg_url.rsplit('/', 1)[1]
    try:
        with psycopg.connect(pg_server, autocommit=True) as admin, st.exclusive('writeback-0') as got:
            assert got
            admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
            try:
                with pytest.raises(StoreUnavailableError): st.get('k')  # the lock holds the pool's only connection
                _wait_for_failed_reconnects(st, 3)
            finally: admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
            assert st.get('k') is None
            assert st.holds('writeback-0')
            with psycopg.connect(pg_url) as other:  # and the server agrees: another session cannot take it
                assert not other.execute("SELECT pg_try_advisory_lock(hashtext('ruvllm:writeback-0'))").fetchone()[0]
        with psycopg.connect(pg_url) as other:  # released at the block's end
            assert other.execute("SELECT pg_try_advisory_lock(hashtext('ruvllm:writeback-0'))").fetchone()[0]
    finally: st.close()


@pytest.mark.parametrize('op, expected', [(_read, b'before'), (_write, b'after')], ids=['read', 'write'])
def test_a_quick_restart_fails_no_operation(own_server, op, expected):
    "The server restarted while the store was idle: its pooled connections died with it, and are checked before one is lent."
    d, server = own_server
    st = PostgresStore(fresh_database(server), MemoryConfig(pg_timeout_s=1.0))
    try:
        st.put('k', b'before')
        stop_local_postgres(d); start_local_postgres(d)
        assert op(st) == expected  # used to fail once (StoreUnavailableError: the connection was closed by the server)
    finally:
        st.close()
        if not Path(d, 'data', 'postmaster.pid').exists(): start_local_postgres(d)


def test_while_the_server_is_away_operations_fail_fast_and_come_back_within_a_second(own_server):
    "Once the store has found the server away, an operation asks the server (at most once a second), not the pool: no pool wait per request, none after."
    d, server = own_server
    st = PostgresStore(fresh_database(server), MemoryConfig(pg_timeout_s=3.0))
    try:
        st.put('k', b'before')
        stop_local_postgres(d)
        with pytest.raises(StoreUnavailableError): st.get('k')  # the first waits for the pool (pg_timeout_s), then finds the server away
        for _ in range(3):
            t = time.monotonic()
            with pytest.raises(StoreUnavailableError, match="is unavailable"): st.get('k')
            assert time.monotonic() - t < 1.0  # each used to wait the pool's 3 s again
        start_local_postgres(d)
        t = time.monotonic()
        while True:
            try: got = st.get('k'); break
            except StoreUnavailableError: assert time.monotonic() - t < 2.5; time.sleep(0.1)
        assert got == b'before' and time.monotonic() - t < 2.5  # used to wait for the pool (3 s) after the server was back
        with st.tx(): st.put('k', b'after')
        assert st.get('k') == b'after'
    finally:
        st.close()
        if not Path(d, 'data', 'postmaster.pid').exists(): start_local_postgres(d)
