"""Router checks outside the notebook: gradients of every parameter group, persistence, decisions as dicts,
the RouteLLM scoring method, learning on the context environment, and EWC on a RouteLLM slice (the full set
when present, else the sample bundled with `ruvllm.evals`)."""
import dataclasses, json, warnings
import numpy as np
import pytest

from ruvllm.config import Config, RouterConfig
from ruvllm.types import InvalidInputError, RouterError
from ruvllm.router import (PARAM_GROUPS, FastGRNNRouter, ReplayBuffer, RouterTrainer, Decision, gradient_check, build_features,
                           FEATURE_NAMES)
from ruvllm.evals.routellm import (apgr, cpt, context_budget_environment, find_routellm_dir, load_routellm_mmlu, routellm_features,
                                   routellm_ewc, ROUTELLM_SAMPLE_DIR, ROUTELLM_SAMPLE_PER_SUBJECT)


def test_gradients_every_parameter_group():
    errs = gradient_check(seed=3)
    assert set(PARAM_GROUPS) <= set(errs)
    assert max(errs.values()) < 1e-5, errs


def test_feature_layout_named_and_filled():
    assert len(FEATURE_NAMES) == 128 == len(set(FEATURE_NAMES))
    x = build_features("How do I sort a list in Python? def f(x): return sorted(x)", np.ones(256))
    assert x.shape == (128,) and np.isfinite(x).all()


def test_router_save_load_roundtrip(tmp_path):
    r = FastGRNNRouter(RouterConfig(), ['tiny', 'small', 'large'], seed=4)
    x = np.random.default_rng(0).normal(size=128)
    r2 = FastGRNNRouter.load(r.save(tmp_path / 'r.npz'))
    np.testing.assert_allclose(r2.forward_one(x)[0], r.forward_one(x)[0])
    assert r2.tiers == ['tiny', 'small', 'large']
    with pytest.raises(RouterError, match='does not fit'):
        FastGRNNRouter.load(tmp_path / 'r.npz', RouterConfig(rank=4))


def test_replay_reservoir_is_uniform():
    b = ReplayBuffer(capacity=200, seed=1)
    d = Decision(tier='small', tier_index=0, context_size=512, temperature=0.5, top_p=0.9, confidence=0.9)
    for i in range(5000): b.add(np.full(128, float(i)), d, 1.0, 1.0, 1.0, 0.1)
    kept = b.cols['features'][:200, 0]
    assert len(b) == 200 and 1500 < kept.mean() < 3500  # the mean of a uniform sample of 0..4999 is ~2500


def test_decision_survives_a_json_round_trip():
    r = FastGRNNRouter(RouterConfig(), ['tiny', 'small'], seed=0)
    d, h = r.decide(build_features("What is the boiling point of water?", np.ones(256)))
    stored = json.loads(json.dumps({**d.to_dict(), 'h': [float(v) for v in h]}))  # as a request record keeps it
    assert Decision.from_dict(stored) == d
    assert Decision.from_dict({'cache_entry': 'e1', 'similarity': 0.97}).tier == ''  # a cache hit's record: defaults
    with pytest.raises(RouterError, match='needs a dict'): Decision.from_dict('small')


def test_routellm_scoring_reference_points():
    rng = np.random.default_rng(0)
    w, s = rng.random(30000) < 0.68, rng.random(30000) < 0.81
    assert abs(apgr(rng.random(30000), w, s) - 0.5) < 0.03
    assert abs(cpt(rng.random(30000), w, s, 0.5) - 50) < 4
    gain = s.astype(int) - w.astype(int) + 1e-3 * rng.random(30000)
    assert apgr(gain, w, s) > 1.0  # the oracle ranking recovers far more than a random one


def test_context_environment_gives_the_cluster_the_bigger_budget():
    _, _, ts = context_budget_environment(1500, seed=2)
    r = FastGRNNRouter(RouterConfig(), ['small'], seed=2)
    assert RouterTrainer(r, seed=2).train_round(ts).promoted
    Xn, doc, _ = context_budget_environment(300, seed=9)
    ctx = np.array([r.decide(x)[0].context_size for x in Xn])
    assert (ctx[doc] >= 2048).mean() > 0.9 and (ctx[~doc] <= 512).mean() > 0.9


def test_routellm_falls_back_to_the_bundled_sample(monkeypatch, tmp_path):
    monkeypatch.setenv('RUVLLM_ROUTELLM_DIR', str(tmp_path / 'absent'))  # as on a fresh clone
    with pytest.warns(UserWarning, match='using the bundled sample'):
        df = load_routellm_mmlu()
    assert df.attrs['sample'] and len(df) == 57 * ROUTELLM_SAMPLE_PER_SUBJECT and df.subject.nunique() == 57
    assert 0.6 < df.weak.mean() < df.strong.mean() < 0.9
    with pytest.raises(InvalidInputError, match='RouteLLM data not found'): find_routellm_dir(fallback=False)
    with pytest.raises(InvalidInputError, match='RouteLLM data not found'): find_routellm_dir(tmp_path / 'absent')
    assert (ROUTELLM_SAMPLE_DIR / 'LICENSE').is_file()


def test_ewc_keeps_task_one_better_than_plain_finetuning():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the sample fallback's notice
        df = load_routellm_mmlu()
    sample = df.attrs['sample']
    if not sample: df = df.sample(4000, random_state=1).reset_index(drop=True)
    X = routellm_features(df.prompt)
    t = routellm_ewc(X, df, ('stem',), ('humanities',), lambdas=(0.0, 4.0), cfg=RouterConfig(promotion_tolerance=1.0), seed=1)
    plain, ewc = t.iloc[0], t.iloc[1]
    assert ewc.task_a_loss_after < plain.task_a_loss_after - 0.01
    if not sample: assert ewc.task_a_apgr_after > plain.task_a_apgr_after  # on 684 prompts APGR is noise
