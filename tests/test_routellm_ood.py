"Issue 18: the linear experts scored on unseen categories (ruvllm.evals.routellm)."
import numpy as np, pandas as pd, pytest

from ruvllm.router import FEATURES
from ruvllm.types import InvalidInputError
from ruvllm.evals.routellm import fit_linear_experts, linear_experts_loco, loco_readouts_table


def _world(n=800, seed=0):
    "Four categories; the medium model fails where the prompt has maths operators, the large one is right 90 % of the time."
    rng = np.random.default_rng(seed); X = rng.normal(size=(n, FEATURES.input_dim)) * 0.3
    hard = X[:, FEATURES.index['q_math_ops']] > 0
    df = pd.DataFrame(dict(prompt=['x' * int(k) for k in rng.integers(10, 400, n)], category=np.array(list('abcd'))[np.arange(n) % 4],
                           weak=((~hard) | (rng.random(n) < 0.2)).astype(int), strong=(rng.random(n) < 0.9).astype(int)))
    return X, df, hard


def test_loco_never_sees_the_held_out_categorys_outcomes():
    X, df, hard = _world()
    base = linear_experts_loco(X, df)['scores']['experts']
    shuffled = df.copy(); a = (df.category == 'a').to_numpy()
    shuffled.loc[a, ['weak', 'strong']] = 1 - shuffled.loc[a, ['weak', 'strong']].to_numpy()  # flip every outcome of category a
    again = linear_experts_loco(X, shuffled)['scores']['experts']
    np.testing.assert_allclose(again[a], base[a])  # a's scores come only from b, c, d
    assert not np.allclose(again[~a], base[~a])  # the others did learn from a
    t = loco_readouts_table(df, {'experts': base})
    assert (t.experts > 0.6).all(), t  # the maths-operator signal transfers to every unseen category


def test_length_prior_raises_the_score_of_a_longer_prompt_only():
    X, df, _ = _world()
    m = fit_linear_experts(X, df[['weak', 'strong']].to_numpy(), length_prior=0.4)
    x = np.repeat(X[:1], 2, 0); x[1, FEATURES.index['q_chars_log']] += 0.5
    p = m.predict(x)
    assert p['scores']['experts_length'][1] > p['scores']['experts_length'][0]
    np.testing.assert_allclose(p['scores']['experts_length'] - p['scores']['experts'], 0.4 * x[:, FEATURES.index['q_chars_log']])
    with pytest.raises(InvalidInputError, match='quality'): fit_linear_experts(X, df[['weak']].to_numpy())


def test_the_runtime_router_ranks_unseen_categories_above_the_length_rule():
    "routellm_loco trains the router RuvLLM uses; each held-out category has its own embedding topic, and the maths signal still transfers."
    from ruvllm.evals.routellm import routellm_loco, loco_category_table
    X, df, hard = _world(seed=1)
    topics = np.random.default_rng(7).normal(size=(4, 72))
    X[:, FEATURES.blocks['embedding']] += topics[np.arange(len(X)) % 4]  # category c = index % 4 (see _world)
    t = loco_category_table(df, routellm_loco(X, df))
    assert (t.router > 0.6).all() and (t.router > t.length_baseline).all(), t
    assert {'fastgrnn_heads', 'router_tier_head', 'novel_share'} <= set(t.columns)


def test_stream_keeps_every_readout():
    "`routellm_stream` stores each readout `routellm_scores` gives (it raised KeyError on 'fastgrnn_gap', so `ruvllm bench router` stopped)."
    from ruvllm.evals.routellm import routellm_stream
    X, df, _ = _world(n=400)
    res = routellm_stream(X, df, 'full', round_every=200)
    assert {'quality_gap', 'fastgrnn_gap', 'tier_prob'} <= set(res['scores'])
    assert all(np.isfinite(v[res['later']]).all() for v in res['scores'].values())
