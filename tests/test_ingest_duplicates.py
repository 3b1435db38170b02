"""An item memory already holds is not stored again: the same upload twice, a reopened memory, another process's
ingest, an archived passage; chat turns that repeat within a session are still two turns."""
import json, subprocess, sys
from pathlib import Path

from ruvllm.cli import run_cli
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory
from ruvllm.transcripts import transcript_records
from ruvllm.types import EdgeType

ROOT = Path(__file__).resolve().parent.parent
EXTRACTIVE = '[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n'
MANUAL = [dict(text=f"Step {i}: tighten bolt {i} by hand.", source='manual.md') for i in range(6)]


def _mem(path): return Memory.open(path, HashingEmbedder(dim=32))


def _follows(m): return sorted((e.src, e.dst) for i in m.live_ids() for e in m.edges_of(i) if e.type == EdgeType.FOLLOWS and e.src == i)


def test_the_same_items_after_a_reopen_store_nothing_and_link_nothing(tmp_path):
    with _mem(tmp_path / 'm') as m: first = m.ingest(MANUAL, batch_size=4, progress=False); edges = _follows(m)
    assert first.new == [True] * 6 and len(edges) == 5
    with _mem(tmp_path / 'm') as m:
        again = m.ingest(MANUAL, batch_size=4, progress=False)
        assert list(again) == list(first) and again.stored == 0 and again.already == 6
        assert len(m) == 6 and _follows(m) == edges


def test_an_ingest_another_process_committed_is_seen(tmp_path):
    with _mem(tmp_path / 'm') as m:
        m.ingest(MANUAL[:1], progress=False)  # this process has the memory open and knows one passage
        code = ("import json, sys; from ruvllm.memory import Memory; from ruvllm.embedding import HashingEmbedder\n"
                f"m = Memory.open(sys.argv[1], HashingEmbedder(dim=32)); print(len(m.ingest(json.loads(sys.argv[2]), progress=False))); m.close()")
        subprocess.run([sys.executable, '-c', code, str(tmp_path / 'm'), json.dumps(MANUAL)], check=True, cwd=ROOT, timeout=120)
        again = m.ingest(MANUAL, progress=False)
        assert again.stored == 0 and len(m) == 6


def test_an_archived_passage_is_not_stored_again(tmp_path):
    with _mem(tmp_path / 'm') as m:
        ids = m.ingest(MANUAL, progress=False)
        m.archive([ids[2]])
        again = m.ingest(MANUAL, progress=False)
        assert list(again) == list(ids) and again.stored == 0 and len(m) == 5  # still archived: not brought back as a copy


def test_namespace_type_and_source_tell_passages_apart(tmp_path):
    with _mem(tmp_path / 'm') as m:
        m.ingest(MANUAL, progress=False)
        other = [dict(MANUAL[0], namespace='bob'), dict(MANUAL[0], type='Fact'), dict(MANUAL[0], source='other.md'), dict(text=MANUAL[0]['text'])]
        got = m.ingest(other, progress=False)
        assert got.new == [True] * 4 and len(set(got)) == 4
        assert m.ingest(other, progress=False).stored == 0


def test_a_transcript_keeps_repeated_turns_and_is_stored_once(tmp_path):
    turns = [dict(speaker='Dana', text='ok', session=1), dict(speaker='Sam', text='see you at six', session=1),
             dict(speaker='Dana', text='ok', session=1)]
    with _mem(tmp_path / 'm') as m:
        first = m.ingest(list(transcript_records(turns)), progress=False)
        assert first.new == [True] * 3 and len(set(first)) == 3  # the two "ok" turns are two turns
        assert m.ingest(list(transcript_records(turns)), progress=False).stored == 0


def test_the_cli_says_what_it_did_not_store_again(tmp_path, cli_argv):
    base = cli_argv(EXTRACTIVE)
    f = tmp_path / 'handbook.md'; f.write_text("The office opens at 9 am.\n\nParking is free on level 2.\n")
    assert run_cli([*base, 'ingest', str(f)])[0] == 0
    code, out, err = run_cli([*base, 'ingest', str(f)])
    assert code == 0, err
    assert "2 records already in memory (the same source and text, or the same chat turn) not stored again; 0 stored" in out
    assert "memory now has 2 live nodes" in out
    assert out.startswith("read 2 records") and "stored per namespace: global 0" in out  # not "ingested" (a server probe)


def test_items_with_their_own_metadata_are_two_records(tmp_path):
    "Two tickets with one text and their own ids are two records (the key used to leave metadata out and dropped one)."
    tickets = [dict(text="Printer on floor 3 is jammed.", source='tickets', metadata=dict(ticket=101)),
               dict(text="Printer on floor 3 is jammed.", source='tickets', metadata=dict(ticket=102))]
    with _mem(tmp_path / 'm') as m:
        got = m.ingest(tickets, progress=False)
        assert got.new == [True, True] and len(set(got)) == 2
        assert m.ingest(tickets, progress=False).stored == 0


def test_the_cli_warns_when_a_transcript_is_read_as_documents(tmp_path, cli_argv):
    "An export whose first line is a header was stored as plain passages without a word (conversation probe 4)."
    base = cli_argv(EXTRACTIVE)
    f = tmp_path / 'chat.jsonl'
    f.write_text('{"text": "Chat export from WhatsApp", "timestamp": "2023-05-07T09:00"}\n'
                 '{"speaker": "Dana", "text": "we got the keys", "timestamp": "2023-05-07T10:00"}\n')
    code, out, err = run_cli([*base, 'ingest', str(f)])
    assert code == 0, err
    assert f"{f}: read as documents, not as a chat transcript" in err and "(line 2 is)" in err
    g = tmp_path / 'turns.jsonl'; g.write_text('{"speaker": "Dana", "text": "we got the keys", "timestamp": "2023-05-07T10:00"}\n')
    assert "warning" not in run_cli([*base, 'ingest', str(g)])[2]  # a transcript: no warning


def test_two_ingests_of_the_same_items_at_once_store_them_once(tmp_path):
    "Each looked for its items among the nodes held when it began: two threads ingesting 2,000 notes made 4,000 nodes."
    import threading
    notes = [f"Note {i}: the north gate opens at {i % 24}:00." for i in range(600)]
    with _mem(tmp_path / 'm') as m:
        outs = []
        ts = [threading.Thread(target=lambda: outs.append(m.ingest(notes, batch_size=50, progress=False))) for _ in range(2)]
        for t in ts: t.start()
        for t in ts: t.join()
        assert len(m) == 600 and sorted(o.stored for o in outs) == [0, 600]
        assert list(outs[0]) == list(outs[1])  # the same ids, whichever stored them
