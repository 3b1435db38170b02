"""Defects a probe of the Python API found (lead31/api_probe, 6 December), each test failing on the code before."""
import pytest

from ruvllm import Config, Feedback, RuvLLM
from ruvllm.types import InvalidInputError


def opened(path, **kw) -> RuvLLM:
    b = (Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'})
         .set('router.safe_tier', 'tiny').set('system.warm_up', False))
    return RuvLLM(b.update(kw).build(), start_scheduler=False)


def asked(llm, q, **kw):
    r = llm.query(q, **kw); llm.flush()
    return r


def test_a_correction_with_a_good_rating_replaces_the_answer_for_every_wording(tmp_path):
    """"4 stars, but it's 12 now" on a hit served for a paraphrase kept the entry the original question made: that
    question went on getting the superseded answer, from the cache (the rating decided, not the correction)."""
    Q, P = "How many elephants does the Vetra zoo have?", "How many elephants live at the Vetra zoo?"
    with opened(tmp_path / 'd') as llm:
        llm.ingest(["The Vetra zoo has 40 elephants.", "The Vetra zoo opened in 1950."], progress=False)
        llm.feedback(Feedback(asked(llm, Q).request_id, rating=5))
        hit = asked(llm, P)
        assert hit.cached and '40' in hit.text
        out = llm.feedback(Feedback(hit.request_id, rating=4, correction="The Vetra zoo has 12 elephants since the 2024 move."))
        assert out['cache_invalidated'] >= 1
        assert all('40' not in asked(llm, q).text for q in (Q, P, Q))


def test_a_transcript_lines_own_namespace_is_where_its_turns_go(tmp_path):
    """A turn's "namespace" went to its metadata and the turn to `global`, which every namespace reads: a private chat
    answered another tenant's question (`ingest --help` says a JSONL line's own namespace wins)."""
    turns = [dict(speaker='Ann', text="My bank PIN is 4417, do not tell anyone.", session=1, namespace='ann'),
             dict(speaker='Bob', text="I will keep it secret.", session=1, namespace='ann')]
    with opened(tmp_path / 'd') as llm:
        llm.ingest_chat(turns, progress=False)
        assert llm.memory.stats()['namespaces'] == {'ann': 2}
        assert '4417' not in asked(llm, "What is the bank PIN?", namespace='carol').text
        assert '4417' in asked(llm, "What is the bank PIN?", namespace='ann').text
        with pytest.raises(InvalidInputError, match=r'turns:1: "namespace" must be'):
            llm.ingest_chat([dict(turns[0], namespace='a/b')], progress=False)


def test_metadata_keys_must_be_strings(tmp_path):
    "An int or None key passed the check and crashed the duplicate check inside the JSON encoder (a bare TypeError)."
    with opened(tmp_path / 'd') as llm:
        for md in ({2023: 'year', 'page': 3}, {None: 'x'}, {'a': {1: 'b'}}):
            with pytest.raises(InvalidInputError, match='keys must be strings'):
                llm.ingest([dict(text="The Orl is a river.", metadata=md)], progress=False)
        assert len(llm.memory) == 0


def test_settings_that_broke_every_query_are_refused_when_built(tmp_path):
    """A misspelt edge type passed `build()`, then every query failed as bad input (a 400) naming no setting; a cost
    table without a configured tier passed `build()` and failed at open as a RouterError."""
    from ruvllm.config import ConfigError
    with pytest.raises(ConfigError, match="memory.propagate_edge_weights has unknown edge type 'SameTopik'"):
        Config.builder().set('memory.propagate_edge_weights', {'Follows': 1.0, 'SameTopik': 1.0}).build()
    with pytest.raises(ConfigError, match='inference.tier_costs lacks a cost for the configured tier'):
        Config.builder().set('inference.tiers', {'tiny': 'extractive', 'medium': 'extractive'}).set('inference.tier_costs', {'tiny': 0.0}).build()


def test_a_concept_ingested_by_hand_is_refused_as_the_cli_refuses_it(tmp_path):
    "A Concept is an index entry over Loop C's members and is never quoted: stored through the API, it could never answer."
    with opened(tmp_path / 'd') as llm:
        with pytest.raises(InvalidInputError, match='type is Concept'):
            llm.ingest(["The Orl is the longest river in Quenby."], type='Concept', progress=False)
        with pytest.raises(InvalidInputError, match='item 1: "type" is Concept'):
            llm.ingest(["The Orl is a river.", dict(text="Quenby has three rivers.", type='concept')], progress=False)
        with pytest.raises(InvalidInputError, match='item 0: "type" is Concept'):
            llm.ingest(iter([dict(text="Quenby has three rivers.", type='Concept')]), progress=False)
        assert len(llm.memory) == 0


def test_router_settings_changed_in_the_config_take_effect_on_a_saved_memory(tmp_path):
    """The stored router kept the settings of the day it was saved: `router.safe_tier` and `router.exploration` changed
    in the config did nothing; a router of another shape failed every query with "features must have shape (128,)"."""
    from ruvllm.config import ConfigError
    tiers = {'inference.tiers': {'tiny': 'extractive', 'small': 'extractive'}}
    with opened(tmp_path / 'd', **tiers, **{'router.safe_tier': 'small', 'router.exploration': 0.05}) as llm:
        llm.query("Where does the Orl flow?"); llm.save()
    with opened(tmp_path / 'd', **tiers, **{'router.safe_tier': 'tiny', 'router.exploration': 0.0}) as llm:
        assert (llm.router.cfg.safe_tier, llm.router.cfg.exploration) == ('tiny', 0.0)
    with pytest.raises(ConfigError, match=r'router.input_dim 128 \(configured: 256\)'):
        opened(tmp_path / 'd', **tiers, **{'router.input_dim': 256})


def test_a_session_keeps_its_newest_turns_only(tmp_path):
    "Every turn stored the whole session: at 3,000 turns each query wrote 0.6 MB and took 6-23x as long."
    from ruvllm.config import ConfigError
    with opened(tmp_path / 'd', **{'system.session_turns': 8}) as llm:
        llm.ingest(["The Orl is the longest river in Quenby."], progress=False)
        s = llm.new_session()
        asked = [f"Is the Orl longer than river number {i}?" for i in range(12)]
        for q in asked: llm.query(q, session=s)
        assert [t.query for t in llm.sessions[s.session_id].turns] == asked[-8:]
    with opened(tmp_path / 'd', **{'system.session_turns': 8}) as llm:  # and so it is stored
        assert [t.query for t in llm.sessions[s.session_id].turns] == asked[-8:]
    with pytest.raises(ConfigError, match='system.session_turns must be at least context.history_turns'):
        Config.builder().set('system.session_turns', 2).build()


def test_the_extractive_tier_answers_what_is_asked_among_passages_that_share_its_words(tmp_path):
    """"Who founded Quorvane?" was answered "Quorvane was founded in 1820.": both facts hold every word of the question.
    And a correction of a follow-up was stored under the question before it, which it then answered for everyone."""
    from ruvllm import Constraints
    with opened(tmp_path / 'd') as llm:
        llm.ingest(["Quorvane was founded in 1820.", "Quorvane was founded by Ilsa Marrow.", "Quorvane is a port city on the Vell coast."], progress=False)
        ask = lambda q, **kw: asked(llm, q, constraints=Constraints(no_cache=True), **kw).text
        assert 'Ilsa Marrow' in ask("Who founded Quorvane?") and '1820' in ask("When was Quorvane founded?")
    with opened(tmp_path / 'e') as llm:
        llm.ingest(["Quorvane was founded by Ilsa Marrow.", "Quorvane is a port city on the Vell coast."], progress=False)
        s = llm.new_session()
        asked(llm, "Who founded Quorvane?", session=s)
        r = asked(llm, "When was it founded?", session=s)
        out = llm.feedback(Feedback(r.request_id, rating=1, correction="Quorvane was founded in 1820.")); llm.flush()
        assert llm.memory.get(out['correction_node']).text.startswith("Q: When was it founded? (Quorvane)\n")  # not the question before it
        assert 'Ilsa Marrow' in asked(llm, "Who founded Quorvane?").text and '1820' in asked(llm, "When was Quorvane founded?").text


def test_a_list_of_plain_lines_given_as_turns_is_named_for_what_it_is(tmp_path):
    "['Dana: my sister studies law', ...] was refused as 'not valid JSON': no JSON was given."
    with opened(tmp_path / 'd') as llm:
        with pytest.raises(InvalidInputError, match=r'turns:1: a turn is a JSON object with "speaker" and "text", got .Dana: my sister'):
            llm.ingest_chat(["Dana: my sister studies law", "Sam: nice"], progress=False)


def test_a_published_router_of_another_shape_is_not_taken_by_a_process_configured_otherwise(tmp_path):
    "The catch-up would have raised in the background for every publish of a router the configuration does not fit."
    a = opened(tmp_path / 'd')
    b = opened(tmp_path / 'd', **{'router.input_dim': 256})  # no router stored yet: each starts its own
    try:
        a.publish('router')
        assert b.refresh_state() == ['router'] and b.router.cfg.input_dim == 256
        assert b.query("Where does the Orl flow?") is not None  # its own router still routes
    finally:
        a.close(); b.close()
