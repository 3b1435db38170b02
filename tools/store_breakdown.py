"""What a SQLite data directory's database holds, read-only: file and free bytes, events per kind (rows, bytes of their
data), request records (rows, bytes), nodes (rows, bytes of text and vectors), and how far the event log was pruned.
usage: python tools/store_breakdown.py DATA_DIR   (e.g. the directory `tools/soak.py` prints at the end)"""
import sqlite3, sys

c = sqlite3.connect(f'file:{sys.argv[1]}/memory.sqlite?mode=ro', uri=True)
one = lambda sql: c.execute(sql).fetchone()
page = one('PRAGMA page_size')[0]
print(f"file {one('PRAGMA page_count')[0] * page / 1e6:.1f} MB, free {one('PRAGMA freelist_count')[0] * page / 1e6:.1f} MB")
for kind, n, b in c.execute('SELECT kind, COUNT(*), SUM(LENGTH(data)) FROM events GROUP BY kind ORDER BY kind'):
    print(f"events {kind}: {n} rows, {b / 1e6:.1f} MB")
n, b = one("SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM kv WHERE key LIKE 'req:%'")
print(f"request records: {n} rows, {b / 1e6:.1f} MB")
n, b = one('SELECT COUNT(*), COALESCE(SUM(LENGTH(text)) + SUM(LENGTH(vector)), 0) FROM nodes')
print(f"nodes: {n} rows, {b / 1e6:.1f} MB of text and vectors")
print('pruned through:', dict(c.execute("SELECT key, value FROM meta WHERE key LIKE 'events_pruned_through:%'").fetchall()))
