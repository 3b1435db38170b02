"""The request path's compiled kernels and memos give the answers the plain numpy and word-by-word code gave."""
import math, random, time
import numpy as np
import pytest

from ruvllm import Config, Constraints, RuvLLM
from ruvllm.attention import GraphAttention, AttentionResult, gini, node_features, random_subgraph
from ruvllm.config import RouterConfig
from ruvllm.context import ContextBuilder
from ruvllm.inference import ExtractiveBackend, estimate_message_tokens, estimate_tokens, prompt_estimate
from ruvllm.router import FastGRNNRouter, cell_forward
from ruvllm.text import key_coverage, key_words, text_keys


def numpy_rank_reference(att: GraphAttention, query_vec, subgraph, vectors, now=None) -> AttentionResult:
    "Test double: the attention's formula written out with numpy, as `rank` computed it before its kernel."
    p, H, dk = att.params, att.heads, att.key_dim
    ids = list(subgraph.nodes); q = np.asarray(query_vec, float); X = np.asarray(vectors, float)
    f, r, s = node_features(subgraph, ids, now, att.half_life_s)
    U = np.concatenate([X, f, r @ p['E']], axis=1)
    Q = np.einsum('hkd,d->hk', p['Wq'], q); K = np.einsum('hkd,nd->hnk', p['Wk'], U)
    logits = p['tau'][:, None] * s[None, :] + np.einsum('hk,hnk->hn', Q, K) / math.sqrt(dk) + p['A'] @ f.T + p['B'] @ r.T
    W = np.exp(logits - logits.max(1, keepdims=True)); W /= W.sum(1, keepdims=True); w = W.mean(0)
    return AttentionResult(ids, w, W, w @ X, float(-(w * np.log(w)).sum()), gini(w), np.lexsort((np.arange(len(ids)), -s, -w)))


def numpy_forward_reference(router: FastGRNNRouter, x, h=None):
    "Test double: `forward_one` from the batch cell (`cell_forward`), stacked as the heads are."
    H0 = np.zeros((1, router.hidden_dim)) if h is None else np.asarray(h, float)[None]
    out = cell_forward(router.params, np.asarray(x, float)[None], H0)[0]
    o = np.concatenate([out['tier'][0], out['ctx'][0], [out['temp'][0]], [out['top_p'][0]], out['q'][0]])
    return o, out['h'][0]


@pytest.mark.parametrize('n', [1, 3, 12, 40])
def test_rank_kernel_gives_the_attention_formula(n):
    rng = np.random.default_rng(n)
    att = GraphAttention(32, heads=4, seed=n)
    att.params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in att.params.items()}  # off its start: every term counts
    sg, X, q = random_subgraph(n, 32, rng)
    got, ref = att.rank(q, sg, X, now=1e9), numpy_rank_reference(att, q, sg, X, now=1e9)
    np.testing.assert_allclose(got.head_weights, ref.head_weights, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.weights, ref.weights, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.context_vector, ref.context_vector, rtol=0, atol=1e-12)
    assert abs(got.entropy - ref.entropy) < 1e-12 and abs(got.gini - ref.gini) < 1e-12
    assert list(got.order) == list(ref.order)


def test_forward_kernel_gives_the_batch_cell():
    rng = np.random.default_rng(0)
    router = FastGRNNRouter(RouterConfig(), tiers=('tiny', 'small'))
    router.set_params({k: v + 0.2 * rng.standard_normal(np.shape(v)) for k, v in router.params.items()})
    for _ in range(20):
        x, h = rng.standard_normal(router.input_dim), 0.5 * rng.standard_normal(router.hidden_dim)
        for state in (None, h):
            (o, hn), (o_ref, hn_ref) = router.forward_one(x, state), numpy_forward_reference(router, x, state)
            np.testing.assert_allclose(o, o_ref, rtol=0, atol=1e-12); np.testing.assert_allclose(hn, hn_ref, rtol=0, atol=1e-12)


def test_prompt_estimate_counts_built_prompts_like_estimate_tokens():
    rng = random.Random(1)
    words = ['harbour', 'Farrow', 'closed', 'in', '1920', 'Ünïcode', 'naïve', '—', 'x!!!!!', '(record', '7)', 'a', 'THE']
    backend = ExtractiveBackend(); cb = ContextBuilder(backend, backend.context_window)
    for _ in range(300):
        passages = [(i, ' '.join(rng.choice(words) for _ in range(rng.randint(1, 25))), 1.0) for i in range(rng.randint(0, 8))]
        built = cb.build('When was the harbour at Farrow closed?', passages, budget_tokens=rng.choice([60, 200, 1500]), max_tokens=64)
        assert built.prompt_tokens == estimate_message_tokens(built.messages, estimate_tokens)
        assert backend.count_message_tokens(built.messages) == estimate_message_tokens(built.messages, estimate_tokens)
    for t in ['a\n\nb', ' a\nb', 'a \nb', '\n[1] x\n', '[1]  x\n[2] y', 'Sources:\n[12] naïve\n\nq?', '\t\n\t']:
        assert prompt_estimate(t) == estimate_tokens(t), t


def test_key_coverage_with_memoised_word_sets_is_the_word_by_word_share():
    rng = random.Random(2)
    vocab = ["Ada", "ada's", "ADA", "Babbage", "met", "in", "1833", "1,833.5", "rock-n-roll", "x'y", "O'Neil", "the", "Nile's", "é"]
    for _ in range(2000):
        q = ' '.join(rng.choice(vocab) for _ in range(rng.randint(1, 6))) + '?'
        texts = [' '.join(rng.choice(vocab) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 3))]
        keys = key_words(q)
        have = {w.lower().removesuffix("'s") for t in texts for w in __import__('re').findall(r"[A-Za-z][A-Za-z'-]*|\d+(?:[.,]\d+)*", t)}
        assert key_coverage(q, texts) == (len(keys & have) / len(keys) if keys else 0.0)
    # the memo is keyed by the text itself: a node whose text changes is read again, not served from the memo
    assert key_coverage("Did Ada meet Babbage?", ["Ada met Babbage."]) == 1.0
    assert key_coverage("Did Ada meet Babbage?", ["Ada met Lovelace."]) == 0.5
    assert text_keys("Ada met Babbage.") is text_keys("Ada met Babbage.")


def test_answers_sources_and_routes_are_those_of_the_numpy_paths(tmp_path, monkeypatch):
    "End to end: the same questions answered with the kernels and with the numpy test doubles give identical responses (probabilities to 9 decimals)."
    from ruvllm.evals.memory_bench import generated_sentences
    from ruvllm.bench import _bench_queries
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive', 'small': 'extractive'})
           .set('router.safe_tier', 'small').set('cache.enabled', False).build())
    def answers(llm):
        out = []
        for i, q in enumerate(_bench_queries(25, seed=5)):
            r = llm.query(q, constraints=Constraints(max_tokens=48, force_model='tiny' if i % 2 else None), learn=False)
            info = r.routing_info.to_dict()
            info['tier_probs'] = {k: round(v, 9) for k, v in info['tier_probs'].items()}  # the kernel sums in its own order: equal to rounding, not bit for bit
            out.append((r.text, [(s.node_id, s.score, s.hop) for s in r.sources], info, round(r.confidence, 9)))
        return out
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest([t for t, _ in generated_sentences(400, 0)], progress=False)
        now = time.time(); monkeypatch.setattr(time, 'time', lambda: now)  # recency is a feature: the same clock for both runs
        kernels = answers(llm)
        monkeypatch.setattr(GraphAttention, 'rank', numpy_rank_reference)
        monkeypatch.setattr(FastGRNNRouter, 'forward_one', numpy_forward_reference)
        reference = answers(llm)
    assert sum(len(s) for _, s, _, _ in kernels) > 25  # the questions did retrieve passages
    assert kernels == reference


class FabricatingBackendDouble:
    "Test double: a backend that streams an answer in pieces, then invents a source list (as small models do)."
    name, context_window = 'fabricating double', 2048
    PIECES = ['The pier', ' opened', ' in 1921.', ' [1]', ' Farrow Gazette,', ' 1921.']
    def stream(self, messages, max_tokens=64, temperature=0.7, top_p=0.9, seed=None):
        from ruvllm.inference import Generation
        yield from self.PIECES
        yield Generation(''.join(self.PIECES), 10, len(self.PIECES), 'stop', {'total_ms': 1.0}, self.name)


def test_generate_stream_without_pieces_returns_the_streamed_answer(tmp_path):
    "`query` skips the per-piece checks (`pieces=False`): the answer and generation are those the streamed path returns."
    from ruvllm.types import RoutingInfo, ModelTier
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        info, msgs = RoutingInfo(model=ModelTier('tiny')), [{'role': 'user', 'content': 'When did the pier open?'}]
        streamed, quiet = llm.generate_stream(msgs, FabricatingBackendDouble(), info, 64), llm.generate_stream(msgs, FabricatingBackendDouble(), info, 64, pieces=False)
        got, pieces = [], []
        while True:
            try: pieces.append(next(streamed))
            except StopIteration as e: got.append(e.value); break
        with pytest.raises(StopIteration) as stop: next(quiet)  # nothing yielded before the end
        got.append(stop.value.value)
    assert ''.join(pieces) == got[0][0] == got[1][0] == 'The pier opened in 1921.'
    assert got[0][1] == got[1][1]


def test_warm_up_answers_nothing_and_leaves_no_trace(tmp_path):
    "The warm-up (run at open in a background thread) touches no record, counter, cache entry, session or memory node."
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('system.warm_up', False).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["The Harbour Board of Farrow opened the north pier in 1921.", "Farrow lies on the coast."], progress=False)
        before = (len(llm.memory), llm.stats()['queries'], llm.cache.stats(), len(llm.sessions), llm.store.kv_keys('req:'), llm.router.decisions)
        assert llm.warm_up() > 0
        after = (len(llm.memory), llm.stats()['queries'], llm.cache.stats(), len(llm.sessions), llm.store.kv_keys('req:'), llm.router.decisions)
        r = llm.query("When did the Harbour Board of Farrow open the north pier?", constraints=Constraints(no_cache=True), learn=False)
    assert after == before and '1921' in r.text


def test_wait_warm_up_returns_once_the_background_warm_up_is_over(tmp_path):
    "The latency bench starts its clock after `wait_warm_up`: the warm-up's one-off work (compiles, the index's first growth) is then over."
    import threading
    b = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    with RuvLLM(b.build(), start_scheduler=False) as llm:
        assert llm.wait_warm_up(timeout=120)
        assert not [t for t in threading.enumerate() if t.name == 'ruvllm-warm-up' and t.is_alive()]
    with RuvLLM(b.set('system.warm_up', False).build(), start_scheduler=False) as llm:
        assert llm.wait_warm_up(timeout=0)  # none to wait for

def test_text_keys_are_the_word_by_word_keys():
    "Test double: `text_keys` word by word, each word folded (`fold`); the one-pass ASCII path must give the same set."
    from ruvllm.text import KEY_WORD, fold
    from ruvllm.evals.memory_bench import generated_sentences
    def word_by_word(t): return frozenset(fold(w) for w in set(KEY_WORD.findall(t)))
    texts = [t for t, _ in generated_sentences(500, 3)] + [
        "Ada's engine, O'Neil-Smith's 6,650 KM and BABBAGE'S 3.5 notes.", "İstanbul's Kelvin \u212a sign", "Q: Who?\nA: Ada Lovelace's."]
    for t in texts: assert text_keys(t) == word_by_word(t), t
