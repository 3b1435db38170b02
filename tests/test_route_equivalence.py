"""The routing stage's fast path gives the same features and routes as before (issue 19).

`query_stats` runs a regex only when the text holds what its matches need, `embedding_block` takes the norm without
`np.linalg.norm`'s checks, and `_pick` works one row in Python floats. Each must be bit for bit what the code before
it computed: the `Reference*` / `reference_*` test doubles below are frozen copies of that code (main at c4899bb),
fed a few hundred varied questions from the shipped eval sets plus some edge texts.

Since er10, `build` writes the query values and the last three blocks as tuples, `embedding_block` cuts a float32
vector before converting it, and `decide`'s softmaxes and sigmoids run in Python floats (numpy's `exp`/`tanh`): the
whole feature vector and every field of the `Decision` are compared with frozen copies of main at f5e2dd5
(`reference_features`, `reference_decision`, `reference_success`); `success_one` now pools per tier in Python floats."""
import dataclasses, math, re
import numpy as np
import pytest

from ruvllm.config import RouterConfig
from ruvllm.router import (FastGRNNRouter, FEATURES, QUERY_SLOTS, build_features, cascade_values, floor_picks, query_stats,
                           RetrievalStats, SUCCESS_BASE, SUCCESS_GROUPS)
from ruvllm.types import CONTEXT_BINS, Constraints
from ruvllm.bench import _bench_queries
from ruvllm.evals.conversations import load_questions
from ruvllm.evals.controls import load_controls
from ruvllm.evals.routellm import load_routellm_mmlu


class ReferenceQueryText:
    "Test double: a frozen copy of `query_stats` and its patterns before the regex gates."
    WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*")
    NUM = re.compile(r"(?<![A-Za-z])[-+]?\d+(?:[.,]\d+)*")
    OPT = re.compile(r"^\s*(?:\(?[A-Ha-h][.)]|\(?[1-9][.)])\s+(.*)$")
    SENT = re.compile(r"[.!?](?:\s|$)")
    DIGITS, UPPERS = b'0123456789', b'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
    LETTERS = UPPERS + b'abcdefghijklmnopqrstuvwxyz'
    PUNCTS, MATHS = b'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', b'=+*/^<>'
    U_PUNCT, U_MATH = re.compile(r"[“”‘’–—…·]"), re.compile(r"[≤≥√π∑∫×÷±∞∂∆≈≠]")
    NUMOPT = re.compile(r"[-+$]?\s*[\d.,/%\s^*()√π-]+")
    NEG = re.compile(r"\b(?:not|except|false|incorrect|least)\b")
    LATEX = re.compile(r"\$[^$]+\$|\\(?:frac|sqrt|sum|int|cdot|times|alpha|beta|theta|pi|left|right)|\^\{|_\{")
    EQN = re.compile(r"\b[a-z]\s*[=<>]\s*[-\d(a-z]|\b\d+[a-z]\b|\b[a-z]\([a-z0-9]\)|\b[a-z]\^\d")
    CODE = re.compile(r"==|!=|=>|#include|\b(?:def |return\b|print\(|function\b|class |import |for\s*\(|while\s*\()")
    YEAR = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b")
    PASSAGE = re.compile(r"\bpassage\b|refers to the following|following (?:information|excerpt|quote)")
    PAIRED = re.compile(r"(?:Statement|Scenario) \d")
    UNITS = re.compile(r"%|\$\d|\b\d+(?:\.\d+)?\s?(?:kg|g|mg|km|m|cm|mm|s|ms|h|mol|J|kJ|N|W|V|A|Hz|K|°C|°F|L|mL)\b|°")
    WH = frozenset(('what', 'which', 'who', 'whom', 'whose', 'when', 'where', 'why', 'how'))
    AUX = frozenset(('is', 'are', 'was', 'were', 'do', 'does', 'did', 'can', 'could', 'should', 'would', 'will', 'has', 'have', 'may', 'might'))
    IMP = frozenset(('explain', 'describe', 'write', 'list', 'compute', 'calculate', 'find', 'solve', 'summarize', 'summarise', 'translate',
                     'compare', 'give', 'show', 'prove', 'define', 'evaluate', 'determine', 'simplify', 'name', 'tell', 'create', 'generate'))

    @staticmethod
    def count(b, chars): return len(b) - len(b.translate(None, chars))

    @staticmethod
    def sq(v, scale): return math.log1p(max(v, 0.0)) / math.log1p(scale)

    @classmethod
    def stats(R, text):
        t = text.strip(); nc = len(t); sq, count = R.sq, R.count
        if not nc: return np.zeros(len(QUERY_SLOTS))
        words = R.WORD.findall(t); nw = len(words)
        lines = [l for l in t.split('\n') if l.strip()]
        alpha = [w for w in words if w[0].isalpha()]; na = len(alpha) or 1
        first = t.split(None, 1)[0].strip('"\'(“').lower()
        opts, stem = [], []
        for l in lines:
            m = R.OPT.match(l)
            if m: opts.append(m.group(1))
            else: stem.append(l)
        stem_low = ('\n'.join(stem) if stem else t).lower()
        b = t.encode('utf-8'); asc = len(b) == nc
        letters = count(b, R.LETTERS) or 1
        n_punct = count(b, R.PUNCTS) + (0 if asc else len(R.U_PUNCT.findall(t)))
        n_math = count(b, R.MATHS) + (0 if asc else len(R.U_MATH.findall(t)))
        v = (sq(nw, 512), sq(nc, 4096), sq(len(lines), 64), sq(max(1, len(R.SENT.findall(t))), 32),
             sum(map(len, alpha)) / na / 10.0, 4.0 * sum(len(w) >= 10 for w in alpha) / na,
             float('?' in t), float(first in R.WH), float(first in R.AUX), float(first in R.IMP),
             float('which of the following' in stem_low or 'which one of' in stem_low), float(bool(R.NEG.search(stem_low))),
             min(len(opts), 8) / 4.0, sq(sum(map(len, opts)) / len(opts), 256) if opts else 0.0,
             sum(bool(R.NUMOPT.fullmatch(o.strip())) for o in opts) / len(opts) if opts else 0.0,
             min(10.0 * count(b, R.DIGITS) / nc, 2.0), sq(len(R.NUM.findall(t)), 64),
             min(20.0 * n_math / nc, 2.0), float(bool(R.LATEX.search(t))),
             sq(len(R.EQN.findall(t)), 16), sq(len(R.CODE.findall(t)) + count(b, b'{};'), 32),
             4.0 * count(b, R.UPPERS) / letters, 2.0 * sum(w[0].isupper() for w in alpha[1:]) / na,
             float(bool(R.YEAR.search(t))), float('"' in t or '“' in t or bool(R.PASSAGE.search(t.lower()))),
             sq(t.count(' | ') + len(R.PAIRED.findall(t)), 8), sq(len(R.UNITS.findall(t)), 16), 5.0 * n_punct / nc)
        return np.array(v)


def reference_embedding_block(query_vec, dim):
    "Test double: the embedding block as computed before (with `np.linalg.norm`)."
    v = np.asarray(query_vec, dtype=float)
    e = np.zeros(dim); k = min(len(v), dim); e[:k] = v[:k]
    nrm = np.linalg.norm(e)
    return e * (math.sqrt(dim) / nrm) if nrm > 0 else e


EDGE_TEXTS = ["", "   ", "x", "٣ apples and ٤ pears: how many?", "Is x² ≥ 4 when x = −3?", "In the 1990s, what happened in २०२० ?",
              "def f(x): return x == 2", "for(i=0;i<3;i++){x+=i;}", "#include <stdio.h>", "while (x) { y; }", "function g() {}",
              "class Foo: pass", "import numpy as np", "Solve $x^2 = 4$ and \\frac{1}{2}", "f(x) = 3x + 2; 2x is 4", "a^2 + b^2",
              "It weighs 5kg, costs $3 and is 20°C (50%).", "Read the passage below.", "This refers to the following excerpt: …",
              "Which of the following is NOT true? Except one.", "Statement 1 | Statement 2", "Scenario 1: it's false. Scenario 2: least",
              "“Quoted” — text… with ‘curly’ marks", "PASSAGE: The following information", "Year 1066 or 2024s or 19999?",
              "A. 1.5\nB. 2/3\nC. √2\nD. π", "(a) yes\n(b) no\n(c) maybe", "and what about that?", "Und was ist mit Ümlauten 12?",
              "sum of x_{i} for all i", "the value of a^{2} here", "\\sqrt is a command", "no sentence end here",
              "Scenario 3 is it", "Statements 1 and 2", "costs $ 5 dollars", "Wow! Great! Tell me more"]


@pytest.fixture(scope='module')
def texts():
    mmlu = load_routellm_mmlu()
    picked = mmlu.groupby('subject', sort=True).head(4).prompt.tolist()  # every subject of the shipped sample
    conv = [q['question'] for q in load_questions()][::2]
    ctrl = load_controls().question.tolist()[::2]
    out = picked + conv + ctrl + _bench_queries(60, seed=5) + EDGE_TEXTS
    assert len(out) >= 500
    return out


def test_query_block_is_bit_for_bit_the_reference(texts):
    diff = [t for t in texts if query_stats(t).tobytes() != ReferenceQueryText.stats(t).tobytes()]
    assert not diff, diff[:3]


def test_embedding_block_is_bit_for_bit_the_reference():
    rng = np.random.default_rng(0)
    for n in (8, 71, 72, 73, 384, 768):
        for v in (rng.normal(size=n), rng.normal(size=n).astype(np.float32) * 1e-3, np.zeros(n), rng.uniform(-1e150, 1e150, n)):
            assert FEATURES.embedding_block(v).tobytes() == reference_embedding_block(v, FEATURES.embedding_dim).tobytes()


def reference_success(r: FastGRNNRouter, x, o):
    "Test double: `success_one` before er10 (numpy vectors throughout)."
    sig = lambda v: 0.5 * (1.0 + np.tanh(0.5 * v))
    if r.cfg.success_heads != 'linear': return sig(o[len(r.tiers) + len(CONTEXT_BINS) + 2:])
    p, c, s = r.params, r.success_cols, r.cfg.success_embedding_share
    zt, ze = p['s_text'][:, :-1] @ x[c['s_text']] + p['s_text'][:, -1], p['s_emb'][:, :-1] @ x[c['s_emb']] + p['s_emb'][:, -1]
    return sig(zt + s * (ze - p[SUCCESS_BASE])) if r.cfg.success_pool == 'evidence' else sig((1.0 - s) * zt + s * ze)


def reference_route(r: FastGRNNRouter, x, available):
    "Test double: the tier, confidence and fallback of `decide` as computed before (batch `cascade_values`, `floor_picks`)."
    o, _ = r.forward_one(x); qual = reference_success(r, x, o)
    mask = np.array([t in available for t in r.tiers]); K = len(r.tiers)
    safe = r.cfg.safe_tier
    ks = r.tiers.index(safe) if safe in r.tiers and mask[r.tiers.index(safe)] else int(np.flatnonzero(mask)[0])
    succ, u = (v[0] for v in cascade_values(qual, r.costs, r.cost_weight, ks, r.escalation_recall))
    if r.cfg.tier_choice == 'tier_head': k = int(np.argmax(np.where(mask, o[:K], -np.inf)))
    else:
        u = np.where(mask, u, -np.inf)
        k = int(np.flatnonzero(u >= u.max() - 1e-12)[np.argmin(r.costs[u >= u.max() - 1e-12])])
    conf = float(succ[k])
    floored = floor_picks(np.array([k]), qual[None], r.costs, ks, r.cfg.cheap_success_floor)[0] != k
    if r.rounds == 0 or r.is_novel(x) or floored or (conf < r.cfg.confidence_threshold and qual[ks] >= conf + r.cfg.escalation_margin):
        return r.tiers[ks], float(qual[ks]), True
    return r.tiers[k], float(qual[k]), False


def _router(tier_choice, recall, cost_weight, seed, scale=0.3, floor=0.6):
    "A router made to decide on its own (rounds > 0), its linear success heads drawn at random so every branch is reached."
    r = FastGRNNRouter(RouterConfig(tier_choice=tier_choice, cheap_success_floor=floor), ['tiny', 'small', 'medium'], seed=seed)
    rng = np.random.default_rng(seed); p = dict(r.params)
    for g in SUCCESS_GROUPS: p[g] = rng.normal(scale=scale, size=p[g].shape)
    p[SUCCESS_BASE] = rng.normal(scale=scale / 0.3, size=p[SUCCESS_BASE].shape)  # scale 0: every tier estimated alike, utilities tie
    r.set_params(p); r.rounds = 1; r.escalation_recall = recall
    r.set_utility({'tiny': 1.0, 'small': 2.0, 'medium': 2.0 if seed % 2 else 4.0}, cost_weight)  # odd seeds: a cost tie
    return r


@pytest.mark.parametrize('tier_choice,recall,cost_weight,seed,scale,floor', [
    ('utility', 0.0, 0.05, 0, 0.3, 0.6), ('utility', 0.4, 0.05, 1, 0.3, 0.6), ('utility', 0.7, 0.0, 3, 0.3, 0.6),
    ('tier_head', 0.3, 0.1, 2, 0.3, 0.6), ('utility', 0.0, 0.0, 5, 0.0, 0.0)])  # the last: ties, to the cheapest available
def test_routes_are_the_reference_routes(texts, tier_choice, recall, cost_weight, seed, scale, floor):
    r = _router(tier_choice, recall, cost_weight, seed, scale, floor)
    rng = np.random.default_rng(seed); seen = set()
    for i, t in enumerate(texts):
        rs = RetrievalStats(hit_count=i % 9, sim_top1=float(rng.uniform()), sim_mean=0.3, key_coverage=float(rng.uniform()))
        x = build_features(t, rng.normal(size=384), rs, Constraints(max_tokens=64), i % 3)
        available = [['tiny', 'small', 'medium'], ['small', 'medium'], ['tiny', 'medium'], ['tiny'],
                     {'tiny': True, 'small': False, 'medium': True}, {'tiny': False, 'small': True, 'medium': True}][i % 6]
        d, _ = r.decide(x, available=available)  # each tier set again and again: the kept masks are the right ones
        want = reference_route(r, x, [t for t in available if not isinstance(available, dict) or available[t]])
        assert (d.tier, d.confidence, d.fallback) == want, (t, d, want)
        seen.add((d.tier, d.fallback))
    assert len(seen) >= (2 if scale == 0 else 3), seen  # the routes differ, so the comparison means something


FOLLOWUP = re.compile(r"^\W*(?:and|also|but|so|then|what about|how about|it|that|this|they|those|these|he|she)\b", re.I)


def reference_features(query, query_vec, r, c, turn_index):
    "Test double: `RouterFeatures.build` before er10 (block by block, the query block from `query_stats`' array)."
    sq, B = ReferenceQueryText.sq, FEATURES.blocks
    x = np.empty(FEATURES.input_dim)
    x[B['query']] = ReferenceQueryText.stats(query)
    x[B['embedding']] = reference_embedding_block(query_vec, FEATURES.embedding_dim)
    x[B['retrieval']] = (sq(r.hit_count, 64), r.sim_top1, r.sim_mean, 4.0 * r.sim_std, sq(r.qapair_hits, 16),
                         sq(r.concept_hits, 16), sq(r.document_hits, 16), sq(r.fact_hits, 16),
                         sq(r.subgraph_nodes, 256), r.key_coverage, r.max_hop / 3.0, r.mean_edge_weight)
    size = {'tiny': 0.25, 'small': 0.5, 'medium': 0.75, 'large': 1.0}
    x[B['constraints']] = (
        float(c.max_latency_ms is not None), math.log10(max(c.max_latency_ms, 1.0)) / 5 if c.max_latency_ms else 0.0,
        float(c.max_tokens is not None), math.log2(c.max_tokens) / 12 if c.max_tokens else 0.0,
        float(c.temperature is not None), (c.temperature or 0.0) / 2, float(c.top_p is not None), c.top_p or 0.0,
        float(c.force_model is not None), size[c.force_model.value] if c.force_model is not None else 0.0,
        math.log2(c.force_context) / 12 if c.force_context else 0.0, float(c.no_cache))
    later = turn_index > 0
    x[B['session']] = (sq(turn_index, 32), float(not later), float(later and bool(FOLLOWUP.match(query))),
                       float(later and len(ReferenceQueryText.WORD.findall(query)) < 8))
    return x


def reference_decision(r: FastGRNNRouter, x, available) -> dict:
    "Test double: every field of `decide`'s Decision (no exploration, no constraints) as computed before er10, with numpy arrays."
    o, _ = r.forward_one(x); qual = reference_success(r, x, o)
    mask = np.array([t in available for t in r.tiers]); c1 = len(r.tiers); c2, c3 = c1 + len(CONTEXT_BINS), c1 + len(CONTEXT_BINS) + 1
    sig = lambda v: 0.5 * (1.0 + np.tanh(0.5 * v))
    tl = np.where(mask, o[:c1], -np.inf); tp = np.exp(tl - tl.max()); tp /= tp.sum()
    cp = np.exp(o[c1:c2] - o[c1:c2].max()); cp /= cp.sum()
    tier, conf, fallback = reference_route(r, x, available)
    if fallback: ctx, temp, top_p = r.cfg.safe_context, r.cfg.safe_temperature, r.cfg.safe_top_p
    else: ctx, temp, top_p = r.supported_settings(cp, 2.0 * float(sig(o[c2])), float(sig(o[c3])))
    return dict(tier=tier, context_size=int(ctx), temperature=temp, top_p=top_p, confidence=conf, fallback=fallback,
                tier_probs={t: float(tp[i]) for i, t in enumerate(r.tiers) if mask[i]},
                context_probs={b: float(cp[i]) for i, b in enumerate(CONTEXT_BINS)},
                quality={t: float(qual[i]) for i, t in enumerate(r.tiers)})


def _bits(d: dict) -> dict:
    "Floats as their exact bytes (so -0.0 and 0.0, or one ulp, differ), nested dicts too."
    f = lambda v: np.float64(v).tobytes() if isinstance(v, float) else v
    return {k: ({a: f(b) for a, b in v.items()} if isinstance(v, dict) else f(v)) for k, v in d.items()}


CONSTRAINTS = [Constraints(), Constraints(max_tokens=64), Constraints(max_latency_ms=250.0, temperature=0.3, top_p=0.8),
               Constraints(force_model='small', force_context=512, no_cache=True)]


def test_feature_vectors_are_bit_for_bit_the_reference(texts):
    rng = np.random.default_rng(11)
    for i, t in enumerate(texts):
        rs = RetrievalStats(hit_count=i % 9, sim_top1=float(rng.uniform()), sim_mean=0.3, sim_std=0.1 * (i % 4), qapair_hits=i % 3,
                            subgraph_nodes=i % 50, key_coverage=float(rng.uniform()), max_hop=i % 4, mean_edge_weight=0.5)
        v = rng.normal(size=256).astype(np.float32) if i % 3 else rng.normal(size=(384, 40, 72)[i % 3])  # float32 as a query vector comes
        v = v / np.linalg.norm(v)
        c, turn = CONSTRAINTS[i % len(CONSTRAINTS)], i % 4
        got, want = build_features(t, v, rs, c, turn), reference_features(t, v, rs, c, turn)
        assert got.tobytes() == want.tobytes(), (t, np.flatnonzero(got != want))


@pytest.mark.parametrize('tier_choice,recall,cost_weight,seed,scale,floor,support,pool', [
    ('utility', 0.4, 0.05, 1, 0.3, 0.6, True, 'evidence'), ('utility', 0.0, 0.05, 0, 0.3, 0.6, False, 'evidence'),
    ('tier_head', 0.3, 0.1, 2, 0.3, 0.6, True, 'evidence'), ('utility', 0.0, 0.0, 5, 0.0, 0.0, True, 'evidence'),
    ('utility', 0.4, 0.05, 3, 0.3, 0.6, True, 'log_odds')])
def test_decisions_are_field_for_field_the_reference(texts, tier_choice, recall, cost_weight, seed, scale, floor, support, pool):
    r = _router(tier_choice, recall, cost_weight, seed, scale, floor)
    r.cfg = dataclasses.replace(r.cfg, success_pool=pool)
    if support:  # settings with outcomes: the heads' own context, temperature and top_p reach the decision
        r.setting_support = dict(temperature=(0.0, 2.0), top_p=(0.0, 1.0), context=list(CONTEXT_BINS))
    rng = np.random.default_rng(seed); kinds = set()
    for i, t in enumerate(texts):
        rs = RetrievalStats(hit_count=i % 9, sim_top1=float(rng.uniform()), sim_mean=0.3, key_coverage=float(rng.uniform()))
        x = build_features(t, rng.normal(size=256).astype(np.float32), rs, Constraints(max_tokens=64), i % 3)
        available = [['tiny', 'small', 'medium'], ['small', 'medium'], ['tiny', 'medium'], ['tiny']][i % 4]
        d, _ = r.decide(x, available=available)
        got = {k: getattr(d, k) for k in ('tier', 'context_size', 'temperature', 'top_p', 'confidence', 'fallback', 'tier_probs',
                                          'context_probs', 'quality')}
        assert _bits(got) == _bits(reference_decision(r, x, available)), (t, got)
        kinds.add((d.tier, d.fallback, d.context_size))
    assert len(kinds) >= 3, kinds  # the decisions differ, so the comparison means something
