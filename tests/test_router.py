"""Router checks outside the notebook: gradients of every parameter group, persistence, decisions as dicts,
the RouteLLM scoring method, learning on the context environment, and EWC on a RouteLLM slice (the full set
when present, else the sample bundled with `ruvllm.evals`)."""
import dataclasses, json, warnings
import numpy as np
import pytest

from ruvllm.config import Config, RouterConfig
from ruvllm.types import InvalidInputError, RouterError
from ruvllm.router import PARAM_GROUPS, FastGRNNRouter, Decision, gradient_check, build_features, FEATURE_NAMES
from ruvllm.router_training import ReplayBuffer, RouterTrainer
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
    assert ewc.task_a_loss_after < plain.task_a_loss_after - 0.01  # the FastGRNN (diagonal Fisher)
    assert ewc.task_a_success_loss_after < plain.task_a_success_loss_after - 0.005  # the linear success heads (full Fisher)
    if not sample: assert ewc.task_a_apgr_after > plain.task_a_apgr_after  # on 684 prompts APGR is noise


def _toy(n, seed, topic=None):
    "Maths-flagged rows need the larger tier (the smaller fails them); the rest are fine with the smaller one."
    from ruvllm.router import FEATURES, TrainingSet
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 0.3, (n, 128)); hard = rng.random(n) < 0.4
    if topic is not None: X[:, FEATURES.blocks['embedding']] += topic  # every query about one topic, as real traffic shares one
    X[:, FEATURES.index['q_math_ops']] = np.where(hard, 2.0, 0.0)
    return X, hard, TrainingSet.full_information(X, np.stack([np.where(hard, 0.0, 1.0), np.ones(n)], 1), [1.0, 4.0])


def _trained_toy(topic=None):
    X, hard, ts = _toy(2000, 0, topic)
    r = FastGRNNRouter(RouterConfig(safe_tier='small'), ['small', 'medium'], seed=0)
    tr = RouterTrainer(r, seed=0)
    rec = tr.train_round(ts)
    assert rec.promoted, rec.reason
    return r, tr, X, hard, ts


def test_gate_rejects_a_poisoned_round_and_the_route_does_not_change():
    r, tr, X, hard, ts = _trained_toy()
    routes = [r.decide(x)[0].tier for x in X[:300]]
    assert np.mean([(t == 'medium') == h for t, h in zip(routes, hard[:300])]) > 0.95  # learned the toy problem
    from ruvllm.router import TrainingSet
    poisoned = TrainingSet.full_information(X[:1500], np.stack([np.where(hard[:1500], 1.0, 0.0), np.zeros(1500)], 1), [1.0, 4.0])
    before = {k: v.copy() for k, v in r.params.items()}
    rec = tr.train_round(poisoned, holdout=ts.take(np.arange(1500, 2000)))  # gated on trusted outcomes
    assert not rec.promoted and 'lower bound' in rec.reason, rec.reason
    assert rec.utility_lcb < 0 and rec.utility_after < rec.utility_before
    assert all(np.array_equal(before[k], r.params[k]) for k in PARAM_GROUPS)
    assert [r.decide(x)[0].tier for x in X[:300]] == routes  # the route did NOT change
    assert tr.log().reason.iloc[-1] == rec.reason  # the refusal is logged with its reason


def test_gate_refuses_a_gain_that_hides_a_losing_cluster():
    r, tr, X, hard, ts = _trained_toy()
    rng = np.random.default_rng(3); emb = r.layout.blocks['embedding']
    Xh = np.zeros((200, 128)); a, b = rng.normal(size=72), rng.normal(size=72)
    Xh[:120, emb] = a + 0.05 * rng.normal(size=(120, 72)); Xh[120:, emb] = b + 0.05 * rng.normal(size=(80, 72))
    live = np.zeros(200); cand = np.r_[np.full(120, 0.2), np.full(80, -0.05)]  # better on average, worse on one cluster
    ok, lcb, reason = tr.gate(live, cand, Xh)
    assert lcb > 0 and not ok and 'query cluster' in reason and '80 rows' in reason, reason
    ok2, _, _ = tr.gate(live, np.r_[np.full(120, 0.2), np.full(80, 0.0)], Xh)
    assert ok2


def test_exploration_is_off_untrained_and_never_goes_far_below_the_safe_tier():
    x = np.random.default_rng(0).normal(size=128)
    untrained = FastGRNNRouter(RouterConfig(exploration=0.5), ['tiny', 'small'], seed=0)
    assert not any(untrained.decide(x, explore=True)[0].explored for _ in range(100))
    r, tr, X, hard, ts = _trained_toy()
    r.cfg = dataclasses.replace(r.cfg, exploration=0.5, regret_budget=10.0)
    easy = X[~hard][:50]; hard_x = X[hard][:50]
    # exploring 'medium' from the safe 'small' is allowed; from a 'medium' safe tier, 'small' on hard rows is not
    assert any(r.decide(x, explore=True)[0].explored for x in easy)
    r.cfg = dataclasses.replace(r.cfg, safe_tier='medium')
    ds = [r.decide(x, explore=True)[0] for x in hard_x]
    assert all(d.quality['small'] < d.quality['medium'] - r.cfg.explore_max_gap for d in ds)
    assert not any(d.explored for d in ds) and all(d.tier == 'medium' for d in ds)
    r.cfg = dataclasses.replace(r.cfg, safe_tier='small', regret_budget=0.0)
    assert not any(r.decide(x, explore=True)[0].explored for x in easy)  # no regret budget left: no exploration


def test_an_unfamiliar_query_goes_to_the_safe_tier(tmp_path):
    topic = np.random.default_rng(9).normal(size=72)
    r, tr, X, hard, ts = _trained_toy(topic)
    assert r.prototypes is not None and r.novelty_threshold is not None
    x = X[~hard][0].copy()
    assert not r.decide(x)[0].novel and r.decide(x)[0].tier == 'small'
    r.cfg = dataclasses.replace(r.cfg, safe_tier='medium')
    odd = x.copy(); emb = r.layout.blocks['embedding']
    odd[emb] = -topic  # the opposite topic: far from every training row
    d = r.decide(odd)[0]
    assert d.novel and d.fallback and d.tier == 'medium'
    r2 = FastGRNNRouter.load(r.save(tmp_path / 'r.npz'))  # the familiarity reference is saved with the weights
    assert r2.novelty_threshold == r.novelty_threshold and r2.is_novel(odd) and not r2.is_novel(x)


def test_tier_choice_is_the_expected_utility_of_the_success_heads():
    r, tr, X, hard, ts = _trained_toy()
    for x in X[:50]:
        d = r.decide(x)[0]
        if d.fallback or d.novel: continue
        u = {t: d.quality[t] - r.cost_weight * c for t, c in zip(r.tiers, r.costs)}
        assert d.tier == max(u, key=u.get)


def test_repeated_rows_do_not_make_every_query_unfamiliar():
    "A buffer holds each request twice (its routed outcome and the probes' row): the threshold must not collapse to 0."
    topic = np.random.default_rng(2).normal(size=72)
    X = np.random.default_rng(1).normal(0, 0.5, (60, 128)); X[:, 28:100] += topic  # the embedding slots
    r = FastGRNNRouter(RouterConfig(), ['tiny', 'small']).fit_novelty(np.vstack([X, X]))
    assert r.novelty_threshold > 0.01 and not any(r.is_novel(x) for x in X)


def _ties(n, seed):
    "Flagged rows: every tier fails (a tie of failures); the rest: the free tier answers."
    from ruvllm.router import FEATURES, TrainingSet
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 0.3, (n, 128)); tie = rng.random(n) < 0.5
    X[:, FEATURES.index['q_math_ops']] = np.where(tie, 2.0, 0.0)
    return X, tie, TrainingSet.full_information(X, np.stack([np.where(tie, 0.0, 1.0), np.where(tie, 0.0, 1.0)], 1), [0.0, 1.0])


def test_a_tie_of_failures_does_not_send_queries_to_the_cheaper_tier():
    from ruvllm.router import failed_ties
    X, tie, ts = _ties(1200, 0)
    tiers, picks = ['tiny', 'small'], {}  # the floor keeps a tier cheaper than the safe one out: here the safe tier is 'small'
    for name, cfg in (('old rule', RouterConfig(safe_tier='small', cheap_success_floor=0.0, tie_fail_quality=0.0)), ('default', RouterConfig(safe_tier='small'))):
        r = FastGRNNRouter(cfg, tiers, seed=0); tr = RouterTrainer(r, seed=0)
        assert tr.train_round(ts, gate=False).promoted
        picks[name] = np.array([r.decide(x)[0].tier for x in X[:200]])
        if name == 'default': assert (tr.targets(r.params, ts).tier_w[failed_ties(ts, cfg.tie_fail_quality)] == 0).all()
    assert (picks['old rule'][tie[:200]] == 'tiny').mean() > 0.9  # the utility margin alone: "fails for less" wins
    assert (picks['default'][tie[:200]] == 'small').all()  # floor: the free tier is not expected to answer them
    assert (picks['default'][~tie[:200]] == 'tiny').mean() > 0.9  # where it answers, it is still chosen


def test_gate_refuses_a_round_that_loses_on_trusted_rows():
    "Poisoned feedback with a poisoned held-out slice passes the buffer's own gate; clean trusted rows refuse it."
    r, tr, X, hard, ts = _trained_toy()
    from ruvllm.router import TrainingSet
    poisoned = TrainingSet.full_information(X[:1500], np.stack([np.ones(1500), np.where(hard[:1500], 0.0, 1.0)], 1), [1.0, 4.0])
    before = {k: v.copy() for k, v in r.params.items()}
    rec = tr.train_round(poisoned, holdout=poisoned.take(np.arange(1000, 1500)), trusted=ts.take(np.arange(1500, 1700)))
    assert not rec.promoted and 'trusted set loses' in rec.reason, rec.reason
    assert all(np.array_equal(before[k], r.params[k]) for k in PARAM_GROUPS)
    rec2 = tr.train_round(ts.take(np.arange(1000)), trusted=ts.take(np.arange(1500, 1700)))  # a clean round passes both
    assert rec2.promoted and 'trusted set utility' in rec2.reason, rec2.reason


def _kind(rng, n, maths, topic):
    "Feature rows of one kind of query: maths-flagged or not, all about one topic (so none looks unfamiliar)."
    from ruvllm.router import FEATURES
    X = rng.normal(0, 0.3, (n, 128)); X[:, FEATURES.blocks['embedding']] += topic
    X[:, FEATURES.index['q_math_ops']] = 2.0 * maths
    return X


def test_the_cheap_tiers_failures_lower_its_estimate_and_move_that_kind_of_query_up():
    "The live loop: the router sends a new kind of query (maths with operators) to the cheap tier, which fails them; after one round it does not."
    rng = np.random.default_rng(5); chat, sums = rng.normal(size=(2, 72))  # two topics: chat, arithmetic
    r = FastGRNNRouter(RouterConfig(safe_tier='small'), ['tiny', 'small'], seed=0); tr = RouterTrainer(r, seed=0)
    buf = ReplayBuffer(10_000, seed=0)
    for x in np.vstack([_kind(rng, 300, 0, chat), _kind(rng, 100, 0, sums)]):  # first: probes say both tiers answer these
        d, _ = r.decide(x); buf.add(x, d, 1.0, 1.0, tr.tier_costs[d.tier], 0.0, outcomes={'tiny': 1.0, 'small': 1.0})
    assert tr.train_round(buf).promoted
    hard, plain = _kind(rng, 300, 1, sums), _kind(rng, 100, 0, chat)  # arithmetic written with operators: new
    before = [r.decide(x)[0] for x in hard[:100]]
    assert np.mean([d.tier == 'tiny' for d in before]) > 0.9  # nothing has said the cheap tier fails them
    for x in hard[100:]:  # the chosen tier's outcome only (bandit): the cheap tier fails every one
        d, _ = r.decide(x); buf.add(x, d, d.propensity, 0.0 if d.tier == 'tiny' else 1.0, tr.tier_costs[d.tier], 0.0)
    rec = tr.train_round(buf)
    assert rec.promoted, rec.reason
    after = [r.decide(x)[0] for x in hard[:100]]
    assert np.mean([d.quality['tiny'] for d in after]) < np.mean([d.quality['tiny'] for d in before]) - 0.5  # its estimate fell
    assert np.mean([d.tier == 'small' for d in after]) > 0.9  # and the route changed
    assert np.mean([r.decide(x)[0].tier == 'tiny' for x in plain]) > 0.9  # the other kind still goes to the cheap tier


def test_success_estimates_transfer_to_a_category_never_trained_on():
    "Three topics teach that the cheap tier fails maths-flagged queries; on a fourth topic the runtime estimates still say so."
    from ruvllm.router import TrainingSet
    rng = np.random.default_rng(3); topics = rng.normal(size=(4, 72)) * 1.5
    parts = [(_kind(rng, 300, m, topics[c]), m, c) for c in range(4) for m in (0, 1)]
    X = np.vstack([p[0] for p in parts]); maths = np.concatenate([np.full(len(p[0]), p[1]) for p in parts]).astype(bool)
    cat = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    q = np.stack([np.where(maths, rng.random(len(X)) < 0.1, rng.random(len(X)) < 0.9), rng.random(len(X)) < 0.9], 1) * 1.0
    ts = TrainingSet.full_information(X, q, [0.0, 1.0])
    r = FastGRNNRouter(RouterConfig(), ['tiny', 'small'], seed=0)
    assert RouterTrainer(r, seed=0).train_round(ts.take(np.flatnonzero(cat != 3)), gate=False).promoted
    p = r.predict(X[cat == 3]); gap = p['quality'][:, 1] - p['quality'][:, 0]; m = maths[cat == 3]
    assert (gap[m][:, None] > gap[~m][None]).mean() > 0.95  # unseen maths queries rank above the others (AUC)
    assert p['quality'][m, 0].mean() < 0.3 and p['quality'][~m, 0].mean() > 0.7


def test_a_confident_decision_keeps_to_the_settings_it_has_outcomes_for(tmp_path):
    "Rows logged with one temperature, top_p and context budget: the heads drift elsewhere, the decisions do not."
    from ruvllm.router import TrainingSet
    X, hard, ts = _toy(2000, 0)
    n = len(ts)
    logged = dataclasses.replace(ts, temperature_taken=np.full(n, 0.2), top_p_taken=np.full(n, 0.9), context_taken=np.full(n, 2))
    r = FastGRNNRouter(RouterConfig(safe_tier='small'), ['small', 'medium'], seed=0)
    assert RouterTrainer(r, seed=0).train_round(logged).promoted
    ds = [r.decide(x)[0] for x in X[:200]]
    confident = [d for d in ds if not d.fallback]
    assert len(confident) > 100
    heads = r.predict(X[:200])
    assert np.abs(heads['temperature'] - 0.2).max() > 0.05  # the learned temperature is elsewhere ...
    assert {(d.temperature, d.top_p, d.context_size) for d in confident} == {(0.2, 0.9, 1024)}  # ... the decisions keep to the support
    r2 = FastGRNNRouter.load(r.save(tmp_path / 'r.npz'))  # the support is saved with the weights
    assert r2.setting_support == r.setting_support and r2.decide(X[0])[0].temperature == 0.2
    wide = dataclasses.replace(logged, temperature_taken=np.where(np.arange(n) % 2 == 0, 0.1, 1.5))
    r.fit_setting_support(wide)  # outcomes over a wide span: the heads' values are used
    assert any(d.temperature != 0.1 and d.temperature != 1.5 for d in (r.decide(x)[0] for x in X[:50]) if not d.fallback)


def test_with_escalation_a_query_both_tiers_answer_goes_to_the_cheap_tier_first():
    "Known rows: the free tier answers 85 %, the model all; other rows: only the model. The cascade changes the first, not the second."
    from ruvllm.router import FEATURES, TrainingSet
    rng = np.random.default_rng(4); n = 2000
    X = rng.normal(0, 0.3, (n, 128)); known = rng.random(n) < 0.5
    X[:, FEATURES.index['r_key_coverage']] = np.where(known, 1.0, 0.0)
    tiny_ok = np.where(known, rng.random(n) < 0.85, False)
    ts = TrainingSet.full_information(X, np.stack([tiny_ok * 1.0, np.ones(n)], 1), [0.0, 1.0])
    r = FastGRNNRouter(RouterConfig(safe_tier='small'), ['tiny', 'small'], seed=0)
    tr = RouterTrainer(r, seed=0)
    assert tr.train_round(ts, gate=False).promoted  # the decision rule is under test here, not the gate
    Xk, Xu = X[known][:100], X[~known][:100]
    first = lambda Xs: np.mean([r.decide(x)[0].tier == 'tiny' for x in Xs])
    assert first(Xk) < 0.1 and first(Xu) == 0  # answers are final: the model's higher success wins the known rows too
    r.escalation_recall = 0.9
    assert first(Xk) > 0.9 and first(Xu) == 0  # a cascade: the known rows try the free tier first; the rest stay on the model
    picks = tr.policy_picks(r.params, ts)
    assert (picks[known] == 0).mean() > 0.9 and (picks[~known] == 1).all()  # the gate judges the policy that serves
    r.escalation_recall = 0.0
    assert (tr.policy_picks(r.params, ts)[known] == 1).mean() > 0.9


def test_gate_promotes_a_candidate_better_on_one_row_and_equal_on_the_rest():
    "The two refusals of the measured table: one held-out row better by a 0.05 saving, every other row a tie."
    r = FastGRNNRouter(RouterConfig(safe_tier='small'), ['small', 'medium'], seed=0); tr = RouterTrainer(r, seed=0)
    X = np.random.default_rng(0).normal(size=(23, 128))
    for n in (23, 56):
        live, cand = np.zeros(n), np.r_[0.05, np.zeros(n - 1)]
        normal_lcb = cand.mean() - 1.645 * cand.std(ddof=1) / np.sqrt(n)
        assert normal_lcb < 0  # the old normal bound refused this
        ok, lcb, reason = tr.gate(live, cand, np.resize(X, (n, 128)))
        assert ok and lcb >= 0, reason
    ok, lcb, reason = tr.gate(np.zeros(23), np.r_[np.full(3, 0.05), -0.3, np.zeros(19)], X)  # three savings, one answer lost badly
    assert not ok and lcb < -r.cfg.promotion_tolerance and 'bootstrap' in reason, reason
    ok2, lcb2, _ = tr.gate(np.zeros(23), np.r_[0.05, np.zeros(22)], X)
    assert ok2 and lcb2 == lcb2 and tr.gate(np.zeros(23), np.r_[0.05, np.zeros(22)], X)[1] == lcb2  # the same rows, the same bound


def test_held_out_rows_stay_held_out_as_the_buffer_grows():
    "A row held out in one round is held out in the next: neither router trains on it, and the gate's rows accumulate."
    from ruvllm.router_training import holdout_mask
    X, hard, ts = _toy(600, 5)
    first, grown = holdout_mask(ts.X[:300], 0.2), holdout_mask(ts.X, 0.2)
    assert np.array_equal(grown[:300], first) and 0.12 < grown.mean() < 0.28
    r = FastGRNNRouter(RouterConfig(safe_tier='small'), ['small', 'medium'], seed=0); tr = RouterTrainer(r, seed=0)
    rec1 = tr.train_round(ts.take(np.arange(300)), epochs=2); rec2 = tr.train_round(ts, epochs=2)
    assert (rec1.holdout_samples, rec2.holdout_samples) == (int(first.sum()), int(grown.sum()))
    assert rec2.holdout_samples > rec1.holdout_samples and rec1.train_samples == 300 - rec1.holdout_samples


def test_round_records_are_bounded_and_keep_counting():
    "A long-running process trains a round every few seconds: the trainer and Loop B keep the latest `learning.rounds_kept` records, numbered on."
    from ruvllm.config import LearningConfig
    from ruvllm.learning import LoopB
    _, _, ts = context_budget_environment(300, seed=2)
    tr = RouterTrainer(FastGRNNRouter(RouterConfig(), ['small'], seed=2), learning=LearningConfig(rounds_kept=2), seed=2)
    lb = LoopB(lambda: tr.train_round(ts).to_dict(), LearningConfig(rounds_kept=2))
    for _ in range(4): lb.run()
    assert list(tr.log()['round']) == [3, 4] and [r['round'] for r in lb.rounds] == [3, 4]
