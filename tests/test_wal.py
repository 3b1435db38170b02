"""SQLite's WAL checkpoints run where no query waits for them, and the WAL stays bounded.

SQLite checkpoints inside the commit that crosses `wal_autocheckpoint` pages; the memory's writes commit under
`Memory._lock`, so a query waited for it (tens of ms at 100k nodes). The memory checkpoints itself instead, in the
writing thread, after the lock is let go (`Memory._write` -> `SQLiteStore.checkpoint`). A checkpoint concurrent with
commits never lets the WAL start over (hot8's attempt: 28.9 MB after 300 queries); the bound test shows this one does."""
import threading
import pytest

from ruvllm.config import MemoryConfig
from ruvllm.embedding import WordLlamaEmbedder
from ruvllm.memory import Memory
from ruvllm.types import NodeType

BOUND = 600_000  # bytes of WAL file: about 150 pages; 200 writes without a checkpoint leave several MB


@pytest.fixture(scope='module')
def emb(): return WordLlamaEmbedder()


def write_many(mem, n=200):
    "n single-node write transactions while another thread keeps searching (readers on the store's connection)."
    stop = threading.Event()
    def read():
        while not stop.is_set(): mem.search("Which river flows through Quenby?", k=3)
    r = threading.Thread(target=read, daemon=True); r.start()
    try:
        for i in range(n): mem.add_node(f"Note {i}: the Zorblat river is {i} km long near tower {i * 7}.", NodeType.FACT)
    finally: stop.set(); r.join(20)
    return (mem.path / Memory.DB_FILE).with_name(Memory.DB_FILE + '-wal').stat().st_size


def test_the_wal_stays_bounded_under_many_writes(tmp_path, emb):
    # SQLite's own checkpoint off: only the memory's checkpoints can keep the WAL small
    with Memory.open(tmp_path / 'm', emb, MemoryConfig(checkpoint_every=8, wal_restart_pages=32, wal_autocheckpoint=0)) as mem:
        size = write_many(mem)
    assert size < BOUND, f"the WAL grew to {size} bytes: it did not start over after the checkpoints"


def test_without_the_checkpoints_the_wal_grows_past_the_bound(tmp_path, emb):
    "The bound above is one this load breaks when nothing checkpoints (so the test above can fail)."
    with Memory.open(tmp_path / 'm', emb, MemoryConfig(checkpoint_every=10**9, wal_autocheckpoint=0)) as mem:
        size = write_many(mem)
    assert size > 2 * BOUND, size


def test_sqlites_own_checkpoint_stays_as_the_bound(tmp_path, emb):
    with Memory.open(tmp_path / 'm', emb, MemoryConfig(wal_autocheckpoint=1234)) as mem:
        assert mem.store.q('PRAGMA wal_autocheckpoint') == [(1234,)]


class PausingCheckpoint:
    "Test double for the store's `checkpoint`: the first due one waits for `go`, after setting `paused`."
    def __init__(self, inner): self.inner, self.paused, self.go = inner, threading.Event(), threading.Event()
    def __call__(self, *a, **k):
        if not self.paused.is_set():
            self.paused.set()
            assert self.go.wait(40), "the query never finished"
        return self.inner(*a, **k)


def test_a_query_runs_while_a_write_checkpoints(tmp_path, emb):
    with Memory.open(tmp_path / 'm', emb, MemoryConfig(checkpoint_every=1)) as mem:
        mem.add_node("The Zorblat river flows through the city of Quenby.", NodeType.FACT)
        mem.hybrid_subgraph("Which river flows through Quenby?")  # warm: its first call compiles kernels (seconds)
        ck = PausingCheckpoint(mem.store.checkpoint); mem.store.checkpoint = ck
        w = threading.Thread(target=lambda: mem.add_node("Quenby is famous for its glass bridges.", NodeType.FACT), daemon=True)
        w.start()
        assert ck.paused.wait(20)  # the write committed and is in its checkpoint
        done = threading.Event()
        q = threading.Thread(target=lambda: (mem.hybrid_subgraph("Which river flows through Quenby?"), mem.get(1), done.set()), daemon=True)
        q.start()
        ok = done.wait(20)  # with the memory's lock held across the checkpoint the query would wait (and the write for `go`)
        ck.go.set(); w.join(20); q.join(20)
        assert ok, "the query waited for the write's checkpoint"
        assert len(mem.search("glass bridges", k=2)) >= 1
