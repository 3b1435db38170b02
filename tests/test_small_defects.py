"""Small defects testers found: a chat transcript with a repeated turn `id` (stored twice, so a hit no longer maps back
to one turn), and `counters['fallbacks']` counted for requests that were routed but never answered (so it could exceed
`counters['queries']`). Each test failed before its fix."""
import json
from pathlib import Path

import pytest

from ruvllm import Config, Constraints, RuvLLM, InvalidInputError
from ruvllm.cli import run_cli
from ruvllm.transcripts import check_transcript, transcript_records

EXTRACTIVE = '[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n\n[cache]\njudge = "none"\n'


def _turns() -> list[dict]:
    return [dict(id=f"t{i}", session=1, timestamp=f"2023-05-07T10:0{i}:00", speaker='Dana' if i % 2 else 'Sam',
                 text=f"turn number {i} about the Zorblat river") for i in range(1, 7)]


def _with_repeated_id(path: Path) -> Path:
    "Six turns whose fifth line repeats the id of the second (`t2`)."
    turns = _turns(); turns[4]['id'] = 't2'
    path.write_text(''.join(json.dumps(t) + '\n' for t in turns))
    return path


# --- a repeated turn id -------------------------------------------------------------------------------------

def test_check_transcript_refuses_a_repeated_id_naming_it_and_both_lines(tmp_path):
    f = _with_repeated_id(tmp_path / 'chat.jsonl')
    with pytest.raises(InvalidInputError) as e: check_transcript(f)
    msg = str(e.value)
    assert msg.startswith(f"{f}:5: ") and "'t2'" in msg and 'line 2' in msg, msg
    with pytest.raises(InvalidInputError, match=r"turns:5: .*'t2'.*line 2"):  # turn dicts: the same check
        list(transcript_records([json.dumps(t) for t in _turns()[:4]] + [json.dumps(dict(_turns()[4], id='t2'))], label='turns'))
    # distinct ids pass; an id equal to another line's default id (`<stem>:<line>`) is a repeat too
    assert len(list(transcript_records(_turns()))) == 6
    plain = [{k: v for k, v in t.items() if k != 'id'} for t in _turns()[:3]]
    with pytest.raises(InvalidInputError, match=r"chat:3: .*'chat:1'.*line 1"):
        list(transcript_records(plain[:2] + [dict(plain[2], id='chat:1')]))


def test_ingest_and_ingest_chat_refuse_a_repeated_id_and_store_nothing(tmp_path):
    f = _with_repeated_id(tmp_path / 'chat.jsonl')
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        before = llm.memory.stats()['nodes']
        for call in (lambda: llm.ingest(f, progress=False), lambda: llm.ingest(f, format='chat', progress=False),
                     lambda: llm.ingest_chat(f, progress=False),
                     lambda: llm.ingest_chat([json.loads(l) for l in f.read_text().splitlines()], progress=False)):
            with pytest.raises(InvalidInputError, match=r":5: .*'t2'.*line 2"): call()
            assert llm.memory.stats()['nodes'] == before


def test_cli_ingest_refuses_a_repeated_id_and_stores_nothing(cli_argv, tmp_path):
    argv = cli_argv(EXTRACTIVE)
    (tmp_path / 'box.txt').write_text('The box holds three red marbles.\n')
    assert run_cli([*argv, 'ingest', '--no-progress', str(tmp_path / 'box.txt')])[0] == 0
    nodes = json.loads(run_cli([*argv, 'stats', '--json'])[1])['memory']['nodes']
    f = _with_repeated_id(tmp_path / 'chat.jsonl')
    code, out, err = run_cli([*argv, 'ingest', '--no-progress', str(tmp_path / 'box.txt'), str(f)])
    assert code != 0 and f"{f}:5: " in err and "'t2'" in err and 'line 2' in err, (code, out, err)
    assert json.loads(run_cli([*argv, 'stats', '--json'])[1])['memory']['nodes'] == nodes


# --- fallbacks counted for answered requests only ---------------------------------------------------------

def test_fallbacks_count_answered_requests_only(tmp_path):
    """A tier whose server refuses the connection: every request is routed (the untrained router falls back to the
    safe tier) and then fails. Nothing was answered, so nothing may be counted as a fallback either."""
    down = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'openai:http://127.0.0.1:9/v1#m'}) \
        .set('router.safe_tier', 'tiny').set('inference.retries', 0).set('system.warm_up', False).build()
    with RuvLLM(down, start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        for _ in range(3):
            with pytest.raises(Exception): llm.query("Which river flows through Quenby?", constraints=Constraints(no_cache=True))
        q = llm.stats()['queries']
        assert (q['queries'], q['errors']) == (0, 3), q
        assert q['fallbacks'] + q['explored'] + q['forced'] == 0, q
    up = Config.builder().db_path(tmp_path / 'e').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(up, start_scheduler=False) as llm:  # answered requests: each one's routing is counted once
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        rs = [llm.query("Which river flows through Quenby?", constraints=Constraints(no_cache=True)) for _ in range(3)]
        q = llm.stats()['queries']
        assert q['queries'] == 3 and q['fallbacks'] == sum(r.routing_info.fallback for r in rs) >= 1, q


def test_a_transcript_with_a_byte_order_mark_is_read_as_a_transcript(tmp_path):
    "Some editors start a UTF-8 file with a BOM: the transcript is still detected, checked and stored turn by turn."
    import json
    from ruvllm import Config, RuvLLM
    from ruvllm.transcripts import check_transcript, is_transcript
    p = tmp_path / 'chat.jsonl'
    turns = [dict(speaker='Dana', text='my sister studies marine biology in Bergen', timestamp='2023-05-01T10:00:00'),
             dict(speaker='Sam', text='oh nice, since when?', timestamp='2023-05-01T10:01:00')]
    p.write_bytes(b'\xef\xbb\xbf' + '\n'.join(json.dumps(t) for t in turns).encode())
    assert is_transcript(p) and check_transcript(p) == 2  # used to be read as plain documents (the first line's BOM broke its JSON)
    cfg = (Config.builder().db_path(tmp_path / 'd').set('embedding.model', 'hashing').set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        ids = llm.ingest(p, progress=False)
        nodes = llm.memory.get_many(ids)
        assert [nodes[i].metadata.get('speaker') for i in ids] == ['Dana', 'Sam'], [nodes[i].metadata for i in ids]


def test_a_closed_memory_refuses_reads(tmp_path):
    "After close, searches and reads say the memory is closed instead of answering from its RAM copy."
    import pytest
    from ruvllm.embedding import HashingEmbedder
    from ruvllm.memory import Memory
    from ruvllm.types import MemoryStoreError
    m = Memory.open(tmp_path / 'm', HashingEmbedder(dim=64))
    a = m.add_node("Quenby is the capital of Marsovia.")
    m.close()
    for read in (lambda: m.search("capital of Marsovia"), lambda: m.hybrid_search("capital of Marsovia"), lambda: m.get(a),
                 lambda: m.lexical_search("Quenby"), lambda: m.search_with_graph("capital")):
        with pytest.raises(MemoryStoreError, match='is closed'): read()  # used to return the hits it held at close


# --- messages a probe found unclear (lead24) ------------------------------------------------------------------

def test_migrate_to_a_file_says_it_is_a_file(cli_argv, tmp_path):
    argv = cli_argv(EXTRACTIVE)
    (tmp_path / 'a.txt').write_text("The Zorblat river flows through Quenby.\n")
    assert run_cli([*argv, 'ingest', '--no-progress', str(tmp_path / 'a.txt')])[0] == 0
    (tmp_path / 'facts.txt').write_text("not a directory")
    code, out, err = run_cli([*argv, 'migrate', argv[argv.index('--db') + 1], str(tmp_path / 'facts.txt')])
    assert code != 0 and 'facts.txt' in err and 'is a file, not a data directory' in err and 'Traceback' not in err, err
    assert (tmp_path / 'facts.txt').read_text() == "not a directory"


def test_a_model_path_that_is_a_directory_says_so(tmp_path):
    from ruvllm.inference import LlamaCppBackend
    from ruvllm.types import ModelNotFoundError
    with pytest.raises(ModelNotFoundError, match='is a directory'): LlamaCppBackend(str(tmp_path))


def test_a_damaged_database_is_named_in_a_bounded_message(tmp_path):
    "A page garbled in the middle: SQLite's check lists kilobytes of findings; the error keeps the start of them."
    from ruvllm.store import SQLiteStore
    from ruvllm.types import MemoryStoreError
    db = tmp_path / 'memory.sqlite'
    st = SQLiteStore(db)
    with st.tx():
        for i in range(2000): st.db.execute("INSERT INTO meta VALUES (?, ?)", (f"k{i}", "x" * 200))
    st.close()
    raw = bytearray(db.read_bytes()); size = len(raw)
    for pg in range(3, size // 4096 - 2, 2): raw[pg * 4096 + 8: pg * 4096 + 40] = b'\xff' * 32  # every other page's cell pointers
    db.write_bytes(bytes(raw))
    with pytest.raises(MemoryStoreError, match='is corrupt') as e: SQLiteStore(db)
    assert len(str(e.value)) < 600, len(str(e.value))


def test_an_answer_a_rating_stores_counts_as_written_back(tmp_path):
    """`feedback` said 'answer stored in memory as node 9' while `ruvllm stats` kept saying '0 answers written back':
    only the write-back at the request counted (a probe of the CLI)."""
    from ruvllm import Config, Feedback, RuvLLM
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        r = llm.query("Which river flows through Quenby?"); llm.flush()
        assert llm.stats()['queries']['written_back'] == 0  # an unrated quote is not kept
        out = llm.feedback(Feedback(r.request_id, rating=5))
        assert out.get('written') is not None and llm.stats()['queries']['written_back'] == 1
