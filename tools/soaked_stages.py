"""Per-stage query latency and stats() time on a copy of a soaked data dir (many archived nodes, concepts, edges).
The directory is copied first (a query writes). usage: python tools/soaked_stages.py SOAKED_DATA_DIR
(to compare two versions of the code, run it twice, with PYTHONPATH pointing at each)"""
import sys, sqlite3, json, random, statistics, time, tempfile, collections, shutil
import ruvllm
from ruvllm.config import Config
from ruvllm.orchestrator import RuvLLM
from ruvllm.types import Constraints
SRC = sys.argv[1]
d = tempfile.mkdtemp(prefix='soaked-copy-'); shutil.rmtree(d); shutil.copytree(SRC, d)
c = sqlite3.connect(f'file:{d}/memory.sqlite?mode=ro', uri=True)
rows = [json.loads(v)['query'] for (v,) in c.execute("select value from kv where key like 'req:%' order by key limit 3000")]
c.close()
qs = random.Random(0).sample(rows, 300)
cfg = (Config.builder().db_path(d).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
       .set('learning.enabled', False).build())
llm = RuvLLM(cfg)
for q in qs[:30]: llm.query(q, learn=False, constraints=Constraints(no_cache=True))
agg = collections.defaultdict(list)
for q in qs:
    r = llm.query(q, learn=False, constraints=Constraints(no_cache=True))
    for k, v in r.to_dict()["latency"].items(): agg[k].append(v)
sts = []
for _ in range(5): t = time.perf_counter(); st = llm.stats(); sts.append((time.perf_counter() - t) * 1e3)
print(ruvllm.__file__, 'nodes', st['memory']['nodes'], 'live', st['memory']['live'], 'edges', st['memory']['edges'],
      {k: round(statistics.median(v), 2) for k, v in agg.items()}, 'stats() ms median', round(statistics.median(sts), 1), flush=True)
svs = []
for _ in range(3): t = time.perf_counter(); llm.save(); svs.append((time.perf_counter() - t) * 1e3)
print('save() ms', [round(x) for x in svs], flush=True)
llm.close(); shutil.rmtree(d)
