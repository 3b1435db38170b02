"""hot12: less Python around retrieval's compiled kernels; every result must stay the same to the bit.
Each changed step is compared with a plain version of what it computed before (`reference_*` here)."""
import math
import random
from datetime import datetime
import numpy as np
import pytest
from ruvllm.embedding import HashingEmbedder
from ruvllm.types import InvalidInputError
from ruvllm.memory import LexicalIndex, Memory
from ruvllm.text import date_kinds, date_window


# --- LexicalIndex.search: the slot sort is skipped when the candidates already come in slot order ---

def reference_search(lx: LexicalIndex, query, k, allowed, max_postings=5_000, extra=None):
    """`LexicalIndex.search` as it was before hot12, in plain numpy: the same word choice (`query_terms`, which hot12 did not
    change), float32 terms summed per slot in float64 in posting order, the candidates always sorted by slot before
    `argpartition` cuts them."""
    wt = lx.query_terms(query, max_postings, extra); keep = list(wt)
    if not keep or k < 1: return np.zeros(0, np.int64), np.zeros(0)
    n, avg = max(lx.docs, 1), lx.total / max(lx.docs, 1)
    df = [len(lx.slots[j]) for j in keep]
    idf = np.repeat(np.array([max(math.log((n - d + 0.5) / (d + 0.5)), 1e-6) * wt[j] for j, d in zip(keep, df)], np.float32), df)
    slots = np.concatenate([np.frombuffer(lx.slots[j], np.int32) for j in keep]).astype(np.int64)
    tf = np.concatenate([np.frombuffer(lx.counts[j], np.float32) for j in keep])
    f32 = np.float32
    lengths = np.frombuffer(lx.lengths, np.float32)[slots]
    terms = idf * tf * f32(lx.k1 + 1) / (tf + f32(lx.k1) * (f32(1 - lx.b) + f32(lx.b) * lengths / f32(avg)))
    sums: dict[int, float] = {}
    for s, c in zip(slots.tolist(), terms.tolist()): sums[s] = sums.get(s, 0.0) + c  # float64, posting order, first-seen order
    ok = [s for s, v in sums.items() if v != 0.0 and s < len(allowed) and allowed[s]]
    cand, score = np.array(ok, np.int64), np.array([sums[s] for s in ok], np.float64)
    if len(cand) > k:
        bys = np.argsort(cand, kind='stable'); cand, score = cand[bys], score[bys]
        top = np.argpartition(-score, k - 1)[:k]; cand, score = cand[top], score[top]
    order = np.lexsort((cand, -score))
    return cand[order], score[order]


def _same(a, b): return a[0].tolist() == b[0].tolist() and [x.hex() for x in a[1].tolist()] == [x.hex() for x in b[1].tolist()]


def test_lexical_search_is_the_reference_to_the_bit_ties_included():
    rng = random.Random(12)
    vocab = ['harbour', 'mill', 'bridge', 'tower', 'market', 'Arlen', 'Jarrow', 'flood', 'vote', 'the', 'and']
    for case in range(40):
        lx = LexicalIndex()
        n_docs = rng.randint(0, 400)
        for s in range(n_docs):  # few distinct texts: many slots tie on score; some free slots
            lx.add(s, None if rng.random() < 0.05 else ' '.join(rng.choice(vocab[:rng.randint(1, len(vocab))]) for _ in range(rng.randint(1, 4))),
                   ' '.join(rng.sample(vocab, 2)) if rng.random() < 0.3 else None, 0.5)
        allowed = np.array([rng.random() < 0.8 for _ in range(len(lx) + 3)], bool)  # some slots not visible (another namespace)
        for query in ['', 'the', 'harbour', 'mill bridge', 'Arlen flood vote', 'tower market harbour the', 'nothing here',
                      ' '.join(rng.sample(vocab, 3))]:
            for k in (1, 2, 5, 50, 1000):
                mp = rng.choice([5_000, 30, 1])  # 1: the rarest word alone (its postings come in slot order)
                extra = {'vote': 0.5, 'flood': 2.0} if rng.random() < 0.3 else None
                assert _same(lx.search(query, k, allowed, mp, extra), reference_search(lx, query, k, allowed, mp, extra)), (case, query, k, mp)


def test_one_word_candidates_straddling_the_cut_keep_the_same_tied_slots():
    lx = LexicalIndex()
    for s in range(300): lx.add(s, 'harbour wall' if s % 3 else 'harbour')  # two scores only: ties straddle every cut
    allowed = np.ones(300, bool); allowed[::7] = False
    for k in (1, 10, 50, 199):
        got, ref = lx.search('harbour', k, allowed), reference_search(lx, 'harbour', k, allowed)
        assert _same(got, ref) and len(got[0]) == k


# --- Memory.check_vector: the norm from one sum of squares ---

def reference_check_vector(dim, v, what='vector'):  # `Memory.check_vector` before hot12
    try: v = np.asarray(v, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError): raise InvalidInputError(f"{what} must be a list or array of numbers") from None
    if v.shape[0] != dim: raise InvalidInputError(f"{what} must have {dim} dimensions, got {v.shape[0]}")
    if not np.all(np.isfinite(v)): raise InvalidInputError(f"{what} contains NaN or inf")
    n = float(np.linalg.norm(v))
    if n < 1e-6: raise InvalidInputError(f"{what} is (close to) all zeros; a zero vector cannot be stored or searched")
    return v / n


def _outcome(f, *a):
    try: r = f(*a); return r.dtype, r.tobytes()
    except InvalidInputError as e: return 'error', str(e)


def test_check_vector_is_the_reference_to_the_bit(tmp_path):
    with Memory.open(tmp_path / 'm', HashingEmbedder(dim=16)) as mem:
        rng = np.random.default_rng(12)
        cases = [rng.standard_normal(16) * rng.choice([1e-30, 1e-6, 1.0, 1e15, 1e30]) for _ in range(300)]
        cases += [np.zeros(16), np.full(16, 1e-8), np.full(16, 3e38), np.full(16, 1e20), [1.0] * 16, list(range(16)), np.arange(32)[::2],
                  np.full(16, np.nan), np.r_[np.ones(15), np.inf], np.r_[np.ones(15), -np.inf], np.r_[np.full(15, 3e38), np.nan],
                  np.ones(15), np.ones((4, 4)), 'sixteen', [[1, 2], [3]], np.ones(16, np.float64) * 7, np.float32(1)]
        for v in cases:
            assert _outcome(mem.check_vector, v) == _outcome(reference_check_vector, 16, v), v


# --- date_kinds / date_window: the hint words checked in one scan; a month hint counts only as a word ---

NOW = datetime(2024, 5, 17, 15, 30)


def test_date_kinds_edge_cases():
    assert date_kinds('') == frozenset() and date_kinds('harbour') == frozenset() and date_kinds('When was the market built?') == frozenset()
    assert date_kinds('May 2023') >= {'day', 'month'} and date_kinds('in Sept. 2020') >= {'day', 'month', 'year'}
    assert date_kinds('maybe the marketing team') == frozenset()  # month letters inside words: no month named
    assert date_kinds('YESTERDAY') == {'rel', 'weekday'} and date_kinds('2 weeks ago') == {'rel', 'ago'} and date_kinds('2023-05-07') == {'iso', 'year'}


WORDS = ['in', 'on', 'of', 'last', 'this', 'past', 'the', 'may', 'May', 'March', 'mar.', 'Sept.', 'sept', 'december', 'market', 'maybe',
         'monday', 'Friday', 'yesterday', 'today', 'tonight', 'morning', 'week', 'weekend', 'month', 'year', 'before', 'ago', 'a', 'few',
         'couple', '3', '21st', '2nd', '1999', '2023', '2023-05-07', 'day', 'days', ',', '.', '-', 'early', 'mid', 'what', 'I', 'ıs']


MONTH_WORDS = {*'january february march april may june july august september october november december'.split(),
               *'jan feb mar apr jun jul aug sept sep oct nov dec'.split()}



def test_date_window_finds_every_date_it_found_before():  # soundness: a kind left out by `date_kinds` could not have matched
    rng = random.Random(12)
    texts = [' '.join(rng.choice(WORDS) for _ in range(rng.randint(0, 7))) for _ in range(4000)]
    texts += ['What gig did Oliver go to in June 2023?', 'the 3rd of March, 2021', 'March 3', 'since mid-may', 'in 1999',
              'two weeks ago', 'the week before last', 'on Friday', 'May I ask?', 'MARCH 5TH', 'march the 5th']
    found = 0
    for t in texts:
        w = date_window(t, NOW)
        found += w is not None
        kinds = date_kinds(t)
        if w is not None: assert kinds, t
        for kind in ('day', 'month'):  # a month name as a word is what lets the month patterns run
            if kind in kinds: assert any(x.lower().strip('.,?') in MONTH_WORDS for x in t.replace('-', ' ').split()), t
    assert found > 1000  # the corpus exercises the patterns
