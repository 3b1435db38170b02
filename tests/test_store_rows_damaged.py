"""One damaged row in memory.sqlite (a node's metadata that is not JSON, a vector blob that is no whole number of
float32s) is a `MemoryStoreError` naming the file and the node, not an unexpected JSONDecodeError/ValueError; and a
cut-off last line of a chat transcript is reported at its column on that line, as a documents .jsonl is."""
import shutil, sqlite3

import pytest

from ruvllm.cli import EXIT_ERROR, run_cli
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory
from ruvllm.store import SQLiteStore
from ruvllm.transcripts import iter_transcript
from ruvllm.types import InvalidInputError, MemoryStoreError

FAST = ('[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n\n'
        '[embedding]\nmodel = "hashing"\ndim = 32\n')  # the embedder `_mem` builds with
FACTS = [dict(text="The Orl is the longest river in Rivstaum.", source='facts.txt'),
         dict(text="Quorvane was founded by Ilsa Marrow in 1642.", source='facts.txt')]


def _mem(path): return Memory.open(path, HashingEmbedder(dim=32))


def _damage(d, sql):
    "Run `sql` (with the first node's id as its one parameter) on the memory.sqlite in `d`; that id."
    db = sqlite3.connect(d / 'memory.sqlite')
    node = db.execute('SELECT MIN(id) FROM nodes').fetchone()[0]
    db.execute(sql, (node,)); db.commit(); db.close()
    return node


@pytest.fixture
def memory_dir(tmp_path):
    d = tmp_path / 'm'
    with _mem(d) as m: m.ingest(FACTS, progress=False)
    return d


def _damaged_error(d, node, needle):
    before = (d / 'memory.sqlite').read_bytes()
    with pytest.raises(MemoryStoreError) as e: _mem(d)
    msg = str(e.value)
    assert '\n' not in msg and 'memory.sqlite' in msg and f"node {node} " in msg and needle in msg, msg
    assert 'left untouched' in msg, msg
    assert (d / 'memory.sqlite').read_bytes() == before  # nothing written
    return msg


def test_metadata_that_is_not_json_names_the_file_and_the_node(memory_dir):
    node = _damage(memory_dir, "UPDATE nodes SET metadata='{bad' WHERE id=?")
    msg = _damaged_error(memory_dir, node, 'has metadata that is not valid JSON')
    assert str(memory_dir / 'memory.sqlite') in msg


def test_a_vector_of_the_wrong_size_names_the_file_and_the_node(memory_dir):
    node = _damage(memory_dir, "UPDATE nodes SET vector=x'001122' WHERE id=?")
    shutil.rmtree(memory_dir / 'index')  # the index is rebuilt from the store's vectors
    _damaged_error(memory_dir, node, 'has a vector of 3 bytes, not a whole number of 4-byte floats')


def test_a_damaged_vector_is_named_where_another_process_reads_it(memory_dir):
    node = _damage(memory_dir, "UPDATE nodes SET vector=x'001122' WHERE id=?")
    store = SQLiteStore(memory_dir / 'memory.sqlite')
    try:
        with pytest.raises(MemoryStoreError, match=f"node {node} has a vector of 3 bytes"): store.node_states([node])
        with pytest.raises(MemoryStoreError, match=f"node {node} has a vector of 3 bytes"): store.vectors_after(0)
    finally: store.close()


def test_the_cli_says_it_in_one_line(memory_dir, tmp_path):
    (tmp_path / 'fast.toml').write_text(FAST)
    node = _damage(memory_dir, "UPDATE nodes SET metadata='{bad' WHERE id=?")
    for cmd in (['stats'], ['ask', 'How long is the Orl?']):
        code, out, err = run_cli(['--config', str(tmp_path / 'fast.toml'), '--db', str(memory_dir), *cmd])
        lines = [l for l in err.splitlines() if l.strip()]
        assert code == EXIT_ERROR and len(lines) == 1 and lines[0].startswith('ruvllm: error: '), (code, err)
        assert 'unexpected' not in err and f"node {node} has metadata that is not valid JSON" in err, err
        assert str(memory_dir / 'memory.sqlite') in err and 'left untouched' in err, err


def test_a_cut_off_last_chat_line_is_reported_at_its_column(tmp_path):
    f = tmp_path / 'chat.jsonl'
    f.write_text('{"speaker": "A", "text": "hi", "session": 1}\n{"speaker": "B", "text": "yo", "session": 1\n')
    with pytest.raises(InvalidInputError) as e: list(iter_transcript(f))
    assert str(e.value) == f"{f}:2: not valid JSON (Expecting ',' delimiter: column 44)"
    f.write_text('{"speaker": "A", "text": "hi", "session": 1}\r\n{"speaker": "B" "text": "yo"}\r\n')  # an error inside the line
    with pytest.raises(InvalidInputError) as e: list(iter_transcript(f))
    assert str(e.value) == f"{f}:2: not valid JSON (Expecting ',' delimiter: column 17)"


# The PostgreSQL store: `metadata` is TEXT there too (not JSONB), so both the metadata and the vector bytes of a row can be
# damaged by hand. The message names the database by its URL, password redacted. (psycopg, the optional extra `pg`, is
# imported where a test needs it, so the tests above run without it.)
from urllib.parse import urlsplit, urlunsplit

from ruvllm.config import MemoryConfig
from ruvllm.store import open_store


def _with_password(url):
    "`url` with a password in it (the test server trusts loopback, so any will do): (that url, it with the password redacted)."
    u = urlsplit(url)
    if u.password is None: u = u._replace(netloc=u.netloc.replace('@', ':s3cret@', 1))
    return urlunsplit(u), urlunsplit(u._replace(netloc=u.netloc.replace(f':{u.password}@', ':***@')))


def _pg_mem(path, url): return Memory.open(path, HashingEmbedder(dim=32), MemoryConfig(store=url, sync_interval_s=0))


@pytest.fixture
def pg_memory(tmp_path, pg_url):
    "(a memory directory, the URL of its PostgreSQL database with a password in it, that URL redacted), two facts stored."
    url, shown = _with_password(pg_url)
    with _pg_mem(tmp_path / 'pg', url) as m: m.ingest(FACTS, progress=False)
    return tmp_path / 'pg', url, shown


def _pg_damage(url, sql):
    "Run `sql` (with the first node's id as its one parameter) on the database at `url`; that id."
    import psycopg
    with psycopg.connect(url, autocommit=True) as c:
        node = c.execute('SELECT MIN(id) FROM nodes').fetchone()[0]
        c.execute(sql, (node,))
    return node


def _pg_rows(url):
    import psycopg
    with psycopg.connect(url) as c: return c.execute('SELECT id, metadata, vector FROM nodes ORDER BY id').fetchall()


def _pg_damaged_error(d, url, shown, node, needle):
    before = _pg_rows(url)
    with pytest.raises(MemoryStoreError) as e: _pg_mem(d, url)
    msg = str(e.value)
    assert '\n' not in msg and f"the memory database {shown!r} has a damaged row: node {node} " in msg and needle in msg, msg
    assert 's3cret' not in msg and 'left untouched' in msg, msg
    assert _pg_rows(url) == before  # the rows were not rewritten
    return msg


def test_postgresql_metadata_that_is_not_json_names_the_database_and_the_node(pg_memory):
    d, url, shown = pg_memory
    node = _pg_damage(url, "UPDATE nodes SET metadata='{bad' WHERE id=%s")
    _pg_damaged_error(d, url, shown, node, 'has metadata that is not valid JSON')


def test_postgresql_a_vector_of_the_wrong_size_names_the_database_and_the_node(pg_memory):
    d, url, shown = pg_memory
    node = _pg_damage(url, "UPDATE nodes SET vector='\\x001122'::bytea WHERE id=%s")
    shutil.rmtree(d / 'index', ignore_errors=True)  # the index is rebuilt from the store's vectors
    _pg_damaged_error(d, url, shown, node, 'has a vector of 3 bytes, not a whole number of 4-byte floats')


def test_postgresql_a_damaged_row_is_named_where_another_process_reads_it(pg_memory):
    d, url, shown = pg_memory
    node = _pg_damage(url, "UPDATE nodes SET metadata='{bad', vector='\\x001122'::bytea WHERE id=%s")
    store = open_store(url, d)
    try:
        with pytest.raises(MemoryStoreError, match=f"node {node} has metadata that is not valid JSON"): store.get_nodes([node])
        for read in (lambda: store.node_states([node]), lambda: store.vectors_after(0)):
            with pytest.raises(MemoryStoreError, match=f"node {node} has a vector of 3 bytes") as e: read()
            assert shown in str(e.value) and 'left untouched' in str(e.value)
    finally: store.close()


def test_postgresql_the_cli_says_it_in_one_line(pg_memory, tmp_path):
    d, url, shown = pg_memory
    (tmp_path / 'pg.toml').write_text(FAST + f'\n[memory]\nstore = "{url}"\n')
    node = _pg_damage(url, "UPDATE nodes SET metadata='{bad' WHERE id=%s")
    code, out, err = run_cli(['--config', str(tmp_path / 'pg.toml'), '--db', str(d), 'stats'])
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == EXIT_ERROR and len(lines) == 1 and lines[0].startswith('ruvllm: error: '), (code, err)
    assert f"node {node} has metadata that is not valid JSON" in err and shown in err and 's3cret' not in err, err
