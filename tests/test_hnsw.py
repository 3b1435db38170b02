"""The HNSW index as the memory uses it: recall, ids, filters, deletes, persistence, threads, bad input, the numba cache."""
import json, subprocess, sys, textwrap, threading, time
from pathlib import Path

import numpy as np
import pytest

from ruvllm.hnsw import HNSWIndex
from ruvllm.evals.ann import brute_force_knn, mixture_of_gaussians, recall_at_k
from ruvllm.types import VectorIndexError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope='module')
def data():
    base, queries = mixture_of_gaussians(5000, 256, 200, n_clusters=20, spread=1.5, seed=1)
    truth, _ = brute_force_knn(base, queries, 10)
    return base, queries, truth


@pytest.fixture(scope='module')
def index(data):
    ix = HNSWIndex(256)
    ix.add(data[0])
    return ix


def test_recall_at_default_settings(data, index):
    _, queries, truth = data
    r = recall_at_k(index.search_batch(queries, 10)[0], truth)
    assert r >= 0.95, r
    # the same data is hard enough that a small candidate list misses neighbours: the check can fail
    assert recall_at_k(index.search_batch(queries, 10, ef=10)[0], truth) < 0.9


def test_parallel_batch_insert_is_as_good_as_one_by_one(data):
    base, queries, truth = data
    built = {}
    for threads in (0, 1, 2):                 # 0: the classic one-by-one insertion; 1, 2: the batch insert
        ix = built[threads] = HNSWIndex(256, insert_threads=threads)
        for a in range(0, len(base), 256): ix.add(base[a:a + 256])   # in batches, as Memory.ingest adds
    assert np.array_equal(built[1].links0, built[2].links0)           # the graph does not depend on the threads
    assert not np.array_equal(built[0].links0, built[2].links0)       # ... and it is another graph than one-by-one
    for ef in (10, 16, 32, 64):                # recall@10 against brute force, at every candidate list size
        seq, par = (recall_at_k(built[t].search_batch(queries, 10, ef=ef)[0], truth) for t in (0, 2))
        assert par >= seq - 0.005, (ef, seq, par)
    assert recall_at_k(built[2].search_batch(queries, 10, ef=64)[0], truth) >= 0.95


def test_every_vector_finds_itself_first(data, index):
    ids, dists = index.search_batch(data[0], 1)
    assert (ids[:, 0] == np.arange(5000)).all()
    assert dists.max() < 1e-5


def test_results_sorted_and_typed(data, index):
    ids, dists = index.search(data[1][0], 10)
    assert ids.dtype == np.int64 and dists.dtype == np.float32 and len(ids) == 10
    assert np.all(np.diff(dists) >= 0)
    # distance = 1 - cosine similarity
    v = data[1][0] / np.linalg.norm(data[1][0])
    assert np.allclose(dists, 1 - data[0][ids] @ v, atol=1e-5)


@pytest.mark.parametrize('metric', ['l2', 'ip'])
def test_other_metrics_match_brute_force(metric):
    x = np.random.default_rng(4).standard_normal((800, 24)).astype(np.float32)
    ix = HNSWIndex(24, metric=metric)
    ix.add(x)
    ti, td = brute_force_knn(x, x[:30], 5, metric)
    fi, fd = ix.search_batch(x[:30], 5, ef=200)
    assert recall_at_k(fi, ti) >= 0.99
    assert np.allclose(np.sort(fd, 1), np.sort(td, 1), atol=1e-3)


def test_sparse_external_ids(data):
    base = data[0][:300]
    ids = np.arange(300, dtype=np.int64) * 1_000_003 + 2**40   # large and sparse, like the memory's node ids
    ix = HNSWIndex(256)
    assert (ix.add(base, ids) == ids).all()
    found, _ = ix.search_batch(base, 1)
    assert (found[:, 0] == ids).all()
    assert int(ids[7]) in ix and 7 not in ix
    assert np.allclose(ix.get_vector(int(ids[7])), base[7] / np.linalg.norm(base[7]), atol=1e-6)
    assert ix.add(base[0])[0] == ids.max() + 1    # new ids continue after the largest


def test_filter_mask_by_external_id_and_callable(data):
    base = data[0][:2000]
    ids = np.arange(2000, dtype=np.int64) * 3           # ids 0, 3, 6, ...
    ix = HNSWIndex(256)
    ix.add(base, ids)
    allowed = (ids % 2 == 0)                            # half of the nodes, by id
    mask = np.zeros(ids.max() + 1, bool); mask[ids[allowed]] = True
    for q in data[1][:20]:
        got, _ = ix.search(q, 10, filter=mask)
        assert len(got) == 10 and (got % 2 == 0).all()
        t, _ = brute_force_knn(base[allowed], q[None], 10)
        assert len(np.intersect1d(got, ids[allowed][t[0]])) >= 9
        via_callable, _ = ix.search(q, 10, filter=lambda i: i % 2 == 0)
        assert (via_callable % 2 == 0).all() and len(via_callable) == 10
    # a mask shorter than an id means "not allowed"
    short = np.ones(10, bool)
    assert set(ix.search(data[1][0], 10, filter=short)[0]) == {0, 3, 6, 9}
    # fewer allowed than k: all of them; none allowed: empty
    few = np.zeros(ids.max() + 1, bool); few[[ids[5], ids[1500]]] = True
    assert sorted(ix.search(data[1][0], 10, filter=few)[0]) == sorted([ids[5], ids[1500]])
    assert len(ix.search(data[1][0], 10, filter=np.zeros(5, bool))[0]) == 0
    assert sorted(ix.search(data[1][0], 10, filter=lambda i: i in (ids[3], ids[4]))[0]) == [ids[3], ids[4]]


def test_selective_filter_still_finds_allowed_nodes(data, index):
    # 1 % of the nodes allowed: the search must not stop at k disallowed neighbours
    mask = np.random.default_rng(5).random(5000) < 0.01
    got = index.search_batch(data[1][:20], 10, filter=mask)[0]
    t, _ = brute_force_knn(data[0][mask], data[1][:20], 10)
    assert recall_at_k(got, np.flatnonzero(mask)[t]) == 1.0


@pytest.mark.parametrize('threads', [0, 2])
def test_delete_compact_and_readd(data, threads):
    base = data[0][:1000]
    ix = HNSWIndex(256, insert_threads=threads)
    ix.add(base)
    for i in range(0, 1000, 3): ix.delete(i)
    assert len(ix) == 666 and 3 not in ix and 4 in ix
    got = ix.search_batch(base, 10)[0]
    assert (got % 3 != 0).all()
    live = np.flatnonzero(np.arange(1000) % 3 != 0)
    t, _ = brute_force_knn(base[live], base[:50], 10)
    assert recall_at_k(got[:50], live[t]) >= 0.95          # tombstones still carry the search
    with pytest.raises(VectorIndexError, match='id 3 is already in the index'): ix.add(base[3], ids=[3])
    with pytest.raises(VectorIndexError, match='id 3 is deleted'): ix.delete(3)
    before = ix.search_batch(base[live], 1)[0][:, 0]
    ix.compact()
    assert len(ix) == 666 and ix.n_slots == 666 and 3 not in ix
    assert (ix.search_batch(base[live], 1)[0][:, 0] == live).all() and (before == live).all()
    with pytest.raises(VectorIndexError, match='id 3 is already|unknown'): ix.delete(3)
    assert ix.add(base[0])[0] == 1000


@pytest.mark.parametrize('threads', [0, 2])
def test_delete_everything_then_search(data, threads):
    ix = HNSWIndex(256, insert_threads=threads)
    ix.add(data[0][:50])
    for i in range(50): ix.delete(i)
    ids, dists = ix.search(data[1][0], 5)
    assert len(ids) == 0 and len(dists) == 0 and len(ix) == 0
    ix.add(data[0][50:60])                                 # new nodes link to tombstones, and are found
    assert set(ix.search(data[1][0], 20)[0]) == set(range(50, 60))


@pytest.mark.parametrize('mmap', [False, True])
def test_save_load_identity(data, tmp_path, mmap):
    ix = HNSWIndex(256, ef_search=40, seed=3)
    ix.add(data[0][:1500], np.arange(1500) * 7)
    for i in range(0, 1500 * 7, 70): ix.delete(i)
    ix.save(tmp_path / 'ix')
    header = json.loads((tmp_path / 'ix' / 'hnsw.json').read_text())
    assert header['format'] == 'ruvllm.hnsw' and header['version'] == 1
    back = HNSWIndex.load(tmp_path / 'ix', mmap=mmap)
    for a, b in zip(ix.search_batch(data[1], 10), back.search_batch(data[1], 10)):
        assert np.array_equal(a, b)
    assert (len(back), back.ef_search, back.metric, back.dim) == (len(ix), 40, 'cosine', 256)
    # both keep growing identically (the level generator's state is saved too)
    more = data[0][1500:1700]
    assert np.array_equal(ix.add(more), back.add(more))
    assert np.array_equal(ix.search_batch(data[1], 10)[0], back.search_batch(data[1], 10)[0])


def test_load_rejects_other_formats(tmp_path):
    (tmp_path / 'x').mkdir()
    with pytest.raises(VectorIndexError, match='not a saved HNSW index'): HNSWIndex.load(tmp_path / 'x')
    (tmp_path / 'x' / 'hnsw.json').write_text(json.dumps({'format': 'ruvllm.hnsw', 'version': 2}))
    with pytest.raises(VectorIndexError, match='version 2'): HNSWIndex.load(tmp_path / 'x')


def test_batch_equals_singles(data, index):
    bi, bd = index.search_batch(data[1][:60], 7, ef=30)
    for r in range(60):
        si, sd = index.search(data[1][r], 7, ef=30)
        assert np.array_equal(bi[r], si) and np.array_equal(bd[r], sd)
    # padding when fewer than k exist
    small = HNSWIndex(256); small.add(data[0][:3])
    pi, pd = small.search_batch(data[1][:2], 5)
    assert (pi[:, 3:] == -1).all() and np.isinf(pd[:, 3:]).all() and (pi[:, :3] >= 0).all()


def test_empty_index():
    ix = HNSWIndex(8)
    ids, dists = ix.search(np.ones(8), 3)
    assert ids.shape == (0,) and dists.shape == (0,) and len(ix) == 0
    bi, bd = ix.search_batch(np.ones((2, 8)), 3)
    assert (bi == -1).all() and np.isinf(bd).all()


def test_concurrent_search_while_adding(data):
    base = data[0]
    ix = HNSWIndex(256)
    ix.add(base[:300])
    errors, sizes = [], []

    def searcher(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(400):
                q = base[rng.integers(0, 5000)]
                ids, d = ix.search(q, 5, filter=(lambda i: i % 2 == 0) if rng.random() < 0.1 else None)
                assert len(ids) == 5 and ((ids >= 0) & (ids < 5000)).all() and np.all(np.diff(d) >= 0)
                sizes.append(len(ix))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=searcher, args=(s,)) for s in range(2)]
    for t in threads: t.start()
    ix.add(base[300:3000])
    for i in range(0, 300, 5): ix.delete(i)
    for t in threads: t.join()
    assert errors == []
    assert len(ix) == 3000 - 60
    assert (ix.search_batch(base[300:3000:50], 1)[0][:, 0] == np.arange(300, 3000, 50)).all()


BAD = [
    (lambda ix: ix.add(np.ones(7)), 'got (7,)'),
    (lambda ix: ix.add(np.ones((2, 9))), 'got (2, 9)'),
    (lambda ix: ix.add([[1, 2, 3, np.nan, 0, 0, 0, 0]]), 'vectors[0] contains NaN or inf'),
    (lambda ix: ix.add(np.r_[np.ones(7), np.inf]), 'contains NaN or inf'),
    (lambda ix: ix.add(np.zeros(8)), 'has zero length'),
    (lambda ix: ix.add(np.ones(8), ids=[0]), 'id 0 is already in the index'),
    (lambda ix: ix.add(np.ones((2, 8)), ids=[50, 50]), 'duplicate id 50'),
    (lambda ix: ix.add(np.ones(8), ids=[-1]), 'got -1'),
    (lambda ix: ix.add(np.ones(8), ids=['a']), 'ids must be non-negative integers'),
    (lambda ix: ix.add(np.ones((3, 8)), ids=[1, 2]), 'got 3 vectors but 2 ids'),
    (lambda ix: ix.search(np.ones(9)), 'query must have shape (8,), got (9,)'),
    (lambda ix: ix.search(np.full(8, np.nan)), 'query contains NaN or inf'),
    (lambda ix: ix.search(np.zeros(8)), 'query has zero length'),
    (lambda ix: ix.search(np.ones(8), k=0), 'k must be an integer >= 1, got 0'),
    (lambda ix: ix.search(np.ones(8), k=-2), 'got -2'),
    (lambda ix: ix.search(np.ones(8), k='3'), "got '3'"),
    (lambda ix: ix.search(np.ones(8), ef=0), 'ef must be an integer >= 1, got 0'),
    (lambda ix: ix.search(np.ones(8), filter=np.array([1, 0])), 'boolean array'),
    (lambda ix: ix.search(np.ones(8), filter={1, 2}), 'got set'),
    (lambda ix: ix.search_batch(np.ones(8)), 'queries must have shape (q, 8)'),
    (lambda ix: ix.search_batch(np.ones((2, 8)), k=0), 'k must be an integer >= 1'),
    (lambda ix: ix.delete(99), 'unknown id 99'),
    (lambda ix: ix.delete('x'), "unknown id 'x'"),
    (lambda ix: ix.get_vector(12345), 'unknown id 12345'),
    (lambda ix: HNSWIndex(-1), 'dim must be an integer >= 1, got -1'),
    (lambda ix: HNSWIndex(8, metric='dot'), "got 'dot'"),
    (lambda ix: HNSWIndex(8, M=0), 'M must be an integer >= 2 and <= 512, got 0'),
    (lambda ix: HNSWIndex(8, ef_construction=0), 'ef_construction must be an integer >= 1'),
    (lambda ix: HNSWIndex(8, ef_construction=10**9), 'ef_construction must be an integer >= 1 and <= 4096, got 1000000000'),  # each insert allocates ~4 x ef
    (lambda ix: HNSWIndex(8, ef_search=2.5), 'got 2.5'),
]


@pytest.mark.parametrize('call,message', BAD, ids=[m for _, m in BAD])
def test_bad_input_names_the_value(call, message):
    ix = HNSWIndex(8)
    ix.add(np.eye(8))
    with pytest.raises(VectorIndexError) as e: call(ix)
    assert message in str(e.value)
    assert isinstance(e.value, ValueError)
    assert len(ix) == 8        # nothing was half-added


def test_kernels_release_the_gil_and_are_cached():
    import ruvllm.hnsw as H
    assert len(H.KERNELS) >= 19
    for f in H.KERNELS:
        assert f.targetoptions.get('nogil') and f.targetoptions.get('cache') is not False, f
        assert f._cache.__class__.__name__ == 'FunctionCache', f


def test_first_search_in_a_new_process_uses_the_numba_cache(tmp_path):
    """A fresh process loads the compiled kernels from the cache instead of compiling (timing is the benchmark's job)."""
    script = textwrap.dedent("""
        import json, sys, time
        t0 = time.perf_counter()
        import numpy as np
        from ruvllm.hnsw import HNSWIndex, kernel_cache_misses
        t1 = time.perf_counter()
        ix = HNSWIndex.load(sys.argv[1])
        ids, _ = ix.search(np.ones(256, np.float32), 5)
        t2 = time.perf_counter()
        misses = kernel_cache_misses()
        print(json.dumps(dict(n=len(ids), import_s=t1 - t0, first_search_s=t2 - t1, misses=misses)))
    """)
    ix = HNSWIndex(256); ix.add(np.random.default_rng(0).standard_normal((500, 256)).astype(np.float32))
    ix.save(tmp_path / 'ix')
    runs = [json.loads(subprocess.run([sys.executable, '-c', script, str(tmp_path / 'ix')], capture_output=True, text=True,
                                      check=True, cwd=ROOT).stdout) for _ in range(2)]
    assert runs[1]['n'] == 5
    assert runs[1]['misses'] and not any(runs[1]['misses'].values()), runs   # the second process compiled nothing


def test_search_releases_the_gil(data, index):
    """Another Python thread keeps running while a long batch search is inside the compiled kernel.

    If the kernel held the GIL, the counter would only move during the few ms of Python around the call."""
    ticks, done = [0], threading.Event()

    def count():
        while not done.is_set(): ticks[0] += 1

    def rate(work):
        t0, n0 = time.perf_counter(), ticks[0]; work()
        return (ticks[0] - n0) / (time.perf_counter() - t0)

    t = threading.Thread(target=count); t.start()
    try:
        idle = rate(lambda: time.sleep(0.2))
        busy = rate(lambda: index.search_batch(np.repeat(data[1], 30, axis=0), 10, ef=200))
    finally:
        done.set(); t.join()
    assert busy > 0.1 * idle, (busy, idle)


def test_k_and_ef_larger_than_the_index(data):
    ix = HNSWIndex(256)
    ix.add(data[0][:30])
    ids, d = ix.search(data[1][0], k=1000, ef=10**9)
    assert sorted(ids) == list(range(30)) and np.all(np.diff(d) >= 0)
    bi, bd = ix.search_batch(data[1][:2], k=40, ef=10**9)
    assert bi.shape == (2, 40) and (bi[:, 30:] == -1).all() and (np.sort(bi[:, :30], 1) == np.arange(30)).all()


def test_add_in_chunks_of_one_builds_the_same_graph_and_a_bad_chunk_is_refused():
    "`add(chunk=1)` (the memory's writer: one node per exclusive hold) links the same graph as one hold for the batch."
    from ruvllm.hnsw import HNSWIndex
    from ruvllm.types import VectorIndexError
    X = np.random.default_rng(3).standard_normal((300, 16)).astype(np.float32)
    one, many = HNSWIndex(16, seed=1), HNSWIndex(16, seed=1)
    one.add(X[:100]); many.add(X[:100])
    one.add(X[100:]); many.add(X[100:], chunk=1)
    for a, b in zip(one.search_batch(X[:50], 8), many.search_batch(X[:50], 8)): np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one.nodes[:300], many.nodes[:300])  # the same links (the arrays may have grown differently)
    with pytest.raises(VectorIndexError, match="chunk must be an integer >= 1"): many.add(X[:2], chunk=0)
    assert len(many) == 300


def test_vectors_are_read_by_id_for_dense_and_sparse_ids_before_and_after_compact():
    "`get_vectors` and `similarities` find ids through an id -> slot array when ids are small and dense, the dict when not."
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 16)).astype(np.float32); X /= np.linalg.norm(X, axis=1, keepdims=True)
    for ids in (np.arange(300) * 3, np.arange(300) * 10**9):  # dense (an array), sparse (the dict)
        idx = HNSWIndex(16); idx.add(X[:200], ids[:200])
        pick = [7, 150, 3, 199]
        np.testing.assert_allclose(idx.get_vectors(ids[pick]), X[pick], atol=1e-6)
        idx.add(X[200:], ids[200:])  # slots added after the first read
        np.testing.assert_allclose(idx.similarities(ids[[250, 7]], X[250]), [1.0, float(X[7] @ X[250])], atol=1e-5)
        idx.delete(int(ids[150]))
        with pytest.raises(VectorIndexError, match="is deleted"): idx.get_vectors(ids[[3, 150]])
        with pytest.raises(VectorIndexError, match="unknown id"): idx.get_vectors([int(ids[-1]) + 1])
        idx.compact()  # a new id map
        np.testing.assert_allclose(idx.get_vectors(ids[[299, 0]]), X[[299, 0]], atol=1e-6)
