"""The Python API probe of 7 December (notes/lead44/probe_api): wrong arguments gave bare TypeErrors or were read by
truthiness, `close("5")` marked the object closed before failing (nothing saved, the memory left open), and a chat file
that is not UTF-8 was called "not read as a chat transcript"."""
import pytest

from ruvllm import Config, RuvLLM
from ruvllm.types import InvalidInputError


@pytest.fixture
def llm(tmp_path):
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(cfg, start_scheduler=False) as x: yield x


@pytest.mark.parametrize('call, says', [
    (lambda l: l.ingest_chat(None), 'got NoneType'),
    (lambda l: l.ingest_chat(5), 'got int'),
    (lambda l: l.ingest_chat({'speaker': 'Ana', 'text': 'hi', 'session': 1}), r'one dict: pass \[turn\]'),
    (lambda l: l.ingest(['The Orl is long.'], skip_duplicates='false'), 'skip_duplicates must be True or False'),
    (lambda l: l.ingest_chat([{'speaker': 'Ana', 'text': 'hi', 'session': 1}], progress='no'), 'progress must be True or False'),
    (lambda l: l.query_session(None, 'hi'), 'session is None'),
    (lambda l: l.record(5), 'request_id must be a string'),
])
def test_wrong_arguments_are_named(llm, call, says):
    with pytest.raises(InvalidInputError, match=says): call(llm)


def test_a_bad_close_timeout_closes_nothing(llm):
    llm.ingest(['The Orl is long.'], progress=False)
    with pytest.raises(InvalidInputError, match='timeout must be a number'): llm.close('5')
    assert not llm.closed and llm.query('How long is the Orl?').text  # still open and working; the fixture closes it


def test_a_chat_file_that_is_not_utf8_says_so(llm, tmp_path):
    f = tmp_path / 'chat.jsonl'
    f.write_bytes('{"speaker": "Ana", "text": "Café au lait", "session": 1}\n'.encode('latin-1'))
    with pytest.raises(InvalidInputError, match='not UTF-8 text .*save the file as UTF-8'): llm.ingest(f)


def test_a_stream_read_after_close_says_the_memory_is_closed(tmp_path):
    "It raised SQLite's own 'Cannot operate on a closed database.' from inside the library."
    from ruvllm.types import MemoryStoreError
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    llm = RuvLLM(cfg, start_scheduler=False)
    llm.ingest(['The Orl is the longest river in Rivstaum.'], progress=False)
    s = llm.query_stream('What is the longest river in Rivstaum?'); next(s)
    llm.close()
    with pytest.raises(MemoryStoreError, match='is closed'): list(s)
