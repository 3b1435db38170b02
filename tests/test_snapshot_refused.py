"""An index snapshot the disk refuses fails no write: the records are in the store, so `ingest` and `close` succeed
with a warning, the last good snapshot stays, no temporary folder is left, and a reopen finds every record (found as a
user found it: `ingest` exited 1 after storing, and the retry stored the record twice). The refusal comes from a test
double whose `save` raises as a full disk does; a folder a crash left behind is cleared by the next snapshot."""
import errno, logging
import pytest

from ruvllm.config import MemoryConfig
from ruvllm.embedding import WordLlamaEmbedder
from ruvllm.memory import Memory

DOCS = ["The Zorblat river flows through the city of Quenby.", "Quenby is famous for its glass bridges."]


class RefusingIndex:
    "Test double: the memory's index, whose `save` raises ENOSPC (a full disk) after writing part of the folder."
    def __init__(self, inner): self.inner, self.refused = inner, 0
    def save(self, path):
        path.mkdir(parents=True, exist_ok=True); (path / 'partial').write_bytes(b'\0' * 16)
        self.refused += 1; raise OSError(errno.ENOSPC, "No space left on device (test double)")
    def __contains__(self, x): return x in self.inner
    def __len__(self): return len(self.inner)
    def __getattr__(self, name): return getattr(self.inner, name)


def leftovers(path): return sorted(p.name for p in path.iterdir() if p.name.startswith('index.'))


def test_a_refused_snapshot_fails_no_write_and_loses_nothing(tmp_path, caplog):
    m = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig())
    m.ingest(DOCS, progress=False); m.snapshot()  # a good snapshot of the first two
    good = (tmp_path / 'm' / 'index' / 'memory_checkpoint.json').read_text()
    m.index = RefusingIndex(m.index)
    with caplog.at_level(logging.WARNING, logger='ruvllm'):
        ids = m.ingest(["The Quenby tower is 212 metres tall."], progress=False)  # stored: no error
        assert m.snapshot() is False
        ids += m.ingest(["Glass bridges in Quenby were built in 1921."], progress=False)
        m.close()  # its snapshot is refused too: still closed, no error
    assert m.index.refused == 2 and m.closed
    assert any('index snapshot could not be written' in r.getMessage() and 'nothing is lost' in r.getMessage() for r in caplog.records)
    assert leftovers(tmp_path / 'm') == [] and (tmp_path / 'm' / 'index' / 'memory_checkpoint.json').read_text() == good
    m = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig())  # replays the one record the snapshot lacks
    try:
        assert len(m) == 4 and m.get(ids[1]).text.endswith('1921.') and m.get(ids[0]).text.startswith("The Quenby tower")
        assert m.search("How tall is the Quenby tower?", k=1)[0].node.id == ids[0]
    finally: m.close()


def test_a_temporary_folder_left_by_a_crash_goes_with_the_next_snapshot(tmp_path):
    m = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig())
    try:
        m.ingest(DOCS, progress=False)
        (tmp_path / 'm' / 'index.tmp999999').mkdir(); (tmp_path / 'm' / 'index.tmp999999' / 'vectors.npy').write_bytes(b'x')
        assert m.snapshot() is True
        assert leftovers(tmp_path / 'm') == []
    finally: m.close()
