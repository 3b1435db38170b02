"""The memory's lock is not held across an index search or a write's index insert: a request's retrieval does not wait
for a write-back's search or insert (the tail of the orchestration latency at 100k nodes was these waits), and a write
does not wait for a search. Nor across a write's SQL: a retrieval does not wait for Loop A's (or an ingest's) store
commit; the write still counts its own rows as seen before anyone else may read the store, so a catch-up never applies
them a second time, and a commit that fails leaves nothing behind. Each test runs the two sides in two threads with a
test double (an index or a store) that pauses one side until the other has finished; with the lock held across the
pause they would wait for each other (detected by a timeout, not timed). The same holds for `touch`'s batch of accesses:
its SQL runs without the lock, and a batch whose write fails waits for the next transaction. A retrieval, for its part,
reads one state of memory: a write lands before or after it, never between its steps (`Memory.reading`)."""
import threading, time
from datetime import datetime, timezone
import pytest

from ruvllm.config import MemoryConfig
from ruvllm.embedding import WordLlamaEmbedder
from ruvllm.memory import Memory
from ruvllm.types import NodeType

DOCS = ["The Zorblat river flows through the city of Quenby.", "Quenby is famous for its glass bridges.",
        "The Quenby tower is 212 metres tall.", "Glass bridges in Quenby were built in 1921."]


class PausingIndex:
    "Test double: the memory's index, whose `add` or `search` (`pause`) waits for `go` once, after setting `paused`."
    def __init__(self, inner, pause: str):
        self.inner, self.pause, self.paused, self.go, self.fail_add = inner, pause, threading.Event(), threading.Event(), 0
    def _hold(self, name):
        if name == self.pause and not self.paused.is_set():
            self.paused.set()
            assert self.go.wait(20), "the other side never finished"
    def add(self, *a, **k):
        if self.fail_add: self.fail_add -= 1; raise RuntimeError("test double: insert failed")
        self._hold('add'); return self.inner.add(*a, **k)
    def search(self, *a, **k): self._hold('search'); return self.inner.search(*a, **k)
    def __contains__(self, x): return x in self.inner
    def __len__(self): return len(self.inner)
    def __getattr__(self, name): return getattr(self.inner, name)


@pytest.fixture
def mem(tmp_path):
    m = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig())
    m.ingest(DOCS, progress=False)
    yield m
    m.close()


def in_thread(fn):
    out = {}
    def run():
        try: out['value'] = fn()
        except BaseException as e: out['error'] = e
    t = threading.Thread(target=run, daemon=True); t.start()
    return t, out


def search_meanwhile(mem):
    "Search in a thread: (whether it finished within 10 s, the thread, its result). With `_lock` held across the other side's pause it would not."
    done = threading.Event()
    s, got = in_thread(lambda: (mem.search("Which river flows through Quenby?", k=2), done.set()))
    return done.wait(10), s, got


def test_a_search_runs_while_a_write_inserts_into_the_index(mem):
    idx = PausingIndex(mem.index, 'add'); mem.index = idx
    t, out = in_thread(lambda: mem.add_node("The Zorblat is 80 km long.", NodeType.FACT))
    assert idx.paused.wait(20)  # the write is inside its index insert
    ok, s, got = search_meanwhile(mem)  # with `_lock` held across the insert, the search would wait for the write (and the write for `go`)
    idx.go.set(); t.join(20); s.join(20)
    assert ok, "the search waited for the write's index insert"
    assert 'error' not in out and 'error' not in got
    assert got['value'][0][0].node.text == DOCS[0]  # the committed node not applied yet is not seen half-way
    nid = out['value']
    assert mem.get(nid).text == "The Zorblat is 80 km long." and nid in [h.node.id for h in mem.search("How long is the Zorblat?", k=5)]


def test_a_write_runs_while_a_search_is_in_the_index(mem):
    idx = PausingIndex(mem.index, 'search'); mem.index = idx
    s, got = in_thread(lambda: mem.search("Which river flows through Quenby?", k=2))
    assert idx.paused.wait(20)  # the search is inside the index
    done = threading.Event()
    t, out = in_thread(lambda: (mem.add_node("The Zorblat is 80 km long.", NodeType.FACT), done.set()))
    ok = done.wait(10)
    idx.go.set(); s.join(20); t.join(20)
    assert ok, "the write waited for the search"
    assert 'error' not in out and 'error' not in got
    assert [h.node.text for h in got['value']][0] == DOCS[0]


def test_a_failed_index_insert_is_retried_under_the_lock(mem):
    idx = PausingIndex(mem.index, 'none'); mem.index = idx
    idx.fail_add = 1  # the insert outside the lock fails once; the node must still be indexed and found
    nid = mem.add_node("The Zorblat is 80 km long.", NodeType.FACT)
    assert idx.fail_add == 0 and nid in [h.node.id for h in mem.search("How long is the Zorblat?", k=5)]
    assert len(mem.index) == len(DOCS) + 1


# A write's SQL, without the lock

NEW = "The Zorblat is 80 km long."


class PausingStore:
    "Test double: the memory's store, whose method `on` (`insert_nodes`: inside the write's transaction) waits for `go` once; or fails (`fail`)."
    def __init__(self, inner, on: str = 'insert_nodes'):
        self.inner, self.on, self.paused, self.go, self.fail = inner, on, threading.Event(), threading.Event(), False
    def _held(self, *a, **k):
        if self.fail: raise RuntimeError(f"test double: {self.on} failed")
        if not self.paused.is_set():
            self.paused.set()
            assert self.go.wait(20), "the other side never finished"
        return getattr(self.inner, self.on)(*a, **k)
    def __getattr__(self, name): return self._held if name == self.on else getattr(self.inner, name)


def paused_write(mem, write, on: str = 'insert_nodes'):
    "Start `write` in a thread and return once it is inside its store transaction (in the store's method `on`)."
    real, st = mem.store, PausingStore(mem.store, on)
    mem.store = st
    t, out = in_thread(write)
    assert st.paused.wait(20)
    return real, st, t, out


def test_a_search_runs_while_a_write_commits(mem):
    real, st, t, out = paused_write(mem, lambda: mem.add_node(NEW, NodeType.FACT))
    ok, s, got = search_meanwhile(mem)  # with `_lock` held across the SQL, the search would wait for the write (and the write for `go`)
    st.go.set(); t.join(20); s.join(20); mem.store = real
    assert ok, "the search waited for the write's store commit"
    assert 'error' not in out and 'error' not in got
    assert got['value'][0][0].node.text == DOCS[0]  # the node being committed is not seen half-way
    assert out['value'] in [h.node.id for h in mem.search("How long is the Zorblat?", k=5)]


def test_a_search_runs_while_an_ingest_commits(mem):
    real, st, t, out = paused_write(mem, lambda: mem.ingest([NEW, "The Zorblat freezes in January."], progress=False))
    ok, s, got = search_meanwhile(mem)
    st.go.set(); t.join(20); s.join(20); mem.store = real
    assert ok, "the search waited for the ingest's store commit"
    assert 'error' not in out and len(mem) == len(DOCS) + 2


def test_a_catch_up_during_the_commit_does_not_apply_the_writes_own_rows(mem):
    before = len(mem)
    real, st, t, out = paused_write(mem, lambda: mem.add_node(NEW, NodeType.FACT))
    s, synced = in_thread(mem.sync)  # waits for the store until the write commits, then must find nothing new
    st.go.set(); t.join(20); s.join(20); mem.store = real
    assert 'error' not in out and 'error' not in synced
    assert synced['value'] == 0, "the catch-up took the write's own rows for another process's"
    assert len(mem) == before + 1 and len(mem.index) == before + 1
    assert [h.node.id for h in mem.search("How long is the Zorblat?", k=5)].count(out['value']) == 1


def test_a_failed_commit_leaves_nothing_and_the_memory_writable(mem):
    before, seq = len(mem), mem.store.change_seq()
    real, st = mem.store, PausingStore(mem.store)
    st.fail = True; mem.store = st
    with pytest.raises(RuntimeError, match="test double"): mem.add_node(NEW, NodeType.FACT)
    mem.store = real
    assert len(mem) == before and mem.store.change_seq() == seq
    nid = mem.add_node(NEW, NodeType.FACT)  # nothing left counted as unapplied or open
    assert len(mem) == before + 1 and nid in [h.node.id for h in mem.search("How long is the Zorblat?", k=5)]
    snap = mem.path / Memory.INDEX_DIR
    old = snap.stat().st_mtime_ns if snap.exists() else 0
    mem.snapshot()  # it runs (a batch left counted as unapplied would make every snapshot a no-op)
    assert snap.exists() and snap.stat().st_mtime_ns > old


class TxPausingStore(PausingStore):
    "Test double: a `PausingStore` that also holds its first `tx()` (the writer has taken the memory's lock, not yet the store's) until `enter`."
    def __init__(self, inner):
        super().__init__(inner); self.at_tx, self.enter = threading.Event(), threading.Event()
    def tx(self):
        if not self.at_tx.is_set():
            self.at_tx.set()
            assert self.enter.wait(20), "never let in"
        return self.inner.tx()


def test_a_catch_up_that_waited_for_a_write_does_not_apply_its_rows(tmp_path):
    cfg = MemoryConfig(sync_interval_s=0)  # no background catch-up: the test's thread is the only one
    mem = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), cfg)
    try:
        mem.ingest(DOCS, progress=False)
        other = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), cfg)  # another process's memory on the same directory
        try: other.add_node("Quenby has a harbour.", NodeType.FACT)  # news for `mem`
        finally: other.close()
        real, st = mem.store, TxPausingStore(mem.store)
        mem.store = st
        t, out = in_thread(lambda: mem.add_node(NEW, NodeType.FACT))
        assert st.at_tx.wait(20)  # the write holds the memory's lock and is about to begin its transaction
        got = {}
        s = threading.Thread(target=lambda: got.update(n=mem.sync()), daemon=True); s.start()
        time.sleep(0.3)  # the catch-up has seen the news and waits for the memory's lock
        st.enter.set()
        assert st.paused.wait(20)  # the write caught up on the news itself and is in its SQL, the lock let go
        time.sleep(0.3)  # the catch-up has the lock now and waits for the store
        st.go.set(); t.join(20); s.join(20); mem.store = real
        assert 'error' not in out
        assert got['n'] == 0, "the catch-up applied the write's own rows"
        assert len(mem.index) == len(DOCS) + 2 and len(mem) == len(DOCS) + 2
    finally: mem.close()


def test_a_search_runs_while_touch_writes_its_batch(tmp_path):
    mem = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig(touch_batch=2))
    try:
        ids = mem.ingest(DOCS, progress=False)
        mem.touch(ids[:1])  # one access waits; the second fills the batch, which is written at once
        real, st, t, out = paused_write(mem, lambda: mem.touch(ids[1:2]), on='touch_nodes')  # the batch's SQL has begun
        ok, s, got = search_meanwhile(mem)  # with `_lock` held across the SQL, the search would wait for it
        st.go.set(); t.join(20); s.join(20); mem.store = real
        assert ok, "the search waited for touch's store write"
        assert 'error' not in out and 'error' not in got
        assert [mem.store.get_nodes([i])[i].access_count for i in ids[:2]] == [1, 1]
    finally: mem.close()


def test_a_touch_batch_whose_write_fails_waits_for_the_next_transaction(tmp_path):
    mem = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig(touch_batch=2))
    try:
        ids = mem.ingest(DOCS, progress=False)
        real, st = mem.store, PausingStore(mem.store, on='touch_nodes')
        st.fail = True; mem.store = st
        mem.touch(ids[:1])
        with pytest.raises(RuntimeError, match="test double"): mem.touch(ids[:1])
        mem.store = real
        assert mem.get(ids[0]).access_count == 2 and real.get_nodes([ids[0]])[ids[0]].access_count == 0  # in RAM; not stored yet
        mem.add_node(NEW, NodeType.FACT)  # the next write transaction takes the waiting accesses along
        assert real.get_nodes([ids[0]])[ids[0]].access_count == 2
    finally: mem.close()


def test_a_write_lands_before_or_after_a_retrieval_never_inside_it(tmp_path):
    m = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig())
    m.ingest(DOCS, progress=False); m.close()
    mem = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig())  # opened again: the learned edge-type weights are read on first use
    try:
        real, st = mem.store, PausingStore(mem.store, on='get')  # that read: after the candidates, before the propagation
        mem.store = st
        r, got = in_thread(lambda: mem.hybrid_subgraph("Which river flows through Quenby?", k=3))
        assert st.paused.wait(20)  # the retrieval is half-way
        done = threading.Event()
        w, out = in_thread(lambda: (mem.add_node(NEW, NodeType.FACT), done.set()))
        landed = done.wait(1.0)  # a write free to land does so in milliseconds
        st.go.set(); r.join(20); w.join(20); mem.store = real
        assert not landed, "a write landed between the steps of a retrieval"
        assert 'error' not in got and 'error' not in out
        assert got['value'].ranked()[0].node.text == DOCS[0]
        assert out['value'][0] in [h.node.id for h in mem.hybrid_search("How long is the Zorblat?", k=3)]  # and then it is there
    finally: mem.close()


def test_a_node_applied_after_a_later_one_is_still_found_by_its_words(mem):
    # Its index insert runs outside the lock, so a later write can be applied first; a lexical search in between must not
    # pass over its slot for good (before, the RAM lexical index indexed it as a free slot and never came back to it).
    idx = PausingIndex(mem.index, 'add'); mem.index = idx
    t, out = in_thread(lambda: mem.add_node("The Vantaloo lighthouse is painted blue.", NodeType.FACT))
    assert idx.paused.wait(20)  # committed, not applied yet
    later = mem.add_node("Quenby hosts a kite festival.", NodeType.FACT)  # a later slot, applied at once
    mem.lexical_search("kite festival", k=3)  # brings the lexical index up, as far as it may go
    idx.go.set(); t.join(20)
    assert 'error' not in out
    assert [h.node.id for h in mem.lexical_search("Vantaloo lighthouse", k=3)] == [out['value']]
    assert later in [h.node.id for h in mem.lexical_search("kite festival", k=3)]


def test_a_node_applied_after_a_later_one_still_counts_for_the_present(mem):
    # The same for state read once per slot from the node columns: here the newest time the memory's nodes state (`present`).
    idx = PausingIndex(mem.index, 'add'); mem.index = idx
    t, out = in_thread(lambda: mem.add_nodes([dict(text="Lunch with Dana at the harbour.", metadata={'timestamp': '2024-06-01'})]))
    assert idx.paused.wait(20)  # committed, not applied yet
    mem.add_nodes([dict(text="The Quenby tower reopened.", metadata={'timestamp': '2023-01-01'})])  # a later slot, applied at once
    mem.present()  # reads the slots' stated times, as far as it may go
    idx.go.set(); t.join(20)
    assert 'error' not in out
    assert mem.present() == datetime(2024, 6, 1, tzinfo=timezone.utc).timestamp() + 1  # the later-applied node's time counts (the present: just after it)
