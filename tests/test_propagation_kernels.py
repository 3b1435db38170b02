"""fast9: propagation's numpy steps became nogil kernels and per-node text work is memoised; the outputs must be bit-identical.
Each kernel is compared with the numpy code it replaced (kept here as `reference_*`) over varied random inputs."""
import numpy as np
import pytest
from ruvllm.hybrid import activate_edges, chain_sums, window_factors, same_text_key


def reference_activate(p, ei, ej, ew, backward, mix, hops):  # the numpy `activate_edges` before fast9
    from ruvllm.hybrid import spread_hops
    to, fr, val = np.concatenate((ej, ei)), np.concatenate((ei, ej)), np.concatenate((ew, backward * ew))
    key = to * len(p) + fr
    order = np.argsort(key, kind='stable')
    key, val = key[order], val[order]
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if len(key) else np.zeros(0, np.int64)
    val = np.maximum(np.maximum.reduceat(val, first), 0.0) if len(key) else val
    return spread_hops(p, key[first] // len(p), key[first] % len(p), val, mix, hops)


def reference_window(ids, r, wid, ei, ej, flat, mix, decay, window):  # `_window_lift`'s numpy steps before fast9
    key = np.unique(ei * len(wid) + ej)
    q = np.zeros(len(wid)); q[:len(flat)] = flat
    lift = mix * chain_sums(q, key // len(wid), key % len(wid), decay, window)
    order = np.argsort(wid, kind='stable')
    at = order[np.minimum(np.searchsorted(wid, ids, sorter=order), len(wid) - 1)]
    found = wid[at] == ids
    chained = (np.bincount(key // len(wid), minlength=len(wid)) + np.bincount(key % len(wid), minlength=len(wid))) > 0
    m = 1.0 + lift[at[found]]
    m[~chained[at[found]]] = m.max()
    top, r = r.max(), r.copy()
    r[found] *= m
    return r * (top / r.max()) if r.max() > 0 else r


def test_activate_kernel_equals_the_numpy_steps_bit_for_bit():
    rng = np.random.default_rng(1)
    for _ in range(2000):
        n, ne = int(rng.integers(1, 40)), int(rng.integers(0, 80))  # repeated (to, from) pairs and self-loops included
        ei, ej = rng.integers(0, n, ne).astype(np.int64), rng.integers(0, n, ne).astype(np.int64)
        ew = rng.random(ne) * (rng.random(ne) > 0.2)
        if rng.random() < 0.3: ew = np.round(ew, 1)  # ties between parallel edges
        p = rng.random(n) * (rng.random(n) > 0.5)
        b, mix, hops = float(rng.choice([0.0, 0.3, 1.0])), float(rng.random()), int(rng.integers(0, 4))
        assert np.array_equal(activate_edges(p, ei, ej, ew, b, mix, hops), reference_activate(p, ei, ej, ew, b, mix, hops))


def test_window_kernel_equals_the_numpy_steps_bit_for_bit():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        ns = int(rng.integers(1, 8)); nw = ns + int(rng.integers(0, 30)); ne = int(rng.integers(0, 60))
        wid = rng.choice(1000, nw, replace=False).astype(np.int64)  # the window walk: seeds first
        ei, ej = rng.integers(0, nw, ne).astype(np.int64), rng.integers(0, nw, ne).astype(np.int64)
        reached = rng.choice(wid[ns:], min(nw - ns, int(rng.integers(0, 10))), replace=False)
        other = rng.choice(np.setdiff1d(np.arange(1000), wid), int(rng.integers(0, 20)), replace=False)  # scored, not in the window
        ids = np.concatenate((wid[:ns], rng.permutation(np.concatenate((reached, other))))).astype(np.int64)
        r = rng.random(len(ids)) * (rng.random(len(ids)) > 0.3)
        flat, mix, decay, w = rng.random(ns), float(rng.random() * 2), float(rng.random()), int(rng.integers(1, 4))
        assert np.array_equal(window_factors(ids, r, wid, ei, ej, flat, mix, decay, w),
                              reference_window(ids, r, wid, ei, ej, flat, mix, decay, w))


@pytest.mark.parametrize('speaker', [None, 'Dana', '  ', {'name': 'Dana'}, ['Dana'], 3])
def test_same_text_key_is_memoised_but_takes_any_speaker_as_before(speaker):
    "A memo keyed by the speaker would raise on an unhashable one; anything but a non-blank string still counts as no speaker."
    text = '[8 May, 2023] Dana:  We got   the KEYS!'
    assert same_text_key(text, speaker) == ('Dana', 'we got the keys!')  # the header names the speaker
    assert same_text_key('Dana: hi there', speaker) == (('Dana', 'hi there') if speaker == 'Dana' else (None, 'dana: hi there'))
