"""A Concept node that Loop C writes is an index entry that routes to its members, not evidence: when it is the
best match for a question, neither the context the model reads nor the extractive tier's answer may quote its
summary ("Concept (3 items; ...): ..."); the members it routes to, the texts a user actually gave, are used."""
from ruvllm import Config, Constraints, RuvLLM
from ruvllm.types import NodeType

NOTES = ["Our rescue greyhound Luna sleeps all day on the sofa.",
         "Luna the greyhound was adopted from the rescue shelter in March.",
         "The greyhound Luna eats two bowls of kibble every evening.",
         "Luna our greyhound hates the rain and refuses to walk outside."]
QUESTIONS = ["Tell me about our rescue greyhound Luna", "greyhound Luna"]


def _cfg(path):
    "Extractive tier only; every member cold at once (Loop C archives them under the concept it makes)."
    return (Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
            .set('learning.cold_after_s', 0.0).set('learning.cold_max_access', 5).build())


def test_a_concept_that_is_the_best_match_is_never_quoted(tmp_path):
    with RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False) as llm:
        ids = llm.ingest(NOTES, progress=False)
        (rep,) = llm.learn('C')
        assert rep['concepts_made'] == 1 and rep['archived'] >= 3, rep  # a concept, its members archived under it
        for q in QUESTIONS:
            top = llm.memory.search(q, k=1)[0].node
            assert top.type == NodeType.CONCEPT and top.text.startswith('Concept ('), (q, top)  # the best match is the concept
            qv = llm.memory.embed_query(q)
            sel = llm.select_passages(q, llm.retrieve(q, qv), qv)
            built = llm.build_context(q, sel.passages, llm.pool.get('tiny'), 2048, 64)
            assert top.id not in built.used_ids, (q, built.used_ids)
            assert not any('Concept (' in p for p in built.passages), (q, built.passages)
            assert any(p in NOTES for p in built.passages), (q, built.passages)  # a member's own text is in the context
            r = llm.query(q, constraints=Constraints(no_cache=True), learn=False)
            assert 'Concept (' not in r.text, (q, r.text)
            assert r.text in NOTES, (q, r.text)  # the extractive tier quotes a member
            assert r.sources and all(s.node_type != NodeType.CONCEPT for s in r.sources), (q, r.sources)
            assert all(s.node_id in ids for s in r.sources), (q, r.sources)
