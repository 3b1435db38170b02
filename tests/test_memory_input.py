"""Bad input and damaged data directories: a clear error naming the problem, and nothing stored or overwritten."""
import json, sqlite3, time
from pathlib import Path
import pytest

from ruvllm.config import MemoryConfig
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory
from ruvllm.store import StoreUnavailableError
from ruvllm.types import InvalidInputError, MemoryStoreError


def _mem(path, **kw): return Memory.open(path, HashingEmbedder(dim=32), MemoryConfig(**kw))


def _filled(path, n=5):
    with _mem(path) as m: m.ingest([f"fact number {i} about the river" for i in range(n)], progress=False)


@pytest.mark.parametrize('damage', ['missing', 'empty'])
def test_a_lost_database_beside_an_index_of_its_nodes_is_refused_and_nothing_is_overwritten(tmp_path, damage):
    d = tmp_path / 'm'; _filled(d)
    snap = (d / 'index' / 'memory_checkpoint.json').read_text()
    for f in d.glob('memory.sqlite*'): f.unlink()
    if damage == 'empty': (d / 'memory.sqlite').write_bytes(b'')
    with pytest.raises(MemoryStoreError, match=f"is {damage}, but the index .* holds 5 nodes"): _mem(d)
    assert (d / 'index' / 'memory_checkpoint.json').read_text() == snap  # the last copy of the vectors is untouched
    assert (d / 'memory.sqlite').exists() == (damage == 'empty')  # and no new database was made


def test_a_file_where_the_index_directory_should_be_is_rebuilt_every_time(tmp_path):
    d = tmp_path / 'm'; _filled(d)
    import shutil; shutil.rmtree(d / 'index'); (d / 'index').write_text('x')
    for _ in range(2):  # the first open used to leave `index.old` a file, and every later open failed on it
        with _mem(d) as m: assert len(m.live_ids()) == 5
    assert (d / 'index').is_dir() and not (d / 'index.old').exists()


def test_a_bad_item_late_in_a_list_stores_nothing(tmp_path):
    with _mem(tmp_path / 'm') as m:
        for bad, what in [({'text': 'x', 'metadata': {'a': {1}}}, 'cannot be stored as JSON'),
                          ({'text': 'caf\udce9'}, 'not valid Unicode'), ({'text': 'x', 'source': 's\udc80'}, 'source of item 550'),
                          ({'text': 'x', 'namespace': ''}, 'namespace must be'), ({'text': 'Part one\x00part two'}, 'text of item 550 contains a NUL'),
                          ({'text': 'x', 'metadata': {'speaker': 'Ann\x00'}}, r"metadata of item 550\['speaker'\] contains a NUL"),
                          ({'text': 'x', 'metadata': {'k\x00': 1}}, 'metadata of item 550: the key'),
                          ({'text': 'x', 'metadata': {'x': [{'y': 'a\udc80'}]}}, 'not valid Unicode')]:
            items = [f"doc {i}" for i in range(600)]; items[550] = bad
            with pytest.raises(InvalidInputError, match=what): m.ingest(items, batch_size=256, progress=False)
            assert len(m.live_ids()) == 0
        with pytest.raises(InvalidInputError, match='namespace must be'): m.ingest(["a"], namespace='', progress=False)
        with pytest.raises(InvalidInputError, match='not valid Unicode'): m.hybrid_search('who is \udc80?')
        assert m.store.q("SELECT namespace FROM nodes") == [] and m.ingest(["a"], progress=False)  # None/absent: 'global'


def test_a_closed_memory_says_so(tmp_path):
    m = _mem(tmp_path / 'm'); m.close()
    with pytest.raises(MemoryStoreError, match='closed'): m.add_node("a fact", "Fact")
    with pytest.raises(MemoryStoreError, match='closed'): m.store.get('embedder')


def test_a_database_another_process_holds_locked_is_unavailable_not_a_crash(tmp_path):
    with _mem(tmp_path / 'm') as m:
        m.store.db.execute('PRAGMA busy_timeout=200')  # (the store waits 30 s; a test need not)
        other = sqlite3.connect(str(tmp_path / 'm' / 'memory.sqlite'), isolation_level=None)
        other.execute('BEGIN EXCLUSIVE')
        try:
            with pytest.raises(StoreUnavailableError, match='locked by another process'): m.add_node("a fact", "Fact")
        finally: other.execute('ROLLBACK'); other.close()
        assert m.add_node("a fact", "Fact") >= 0  # and it works once the lock is gone


def test_a_transcript_line_that_cannot_be_stored_is_found_before_anything_is(tmp_path):
    from ruvllm.transcripts import check_transcript
    f = tmp_path / 'chat.jsonl'
    lines = [json.dumps({'speaker': 'Ann', 'text': f'turn {i}', 'session': 1}) for i in range(600)]
    lines[550] = '{"speaker": "Ann", "text": "hi", "session": "\\udc00"}'  # valid JSON, not storable text
    f.write_text('\n'.join(lines) + '\n')
    with pytest.raises(InvalidInputError, match=r"chat.jsonl:551: the turn's source is not valid Unicode"): check_transcript(f)


def test_a_closed_ruvllm_says_so_wherever_it_is_used(tmp_path):
    from ruvllm import Config, RuvLLM
    from ruvllm.types import RuvLLMError
    llm = RuvLLM(Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build(),
                 start_scheduler=False)
    llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
    rid = llm.query("Which river flows through Quenby?").request_id
    llm.close()
    for use in (llm.stats, llm.save, lambda: llm.record(rid)):
        with pytest.raises(RuvLLMError, match='closed'): use()
