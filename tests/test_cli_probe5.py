"""The CLI probe of 7 December (notes/lead44/probe_cli/REPORT.md) on files ingested again:
H1. a .txt paragraph deleted, re-ingested (archived), then put back and re-ingested stayed archived ("already in
    memory"), and `ask` quoted another paragraph;
H7. a JSONL record naming a .txt file as its "source" archived that file's passages;
H4. one line added at the top of a JSONL file of documents stored every record again (their line numbers were part of
    what makes a record the same one), so memory held each twice, live."""
import json

import pytest

from ruvllm.cli import run_cli

EXTRACTIVE = '[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n'


@pytest.fixture
def base(cli_argv): return cli_argv(EXTRACTIVE)


def _ingest(base, *paths) -> str:
    code, out, err = run_cli([*base, 'ingest', '--no-progress', *map(str, paths)])
    assert code == 0, err
    return out


def _live(out: str) -> int:
    return int(out.split('memory now has ')[1].split()[0])


def _ask(base, q: str) -> str:
    code, out, err = run_cli([*base, 'ask', '--no-cache', '--json', q])
    assert code == 0, err
    return json.loads(out)['text']


P1, P2, P3 = ("Para one about the Hesper canal.", "The Hesper canal is 14 kilometres long.", "Para three about the locks.")


def test_a_paragraph_put_back_is_restored(base, tmp_path):
    f = tmp_path / 'u.txt'
    f.write_text(f"{P1}\n\n{P2}\n\n{P3}\n"); assert _live(_ingest(base, f)) == 3
    f.write_text(f"{P1}\n\n{P3}\n"); out = _ingest(base, f)
    assert '1 passage no longer in the file archived' in out and _live(out) == 2
    f.write_text(f"{P1}\n\n{P2}\n\n{P3}\n"); out = _ingest(base, f)
    assert '1 passage back in the file restored' in out and _live(out) == 3, out
    assert '14 kilometres' in _ask(base, 'How long is the Hesper canal?')


def test_a_jsonl_record_naming_a_txt_file_archives_nothing(base, tmp_path):
    f = tmp_path / 'u.txt'
    f.write_text(f"{P1}\n\n{P2}\n"); assert _live(_ingest(base, f)) == 2
    j = tmp_path / 'extra.jsonl'
    j.write_text(json.dumps({'text': 'The Hesper canal opened in 1802.', 'source': str(f.resolve())}) + '\n')
    out = _ingest(base, j)
    assert 'archived' not in out and _live(out) == 3, out


def test_a_line_added_above_stores_nothing_again(base, tmp_path):
    j = tmp_path / 'docs.jsonl'
    lines = [json.dumps({'text': t}) for t in (P1, P2, P3)]
    j.write_text('\n'.join(lines) + '\n'); assert _live(_ingest(base, j)) == 3
    j.write_text('\n'.join([json.dumps({'text': 'A new first record.'}), *lines]) + '\n')
    out = _ingest(base, j)
    assert _live(out) == 4 and '3 records already in memory' in out, out


def test_a_namespace_that_holds_nothing_is_named(base, tmp_path):
    "M10: `ask --namespace Dana` with the notes in 'dana' answered \"I don't know\" and said nothing of why."
    j = tmp_path / 'dana.jsonl'
    j.write_text(json.dumps({'text': 'Dana lives in Leeds.', 'namespace': 'dana'}) + '\n'); _ingest(base, j)
    code, out, err = run_cli([*base, 'ask', '--namespace', 'Dana', 'Where does Dana live?'])
    assert code == 0 and "namespace 'Dana' holds no memory of its own" in err and 'dana 1' in err, err
    code, out, err = run_cli([*base, 'ask', '--namespace', 'dana', 'Where does Dana live?'])
    assert code == 0 and 'holds no memory' not in err and 'Leeds' in out, (out, err)


def test_a_memory_whose_database_is_gone_is_named_as_such(base, tmp_path):
    "M14: after memory.sqlite was deleted, `stats` said 'no ruvllm data directory ... create one with ruvllm ingest'."
    f = tmp_path / 'u.txt'; f.write_text(P2 + '\n'); _ingest(base, f)
    for p in (tmp_path / 'data').glob('memory.sqlite*'): p.unlink()
    code, out, err = run_cli([*base, 'stats'])
    assert code != 0 and 'is missing, but the index' in err and 'restore the database from a backup' in err, err
    assert not (tmp_path / 'data' / 'memory.sqlite').exists()  # nothing made in its place


def test_an_edited_turn_with_its_id_replaces_the_earlier_version(base, tmp_path):
    "H5: a re-export where message m1 was edited ('Tuesday' -> 'Thursday') kept both versions live; `ask` could quote either."
    t = tmp_path / 'team.jsonl'
    turn = lambda text: json.dumps({'id': 'm1', 'speaker': 'Ana', 'timestamp': '2023-05-08T09:00:00', 'text': text})
    other = json.dumps({'id': 'm2', 'speaker': 'Bo', 'timestamp': '2023-05-08T09:01:00', 'text': 'great, see you there'})
    t.write_text(turn('The Tolvan meeting is on Tuesday.') + '\n' + other + '\n'); assert _live(_ingest(base, t)) == 2
    t.write_text(turn('The Tolvan meeting is on Thursday.') + '\n' + other + '\n'); out = _ingest(base, t)
    assert '1 edited chat turn replaced the version stored before' in out and _live(out) == 2, out
    assert 'Thursday' in _ask(base, 'When is the Tolvan meeting?')
    t.write_text(turn('The Tolvan meeting is on Tuesday.') + '\n' + other + '\n'); out = _ingest(base, t)  # the older export again:
    assert _live(out) == 2 and '2 edited chat turns replaced' in out, out  # the export ingested last is the truth of its ids
    t.write_text(turn('The Tolvan meeting is on Thursday.') + '\n' + other + '\n'); out = _ingest(base, t)
    assert _live(out) == 2 and 'Thursday' in _ask(base, 'When is the Tolvan meeting?'), out  # restored, not stuck archived


def test_a_directory_with_only_a_lock_file_is_no_memory(base, tmp_path):
    "A directory holding only memory.lock is not a memory whose database is gone: `stats` refuses and makes nothing."
    (tmp_path / 'data').mkdir(); (tmp_path / 'data' / 'memory.lock').write_text('')
    code, out, err = run_cli([*base, 'stats'])
    assert code != 0 and 'no ruvllm data directory' in err, err
    assert not (tmp_path / 'data' / 'memory.sqlite').exists()


def test_a_passage_archived_by_hand_stays_archived(base, tmp_path):
    "Only what `ruvllm ingest` archived is restored when the file holds it again (a review finding): not a passage archived on purpose."
    from ruvllm import Config, RuvLLM
    f = tmp_path / 'u.txt'
    f.write_text(f"{P1}\n\n{P2}\n\n{P3}\n"); _ingest(base, f)
    cfg = Config.builder().db_path(tmp_path / 'data').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        nid = next(h.node.id for h in llm.memory.search(P2, k=3) if h.node.text == P2)
        llm.memory.archive([nid])
    out = _ingest(base, f)
    assert 'restored' not in out and _live(out) == 2, out
