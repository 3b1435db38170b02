"""One limit on a node's text (`memory.max_node_chars`) and one namespace rule, on every path that writes or reads memory.

A 50 MB paragraph used to be stored as one node, after which every query that retrieved it took ~45 s; the Python API
took namespaces ("bad ns!", "a/b", "global\\n") that the CLI and HTTP API refuse, so what it stored could not be asked for."""
import pytest

from ruvllm import Config, Constraints, RuvLLM
from ruvllm.config import MemoryConfig
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory
from ruvllm.types import Feedback, InvalidInputError, Request


def _mem(path, **kw): return Memory.open(path, HashingEmbedder(dim=32), MemoryConfig(**kw))


def test_a_text_over_the_limit_is_refused_whole_and_nothing_is_stored(tmp_path):
    with _mem(tmp_path / 'm', max_node_chars=100) as m:
        m.ingest(["a short note about the river"], progress=False)
        n0 = len(m)
        for write in (lambda: m.add_node("x " * 60), lambda: m.ingest(["fine", "y " * 60, "fine too"], progress=False),
                      lambda: m.add_nodes([dict(text="fine"), dict(text="z " * 60)])):
            with pytest.raises(InvalidInputError, match=r"is 120 characters, more than memory.max_node_chars \(100\)"): write()
        assert len(m) == n0
        nid = m.live_ids()[0]
        with pytest.raises(InvalidInputError, match="max_node_chars"): m.update_node(int(nid), text="w " * 60)
        assert m.get(int(nid)).text == "a short note about the river"  # the old text kept
        m.add_node("q" * 100)  # at the limit: stored
        assert len(m) == n0 + 1


def test_the_limit_is_a_validated_setting():
    with pytest.raises(Exception, match="max_node_chars"): Config.builder().set('memory.max_node_chars', 5).build()
    assert MemoryConfig().max_node_chars == 20_000


@pytest.mark.parametrize('ns', ['bad ns!', 'a/b', 'global\n', 'x' * 65, 'équipe', ''])
def test_the_python_api_refuses_the_namespaces_the_cli_and_http_refuse(tmp_path, ns):
    with _mem(tmp_path / 'm') as m:
        with pytest.raises(InvalidInputError, match="namespace must be a non-empty string of at most 64 letters"):
            m.ingest(["a note"], namespace=ns, progress=False)
        with pytest.raises(InvalidInputError, match="namespace must be"): m.add_node("a note", namespace=ns)
        with pytest.raises(InvalidInputError, match="namespace must be"): m.search("a note", namespace=ns)
        assert len(m) == 0
    with pytest.raises(InvalidInputError, match="namespace must be"): Request("a question?", namespace=ns)


def _llm(path, **sets):
    b = Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    for k, v in sets.items(): b.set(k.replace('__', '.'), v)
    return RuvLLM(b.build(), start_scheduler=False)


def test_new_session_refuses_a_bad_namespace(tmp_path):
    with _llm(tmp_path / 'd') as llm:
        with pytest.raises(InvalidInputError, match="namespace must be"): llm.new_session("bad ns!")
        assert llm.new_session("team-a").namespace == "team-a"


@pytest.mark.parametrize('writeback', ['queued', 'sync'])
def test_an_answer_too_long_for_one_node_is_served_but_not_kept(tmp_path, writeback):
    "Loop A skips a Q&A longer than the limit (the writer must not fail on it); a short one is kept, so the skip is the length."
    long_fact = "Quorvane was founded by Ilsa Marrow in 1820 on the northern bank of the Orl, where the old ferry crossed."
    with _llm(tmp_path / 'd', memory__max_node_chars=120, learning__quality_threshold=0.0, learning__writeback=writeback,
              learning__keep_unrated_quotes=True) as llm:  # the short quote is kept unrated: the skip is the length
        llm.ingest([long_fact, "Brennik is a mountain."], namespace='o', progress=False)
        n0 = len(llm.memory)
        r = llm.query("Who founded Quorvane?", namespace='o')
        assert 'Ilsa Marrow' in r.text, r.text
        llm.flush()
        assert llm.record(r.request_id).qa_node is None and len(llm.memory) == n0
        assert llm.feedback(Feedback(r.request_id, rating=5)).get('written') is None  # a good rating cannot keep it either
        s = llm.query("What is Brennik?", namespace='o')
        llm.flush()
        assert 'Brennik' in s.text and llm.record(s.request_id).qa_node is not None and len(llm.memory) == n0 + 1


def test_a_correction_too_long_for_one_node_is_refused_and_can_be_given_again(tmp_path):
    with _llm(tmp_path / 'd', memory__max_node_chars=120) as llm:
        llm.ingest(["Brennik is a mountain in Osterra."], namespace='o', progress=False)
        r = llm.query("What is Brennik?", namespace='o', constraints=Constraints(no_cache=True))
        llm.flush(); n0 = len(llm.memory)
        with pytest.raises(InvalidInputError, match=r"corrected Q&A .* more than memory.max_node_chars \(120\)"):
            llm.feedback(Feedback(r.request_id, correction="Brennik is the tallest mountain in Osterra, " * 3))
        assert len(llm.memory) == n0
        out = llm.feedback(Feedback(r.request_id, correction="Brennik is the tallest mountain in Osterra."))
        assert out['correction_node'] is not None


def test_a_transcript_turn_over_the_configured_limit_is_refused_before_anything_is_stored(tmp_path):
    "RuvLLM.ingest_chat checks turns against the memory's own limit (not the default one), naming the file and line."
    import json
    from pathlib import Path
    f = tmp_path / 'chat.jsonl'
    f.write_text('\n'.join(json.dumps(dict(speaker=s, text=t, session='s1')) for s, t in
                           [('Dana', 'hello there'), ('Sam', 'word ' * 40), ('Dana', 'bye')]) + '\n')
    with _llm(tmp_path / 'd', memory__max_node_chars=150) as llm:
        with pytest.raises(InvalidInputError, match=r"chat.jsonl:2: .*max_node_chars \(150\)"): llm.ingest_chat(Path(f), progress=False)
        assert len(llm.memory) == 0
    with _llm(tmp_path / 'e') as llm:  # the default limit takes it; `name` names the conversation
        ids = llm.ingest_chat(Path(f), progress=False, name='dana-sam')
        assert len(ids) == 3 and llm.memory.get(ids[0]).metadata['turn_id'].startswith('dana-sam:')
