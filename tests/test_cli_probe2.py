"""The CLI/API probe's findings on `ruvllm ingest`, the store and `bench` (notes/lead19/probe_cli_FINDINGS.md):
1. Ctrl-C landing between BEGIN and a transaction's block left the connection inside it, so close() could not save;
2. the interrupted-ingest count came from the RAM index, which lags the committed batches;
3. a paragraph longer than one node may hold was stored whole; now .txt/.md paragraphs are split and a too-long
   JSONL record or chat turn is refused naming file:line;
7. two transcripts named chat.jsonl in different folders shared their conversation and turn ids, and the summary;
8. `bench --readme` was checked only after every suite ran;
9. `ingest --type Concept` stored text that is never evidence;
10. a symbolic link loop was reported as "no such file or directory".
And: a zero-width-space-only text is empty to `jsonl_record` and `turn_record` (`ruvllm.types.visible`)."""
import dataclasses, json, re, threading, time
from pathlib import Path

import pytest

from ruvllm.cli import EXIT_INTERRUPTED, EXIT_USAGE, jsonl_record, run_cli
from ruvllm.config import Config, ConfigBuilder
from ruvllm.store import SQLiteStore
from ruvllm.transcripts import check_transcript, turn_record
from ruvllm.types import InvalidInputError

FAST = ('[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n\n[cache]\njudge = "none"\n\n'
        '[embedding]\nmodel = "hashing"\ndim = 64\n')


def fast_cfg(path: Path) -> Config:
    return (ConfigBuilder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
            .set('cache.judge', 'none').set('embedding.model', 'hashing').set('embedding.dim', 64).build())


def live_nodes(argv) -> int:
    "The live nodes a fresh process would see: the directory reopened."
    code, out, err = run_cli([*argv, 'stats', '--json'])
    assert code == 0, err
    return json.loads(out)['memory']['live']


def nodes(cfg: Config) -> list:
    "Every stored node (reopened)."
    from ruvllm.orchestrator import RuvLLM
    with RuvLLM(cfg, start_scheduler=False) as llm:
        ids = [r['id'] for r in llm.store.node_rows()]
        got = llm.store.get_nodes(ids)
        return [got[i] for i in ids]


# --- 1. a transaction begun and never ended ---------------------------------------------------------------

class _InterruptAfterBegin:
    "A connection on which Ctrl-C lands right after `BEGIN IMMEDIATE` returns (as the probe's ingest hit it)."
    def __init__(self, db): self.db = db
    def __getattr__(self, name): return getattr(self.db, name)
    def execute(self, sql, *args):
        r = self.db.execute(sql, *args)
        if sql == 'BEGIN IMMEDIATE': raise KeyboardInterrupt
        return r


def _put_in_thread(store, key) -> bool:
    "Write `key` from another thread; False if it is still waiting (for a lock nobody lets go of) after 5 s."
    t = threading.Thread(target=store.put, args=(key, b'1'), daemon=True)
    t.start(); t.join(5)
    return not t.is_alive()


def test_an_interrupt_right_after_begin_rolls_the_transaction_back(tmp_path):
    store = SQLiteStore(tmp_path / 'm.sqlite')
    real, store.db = store.db, _InterruptAfterBegin(store.db)
    with pytest.raises(KeyboardInterrupt):
        with store.tx(): store.put('never', b'1')
    store.db = real
    assert not store.db.in_transaction  # used to stay inside the transaction
    assert _put_in_thread(store, 'other-thread')
    with store.tx(): store.put('k', b'2')
    store.close()
    again = SQLiteStore(tmp_path / 'm.sqlite')
    assert (again.get('never'), again.get('k'), again.get('other-thread')) == (None, b'2', b'1')
    again.close()


def test_a_tx_entered_and_dropped_is_rolled_back_and_lets_go_of_the_lock(tmp_path):
    store = SQLiteStore(tmp_path / 'm.sqlite')
    store.tx().__enter__()  # begun, its block never run, dropped (as an interrupt leaves it)
    store.put('after', b'1')  # used to be written inside the dangling transaction, never committed
    assert _put_in_thread(store, 'other-thread')  # used to wait forever for the lock
    with store.tx(): store.put('k', b'2')  # used to fail: cannot start a transaction within a transaction
    store.close()
    again = SQLiteStore(tmp_path / 'm.sqlite')
    assert (again.get('after'), again.get('other-thread'), again.get('k')) == (b'1', b'1', b'2')
    again.close()


def test_ruvllm_closes_and_saves_after_a_dropped_transaction(tmp_path):
    from ruvllm.orchestrator import RuvLLM
    cfg = fast_cfg(tmp_path / 'data')
    llm = RuvLLM(cfg, start_scheduler=False)
    llm.ingest(['The box holds three red marbles.'], progress=False)
    llm.store.tx().__enter__()
    s = llm.new_session()
    llm.close()  # used to raise OperationalError: cannot start a transaction within a transaction
    with RuvLLM(cfg, start_scheduler=False) as again:
        assert s.session_id in again.sessions and len(again.memory) == 1


class _BeginThenInterrupt:
    "A `tx()` whose BEGIN runs and then Ctrl-C lands, before its block."
    def __init__(self, tx): self.tx = tx
    def __enter__(self): self.tx.__enter__(); raise KeyboardInterrupt
    def __exit__(self, *exc): return False


def paragraphs(path: Path, n: int) -> Path:
    path.write_text(''.join(f"Paragraph {i} says that bridge {i} crosses the river Ost.\n\n" for i in range(n)))
    return path


def test_ingest_interrupted_between_begin_and_its_block_says_so_and_exits_130(cli_argv, tmp_path, monkeypatch):
    argv = cli_argv(FAST)
    src = paragraphs(tmp_path / 'many.txt', 800)  # batches of 256
    inserts, real_tx, real_insert = [0], SQLiteStore.tx, SQLiteStore.insert_nodes
    def insert_nodes(self, *a, **kw):
        inserts[0] += 1; return real_insert(self, *a, **kw)
    def tx(self):
        t = real_tx(self)
        if inserts[0] >= 2 and threading.current_thread() is threading.main_thread() and not getattr(tx, 'fired', False):
            tx.fired = True; return _BeginThenInterrupt(t)
        return t
    monkeypatch.setattr(SQLiteStore, 'insert_nodes', insert_nodes)
    monkeypatch.setattr(SQLiteStore, 'tx', tx)
    code, out, err = run_cli([*argv, 'ingest', '--no-progress', str(src)])
    monkeypatch.undo()
    assert code == EXIT_INTERRUPTED, err  # was 1: "unexpected OperationalError: cannot start a transaction within a transaction"
    assert 'OperationalError' not in err and 'error' not in err, err
    m = re.search(r'ruvllm: ingest interrupted; (\d+) of 800 records were stored', err)
    assert m, err
    assert int(m[1]) == live_nodes(argv) == 512


# --- 2. the count of an interrupted ingest is the store's ---------------------------------------------------

def test_interrupted_ingest_reports_what_the_store_committed(cli_argv, tmp_path, monkeypatch):
    "Ctrl-C while the index catches up: batches are committed that the RAM index does not hold yet."
    from ruvllm.hnsw import HNSWIndex
    argv = cli_argv(FAST)
    src = paragraphs(tmp_path / 'many.txt', 900)
    real_add, calls = HNSWIndex.add, [0]
    def add(self, *a, **kw):
        if threading.current_thread().name.startswith('ruvllm-ingest-index'):
            calls[0] += 1
            if calls[0] == 2: raise KeyboardInterrupt  # reaches the main thread when it waits for this batch
        return real_add(self, *a, **kw)
    monkeypatch.setattr(HNSWIndex, 'add', add)
    code, out, err = run_cli([*argv, 'ingest', '--no-progress', str(src)])
    monkeypatch.undo()
    assert code == EXIT_INTERRUPTED, err
    m = re.search(r'ruvllm: ingest interrupted; (\d+) of 900 records were stored', err)
    assert m, err
    stored = live_nodes(argv)
    assert stored > 256 and int(m[1]) == stored, (err, stored)  # the RAM index said 256


# --- 3. one node holds at most memory.max_node_chars ----------------------------------------------------------

def test_a_100k_character_paragraph_becomes_several_records_within_the_limit(cli_argv, tmp_path):
    argv = cli_argv(FAST)
    text = ' '.join(f"Sentence {i} tells that the blue market sells fish number {i}." for i in range(1800))
    assert len(text) > 100_000
    (tmp_path / 'onepara.txt').write_text(text + '\n')
    code, out, err = run_cli([*argv, 'ingest', '--no-progress', str(tmp_path / 'onepara.txt')])
    assert code == 0, err
    got = nodes(fast_cfg(tmp_path / 'data'))
    assert len(got) >= 6 and all(len(n.text) <= 20_000 for n in got), [len(n.text) for n in got]
    assert ' '.join(n.text for n in got).split() == text.split()  # every word, in reading order
    assert all(n.text.endswith('.') for n in got)  # cut at sentence ends
    assert {(n.metadata['line'], n.source) for n in got} == {(1, str(tmp_path / 'onepara.txt'))}
    assert [n.metadata['part'] for n in got] == list(range(1, len(got) + 1))
    assert f"ingested {len(got)} records" in out


def test_the_limit_is_the_configured_one(cli_argv, tmp_path):
    argv = cli_argv(FAST)
    (tmp_path / 'a.md').write_text('# Market\n\n' + ' '.join(['blue fish'] * 1900) + '\n')  # 18,999 characters, no sentence end: one node by default
    code, out, err = run_cli([*argv, '--set', 'memory.max_node_chars=5000', 'ingest', '--no-progress', str(tmp_path / 'a.md')])
    assert code == 0, err
    got = nodes(fast_cfg(tmp_path / 'data'))
    assert len(got) == 4 and all(len(n.text) <= 5000 and n.text.startswith('Market: blue fish') for n in got)


def test_a_too_long_jsonl_record_is_refused_naming_its_line_and_nothing_is_stored(cli_argv, tmp_path):
    argv = cli_argv(FAST)
    f = tmp_path / 'docs.jsonl'
    f.write_text(json.dumps(dict(text='short one')) + '\n' + json.dumps(dict(text='word ' * 5000)) + '\n')
    code, out, err = run_cli([*argv, 'ingest', '--no-progress', str(f)])
    assert code == 1 and f"{f}:2: text is 25,000 characters, more than memory.max_node_chars (20,000)" in err, err
    assert not (tmp_path / 'data').exists()  # refused before the memory was opened


def test_a_too_long_transcript_turn_is_refused_naming_its_line(cli_argv, tmp_path):
    argv = cli_argv(FAST)
    f = tmp_path / 'chat.jsonl'
    f.write_text(json.dumps(dict(speaker='Dana', text='hi', session=1)) + '\n' +
                 json.dumps(dict(speaker='Sam', text='la ' * 7000, session=1)) + '\n')
    code, out, err = run_cli([*argv, 'ingest', '--no-progress', str(f)])
    assert code == 1 and f"{f}:2: text with its date and speaker is 21,004 characters, more than memory.max_node_chars (20,000)" in err, err
    assert not (tmp_path / 'data').exists()
    with pytest.raises(InvalidInputError, match=r"chat.jsonl:2: text with its date and speaker is 21,004 characters"): check_transcript(f)
    assert check_transcript(f, max_chars=30_000) == 2


# --- 7. transcripts that share a file name ---------------------------------------------------------------------

def test_two_chat_files_of_one_name_keep_their_own_conversations_and_ids(cli_argv, tmp_path):
    argv = cli_argv(FAST)
    for d in ('a', 'b'):
        (tmp_path / 'two' / d).mkdir(parents=True)
        (tmp_path / 'two' / d / 'chat.jsonl').write_text(
            ''.join(json.dumps(dict(speaker=s, text=f"{d} says {t}", session=1)) + '\n' for s, t in (('Dana', 'hi'), ('Sam', 'hello'))))
    code, out, err = run_cli([*argv, 'ingest', '--no-progress', str(tmp_path / 'two')])
    assert code == 0, err
    assert 'ingested 4 records from 2 files' in out and 'a/chat.jsonl 2, b/chat.jsonl 2' in out, out  # was "chat.jsonl 2"
    got = nodes(fast_cfg(tmp_path / 'data'))
    assert sorted(n.metadata['turn_id'] for n in got) == ['a/chat:1', 'a/chat:2', 'b/chat:1', 'b/chat:2']
    assert {n.text.split(' says ')[0].split(': ')[1]: n.source for n in got} == {'a': 'a/chat-s1', 'b': 'b/chat-s1'}


def test_a_unique_transcript_name_stays_its_stem(cli_argv, tmp_path):
    argv = cli_argv(FAST)
    (tmp_path / 'dana.jsonl').write_text(json.dumps(dict(speaker='Dana', text='hi', session=1)) + '\n')
    assert run_cli([*argv, 'ingest', '--no-progress', str(tmp_path / 'dana.jsonl')])[0] == 0
    [n] = nodes(fast_cfg(tmp_path / 'data'))
    assert (n.metadata['turn_id'], n.source, n.metadata['conversation']) == ('dana:1', 'dana-s1', 'dana')


# --- 8. bench --readme is checked before any suite runs ----------------------------------------------------------

@pytest.mark.parametrize('readme, why', [('missing.md', 'missing.md: no such file'), ('plain.md', 'must contain the markers')])
def test_bench_checks_its_readme_before_running_anything(tmp_path, monkeypatch, readme, why):
    import ruvllm.bench as bench
    def never(**kw): raise AssertionError("a suite ran before the README was checked")
    monkeypatch.setitem(bench.SUITES, 'cache', dataclasses.replace(bench.SUITES['cache'], fn=never))
    (tmp_path / 'plain.md').write_text('# a README without the markers\n')
    t0 = time.perf_counter()
    code, out, err = run_cli(['bench', '--quick', '--no-progress', '--out', str(tmp_path / 'out'), '--readme', str(tmp_path / readme), 'cache'])
    assert code == 1 and why in err and 'AssertionError' not in err, err
    assert time.perf_counter() - t0 < 5 and not (tmp_path / 'out').exists()


# --- 9. ingest --type Concept ---------------------------------------------------------------------------------------

def test_ingest_refuses_type_concept_and_help_does_not_offer_it(cli_argv, tmp_path):
    argv = cli_argv(FAST)
    (tmp_path / 'a.txt').write_text('Quorvane was founded by Ilsa Varn.\n')
    code, out, err = run_cli([*argv, 'ingest', '--type', 'Concept', str(tmp_path / 'a.txt')])
    assert code == EXIT_USAGE and 'Concept nodes are the index entries' in err and 'never quoted as evidence' in err, err
    assert not (tmp_path / 'data').exists()
    code, out, err = run_cli(['ingest', '--help'])
    assert code == 0 and '(Query, Document, QAPair, Fact, AgentStep; default Document)' in ' '.join(out.split()), out
    with pytest.raises(InvalidInputError, match='"type" is Concept'): jsonl_record(dict(text='x', type='Concept'), 'f.jsonl:1')


# --- 10. a symbolic link loop is not "no such file" -------------------------------------------------------------------

def test_a_symlink_loop_and_a_broken_link_are_told_apart(cli_argv, tmp_path):
    argv = cli_argv(FAST)
    (tmp_path / 'selfloop').symlink_to('selfloop')
    (tmp_path / 'broken.txt').symlink_to(tmp_path / 'gone.txt')
    code, out, err = run_cli([*argv, 'ingest', str(tmp_path / 'selfloop')])
    assert code == 1 and f"{tmp_path / 'selfloop'}: a symbolic link loop" in err, err
    code, out, err = run_cli([*argv, 'ingest', str(tmp_path / 'broken.txt')])
    assert code == 1 and f"{tmp_path / 'broken.txt'}: a broken symbolic link (its target '{tmp_path / 'gone.txt'}' does not exist)" in err, err
    code, out, err = run_cli([*argv, 'ingest', str(tmp_path / 'nothing.txt')])
    assert code == 1 and f"{tmp_path / 'nothing.txt'}: no such file or directory" in err, err


# --- one rule for empty text ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('text', ['\u200b', '\u200b \u200b', '\ufeff\u2060'])
def test_text_of_zero_width_characters_only_is_empty(text):
    with pytest.raises(InvalidInputError, match='"text" must be a non-empty string'): jsonl_record(dict(text=text), 'f.jsonl:1')
    with pytest.raises(InvalidInputError, match='"text" must be a non-empty string'):
        turn_record(dict(speaker='Dana', text=text, session=1), 'c.jsonl:1')
