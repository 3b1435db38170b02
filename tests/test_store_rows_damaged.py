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
