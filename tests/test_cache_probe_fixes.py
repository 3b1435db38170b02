"Defects a probe of the semantic cache found (lead29/cache_probe: H3 symbols, M4 questions with nothing to compare, H5 follow-ups by noun phrase or ellipsis)."
import pytest
from ruvllm import Config, Feedback, RuvLLM, SemanticCache
from ruvllm.config import CacheConfig
from ruvllm.text import follow_up

SYMBOL_PAIRS = [("Is 5 > 3?", "Is 5 < 3?"), ("What is 7 + 3?", "What is 7 - 3?"), ("What is 2^10?", "What is 2*10?"),
                ("What is -5 squared?", "What is 5 squared?"), ("How do I learn C++?", "How do I learn C#?"),
                ("What is the time in UTC+2?", "What is the time in UTC-2?"), ("What does the sign ≠ mean?", "What does the sign = mean?"),
                ("Is x>=y the same as x>y?", "Is x<=y the same as x<y?")]


def cache():
    return SemanticCache(CacheConfig(), judge=None)  # made-up vectors: every entry is a candidate, the rules decide


@pytest.mark.parametrize("stored,asked", SYMBOL_PAIRS)
def test_a_question_that_differs_only_in_a_symbol_is_not_served_the_others_answer(stored, asked):
    "H3: the symbol was dropped, the two questions shared one entry key and the hit skipped verification."
    c = cache()
    c.put('g', stored, [1.0, 0.0], "the stored answer", 'r1')
    assert c.lookup('g', asked, [1.0, 0.0]) is None
    assert c.lookup('g', stored, [1.0, 0.0]).answer == "the stored answer"  # its own question is still served
    c.put('g', asked, [1.0, 0.0], "the other answer", 'r2')
    assert len(c) == 2  # two entries: the second put did not replace the first


def test_ordinary_punctuation_and_spacing_are_still_no_difference():
    c = cache()
    c.put('g', "What is 7+3?", [1.0, 0.0], "10.", 'r1')
    for q in ("what is 7 + 3", "What is 7+3?!", "What's 7 + 3?"):
        hit = c.lookup('g', q, [1.0, 0.0])
        assert hit is not None and hit.answer == "10.", q


@pytest.mark.parametrize("stored,asked", [("🐘", "🦒"), ("?", "!"), ("What?", "How?"), ("the", "an")])
def test_a_question_with_nothing_to_compare_is_neither_stored_nor_served(stored, asked):
    "M4: questions with no content word, name, number or symbol served one another's answers."
    c = cache()
    assert c.put('g', stored, [1.0, 0.0], "an answer", 'r1') is None and len(c) == 0
    c.put('g', "How many elephants live in the Vetra zoo?", [1.0, 0.0], "40.", 'r2')
    before = c.stats()
    assert c.lookup('g', asked, [1.0, 0.0]) is None and c.lookup('g', stored, [1.0, 0.0]) is None
    after = c.stats()
    assert (after['lookups'] - before['lookups'], after['misses'] - before['misses']) == (2, 2)  # counted as misses
    assert c.verifier.check(asked, stored).reason == 'nothing to compare'


FOLLOW_UPS = ["Who founded the city?", "When was this place founded?", "Founded when?", "And the founder?",
              "Who founded that town?", "How old is the city?", "What about Tarn?"]


@pytest.mark.parametrize("q", FOLLOW_UPS)
def test_a_follow_up_by_noun_phrase_or_ellipsis_is_told(q):
    assert follow_up(q)


@pytest.mark.parametrize("q", ["What is the capital of France?", "How do I reset the router?", "What is the speed of light?",
                               "What is the tallest mountain in the world?", "What happened this week?", "Tell me about Vetra",
                               "What is Python?", "What do you call a dog that barks?", "Who designed the lumxanenscope?"])
def test_a_question_that_names_or_picks_out_its_subject_is_no_follow_up(q):
    assert not follow_up(q)


@pytest.mark.parametrize("q", FOLLOW_UPS[:6])
def test_a_follow_up_is_not_served_another_sessions_answer(tmp_path, q):
    "H5: corrected in a session about Vetra, the bare follow-up was cached and served in a session about Merin."
    cfg = (Config.builder().db_path(str(tmp_path / 'db')).set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('system.warm_up', False).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Vetra was founded in 1204 by Ilsa Marrow.", "Merin was founded in 1650 by Tomas Reed."], progress=False)
        a, b = llm.new_session(), llm.new_session()
        llm.query("Tell me about Vetra", session=a)
        x = llm.query(q, session=a); llm.flush()
        llm.feedback(Feedback(x.request_id, rating=1, correction="Vetra was founded in 1204 by Ilsa Marrow.")); llm.flush()
        llm.query("Tell me about Merin", session=b)
        y = llm.query(q, session=b); llm.flush()
    assert not y.cached and 'Vetra' not in y.text
