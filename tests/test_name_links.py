"Propagation's name links: a turn that shares a rare name with a strong seed moves up, through the default retrieval path."
import pytest
from chat_ranking import chat_items, extractive_config, past_a_window, ranked
from ruvllm.config import Config
from ruvllm.orchestrator import RuvLLM
from ruvllm.types import EdgeType

S1 = [("Sam", "guess what, we finally adopted a dachshund, he is called Basil"), ("Dana", "no way, send pictures!"),
      ("Sam", "my dog sleeps all day and snores"), ("Dana", "the weather has been grey all week"), ("Sam", "work was busy, lots of meetings")]
S2 = [("Dana", "how was your weekend?"), ("Sam", "update: Basil ate half a birthday cake off the counter this morning"),
      ("Dana", "haha amazing"), ("Sam", "I finally fixed my bike"), ("Dana", "we had pizza last Friday")]
Q = "What did Sam's new dachshund get up to?"

def _items(): return chat_items(past_a_window([('s1', '2023-03-04', S1), ('s2', '2023-06-10', S2)]))

def _ranked(tmp_path, name, **memory):  # the turn-length prior off: the Basil turn is the longest, so the prior alone would lift it
    return ranked(tmp_path / name, _items(), Q, **{'length_prior': 0.0, **memory})

def test_a_rare_shared_name_lifts_the_later_turn_in_the_default_retrieval(tmp_path):
    ids, with_names, _ = _ranked(tmp_path, 'on')
    _, without, _ = _ranked(tmp_path, 'off', propagate_name_mix=0.0)
    assert Config().memory.retrieval == 'hybrid_graph' and Config().memory.propagate_name_mix > 0
    assert with_names.index(ids[6]) == 1, with_names  # right after the adoption that names Basil
    assert without.index(ids[6]) > 3, without
    _, names_alone, _ = _ranked(tmp_path, 'alone', propagate_window=0)
    assert names_alone.index(ids[6]) == 1, names_alone  # the names alone: right after the adoption

def test_a_name_brings_a_turn_that_is_no_candidate_as_hop_one(tmp_path):
    ids, ranked, sg = _ranked(tmp_path, 'few', hybrid_candidates=2, search_k=3)
    n = sg.nodes[ids[6]]
    assert (n.hop, n.via, n.parent) == (1, EdgeType.SAME_TOPIC, ids[0])
    _, ranked_off, _ = _ranked(tmp_path, 'few_off', hybrid_candidates=2, search_k=3, propagate_name_mix=0.0)
    assert ids[6] not in ranked_off

def test_an_archived_turn_is_neither_linked_nor_counted(tmp_path):
    with RuvLLM(extractive_config(tmp_path / 'arch'), start_scheduler=False) as llm:
        ids = llm.ingest(_items() + [dict(text="[2023-07-01] Dana: Basil the cat next door is back", source='s3',
                                          metadata=dict(speaker='Dana'))], progress=False)
        mem = llm.memory
        assert mem.name_neighbours(ids[0]) == [ids[6], ids[-1]]
        assert mem.name_neighbours(ids[0], max_nodes=2) == []  # three say it: too common for 2
        mem.archive([ids[-1]])
        assert mem.name_neighbours(ids[0], max_nodes=2) == [ids[6]]  # the archived one no longer counts

def test_a_name_links_only_where_it_is_written_as_a_name(tmp_path):
    with RuvLLM(extractive_config(tmp_path / 'end'), start_scheduler=False) as llm:
        ids = llm.ingest([dict(text="[2023-08-01] Sam: we got tickets for a West End musical", source='s', metadata=dict(speaker='Sam')),
                          dict(text="[2023-08-02] Dana: I move out at the end of the month", source='s', metadata=dict(speaker='Dana')),
                          dict(text="[2023-08-09] Dana: End of the month is here, send help", source='s', metadata=dict(speaker='Dana'))],
                         progress=False)
        assert llm.memory.name_neighbours(ids[0]) == [ids[2]]  # "End" written as a word starting a sentence counts; "the end" does not

def test_a_name_raises_a_node_up_to_but_never_past_the_seed_that_named_it(tmp_path):
    with RuvLLM(extractive_config(tmp_path / 'cap'), start_scheduler=False) as llm:
        z, q = llm.ingest(["The Zorblat river flows through Quenby.", "Quenby is the capital of Marsovia."], progress=False)
        mem = llm.memory
        act = mem.propagate({z: 1.0, q: 0.9}, hops=0, sharpness=2.0)  # sharpened: 1.0 and 0.81; the name "Quenby" adds 0.5
        assert 0.81 < act[q] < act[z] == 1.0
        assert mem.propagate({z: 1.0, q: 0.9}, hops=0, sharpness=2.0, name_mix=0.0)[q] == pytest.approx(0.81)
        top = mem.hybrid_subgraph("Which river flows through Quenby?").ranked()[0].node.id
        assert top == z
