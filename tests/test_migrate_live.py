"""`ruvllm migrate` from a store another process writes to (a probe of replicas, 7 December, night): the copy failed
its row-count check with a message that did not say why, and left a partial copy that opened as a normal memory and
made a second run refuse. Now nothing is copied, and the message says what to do."""
import pytest
from pathlib import Path
from ruvllm.store import copy_store, open_store
from ruvllm.types import MemoryStoreError


class WrittenDuringCopySourceDouble:
    "Test double: a source store another process writes a key-value entry to while its rows are being read."
    def __init__(self, store): self.store = store
    def export_rows(self, table):
        rows = self.store.export_rows(table)
        if table == 'kv':
            with self.store.tx(): self.store.put('req:written-meanwhile', b'{}')
        return rows
    def q(self, sql, args=()): return self.store.q(sql, args)


def test_a_source_written_during_the_copy_leaves_the_destination_empty(tmp_path):
    for d in 'ab': (tmp_path / d).mkdir()
    src, dst = open_store('sqlite', tmp_path / 'a'), open_store('sqlite', tmp_path / 'b')
    try:
        with src.tx(): src.put('req:one', b'{}')
        with pytest.raises(MemoryStoreError, match='the source changed while it was copied.*nothing was copied'):
            copy_store(WrittenDuringCopySourceDouble(src), dst)
        assert all(not dst.q(f'SELECT 1 FROM {t} LIMIT 1') for t in ('nodes', 'edges', 'kv', 'events'))
        assert copy_store(src, dst)['kv'] == 2  # once nothing writes, it copies
    finally: src.close(); dst.close()
