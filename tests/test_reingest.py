"""A chat turn read again is one memory holds, whatever its file is called, whichever files came with it on the
command line, and however many blank lines the file has; two different turns are never taken for one (a probe found
that a renamed export, a file given to the CLI alone after it came with another, and a blank line less each stored
the transcript again: the conversation, source and default turn id came from the file's name and line numbers)."""
import json, shutil
from pathlib import Path

from ruvllm import Config, RuvLLM
from ruvllm.cli import run_cli

EXTRACTIVE = '[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n\n[system]\nwarm_up = false\n'
DANA_SAM = [dict(id=f"ds-00{i + 1}", session=1 + i // 3, timestamp=f"2023-03-0{4 + i // 3}T19:0{i % 3}:00", speaker=s, text=t)
            for i, (s, t) in enumerate([
                ('Sam', "Hey Dana! How was your weekend?"),
                ('Dana', "Pretty good! My sister Lena got into the marine biology program in Kiel."),
                ('Sam', "That's amazing, congrats to her"),
                ('Dana', "ok"), ('Sam', "Did you finish the half marathon?"), ('Dana', "Yes, in 2:05, my knees are done.")])]
TEAM = [dict(speaker=s, text=t, timestamp=f"2023-11-13T09:0{i}:00-08:00") for i, (s, t) in enumerate([
    ('Priya', "Reminder: the v2.3 release is scheduled for November 21."), ('Marcus', "Ack. Two PRs still open."), ('Dana', "ok")])]
UNDATED = [dict(session=1, speaker='Dana', text='ok'), dict(session=1, speaker='Sam', text='see you at six'),
           dict(session=1, speaker='Dana', text='ok'), dict(session=2, speaker='Sam', text='bring the map')]


def _llm(path):
    return RuvLLM(Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
                  .set('system.warm_up', False).build(), start_scheduler=False)


def _write(path: Path, turns, blank_after: int | None = None, drop=('',)) -> Path:
    "A JSONL transcript; with `blank_after`, an empty line after that many turns."
    lines = [json.dumps({k: v for k, v in t.items() if k not in drop}) for t in turns]
    if blank_after is not None: lines.insert(blank_after, '')
    path.parent.mkdir(parents=True, exist_ok=True); path.write_text('\n'.join(lines) + '\n')
    return path


def test_a_renamed_export_stores_only_its_new_turns(tmp_path):
    with _llm(tmp_path / 'db') as llm:
        first = llm.ingest(_write(tmp_path / 'dana_sam.jsonl', DANA_SAM[:5]), progress=False)
        assert first.stored == 5
        grown = llm.ingest(_write(tmp_path / 'dana_sam_export_2023-10.jsonl', DANA_SAM), progress=False)  # renamed, one turn more
        assert (grown.stored, grown.already) == (1, 5) and list(grown[:5]) == list(first)
        assert len(llm.memory) == 6


def test_a_blank_line_less_stores_nothing(tmp_path):
    f = tmp_path / 'noid.jsonl'
    with _llm(tmp_path / 'db') as llm:
        first = llm.ingest(_write(f, DANA_SAM, blank_after=2, drop=('id',)), progress=False)  # no ids: turns are numbered by line
        again = llm.ingest(_write(f, DANA_SAM, drop=('id',)), progress=False)
        assert first.stored == 6 and (again.stored, again.already) == (0, 6) and list(again) == list(first)
        edited = llm.ingest(_write(f, [DANA_SAM[0], dict(DANA_SAM[1], text="Pretty good :)"), *DANA_SAM[2:]], drop=('id',)), progress=False)
        assert edited.new == [False, True, False, False, False, False]  # an edited turn is another turn, the rest are held
        assert len(llm.memory) == 7


def test_an_undated_turn_said_twice_stays_two_turns(tmp_path):
    f = tmp_path / 'undated.jsonl'
    with _llm(tmp_path / 'db') as llm:
        first = llm.ingest(_write(f, UNDATED), progress=False)
        assert first.stored == 4 and len(set(first)) == 4  # Dana's two "ok" are two turns
        again = llm.ingest(_write(f, UNDATED, blank_after=1), progress=False)  # a blank line more shifts every later line
        assert again.stored == 0 and list(again) == list(first)  # each "ok" matched with its own node
        more = llm.ingest(_write(f, [*UNDATED, dict(session=2, speaker='Dana', text='ok')]), progress=False)
        assert more.new == [False] * 4 + [True] and len(llm.memory) == 5  # a third "ok" is a new turn


def test_two_undated_chats_that_each_say_ok_keep_both(tmp_path):
    with _llm(tmp_path / 'db') as llm:
        a = llm.ingest(_write(tmp_path / 'a.jsonl', UNDATED[:2]), progress=False)
        b = llm.ingest(_write(tmp_path / 'b.jsonl', UNDATED[:2]), progress=False)
        assert a.stored == 2 and b.stored == 2 and not set(a) & set(b)  # without a time, only the conversation tells them apart
        assert llm.ingest(_write(tmp_path / 'b.jsonl', UNDATED[:2], blank_after=0), progress=False).stored == 0
        assert len(llm.memory) == 4


def test_the_cli_recognises_a_file_given_alone_after_it_came_with_another(tmp_path, cli_argv):
    base = cli_argv(EXTRACTIVE)
    a, b = _write(tmp_path / 'a' / 'chat.jsonl', DANA_SAM), _write(tmp_path / 'b' / 'chat.jsonl', TEAM)
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(a), str(b)])
    assert code == 0, err
    assert "stored per namespace: global 9" in out and "memory now has 9 live nodes" in out
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(a)])  # alone: its conversation is 'chat', not 'a/chat'
    assert code == 0, err
    assert "6 records already in memory" in out and "stored per namespace: global 0" in out, out
    assert "memory now has 9 live nodes" in out
    shutil.copy(a, tmp_path / 'dana.jsonl')
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(tmp_path / 'dana.jsonl'), str(b)])  # renamed, with another
    assert code == 0 and "stored per namespace: global 0" in out and "memory now has 9 live nodes" in out, out
