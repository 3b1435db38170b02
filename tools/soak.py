"""Soak test of the ruvllm HTTP server (a child process, extractive tier): client threads at full speed ingest made-up
facts, ask about them (plain, streamed, OpenAI-compatible, in sessions), rate and correct answers, and read /stats and
/health, while Loops B and C run (Loop C archives after 120 s). Every 30 s it samples the server's RSS, threads, file
descriptors, CPU and the data directory's files (`OUTDIR/samples.jsonl`, a line printed each time); at the end
`OUTDIR/final.json` holds the client's counts, statuses and errors. The data directory is kept (its path is printed).
usage: python tools/soak.py [minutes=25] [threads=3] [outdir=./soak-out]   (needs the server extra: httpx, uvicorn)"""
import json, os, random, statistics, sys, tempfile, threading, time, glob, collections
from pathlib import Path
import httpx
from ruvllm.config import Config
from ruvllm.server import ServerProcess

MIN = float(sys.argv[1]) if len(sys.argv) > 1 else 25
NT = int(sys.argv[2]) if len(sys.argv) > 2 else 3
OUT = Path(sys.argv[3] if len(sys.argv) > 3 else 'soak-out'); OUT.mkdir(parents=True, exist_ok=True)
SAMPLE_S = 30
MAX_FACTS = 1500
DATA = tempfile.mkdtemp(prefix='soak-data-')
cfg = (Config.builder().db_path(DATA).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
       .set('learning.training_interval_s', 60.0).set('learning.compression_interval_s', 90.0)
       .set('learning.train_every_outcomes', 50).set('learning.cold_after_s', 120.0)
       .set('cache.probe_interval_s', 60.0).build())
sp = ServerProcess(cfg, log_path=OUT / 'server.log').start()
PID, URL = sp.proc.pid, sp.url
print('server', PID, URL, 'data', DATA, flush=True)

# ---- made-up facts ----
FIRST = 'Mira Orrin Tavi Bexley Corvin Lysa Dorran Ebba Fitch Halvard Ines Jorund Kestrel Lio Maelis Nox Odessa Perrin Quill Rosk'.split()
LAST = 'Telford Vance Ashgrove Merrow Quint Sallow Brennick Dunmore Fairweather Kettering Lumley Pryce Ravensworth Stroud Yarrow'.split()
THINGS = 'reactor lighthouse orchard observatory foundry library bridge windmill canal aqueduct'.split()
TOWNS = 'Quenton Harrowgate Velmont Carrick Dunmere Ostrava Pellham Silverby Tarn Wexmoor'.split()
COLORS = 'blue amber crimson silver green violet'.split()
lock = threading.Lock()
facts = []  # (text, [question variants])
def make_fact(r):
    k = r.randrange(4); n = f"{r.choice(FIRST)} {r.choice(LAST)}"; th = r.choice(THINGS); tw = r.choice(TOWNS); yr = r.randrange(1700, 2000)
    tag = f"{th}{r.randrange(1000)}"  # unique-ish coined word
    if k == 0: return (f"{n} built the {tag} {th} in {tw} in {yr}.",
                       [f"Who built the {tag} {th} in {tw}?", f"Which person constructed the {tag} {th}?", f"When was the {tag} {th} in {tw} built?"])
    if k == 1: c = r.choice(COLORS); return (f"The {tag} {th} of {tw} is painted {c} every spring by {n}.",
                       [f"What color is the {tag} {th} of {tw}?", f"Who paints the {tag} {th}?", f"Which colour does {n} paint the {tag} {th}?"])
    if k == 2: m = r.randrange(2, 900); return (f"{n} counted {m} pigeons at the {tag} {th} near {tw}.",
                       [f"How many pigeons did {n} count at the {tag} {th}?", f"How many pigeons were counted near {tw} at the {tag} {th}?", f"Who counted pigeons at the {tag} {th}?"])
    return (f"The {tag} {th} in {tw} was closed in {yr} after a flood, says {n}.",
            [f"Why was the {tag} {th} in {tw} closed?", f"When did the {tag} {th} close?", f"What happened to the {tag} {th} in {yr}?"])

# ---- client-side accounting ----
lat = collections.defaultdict(list)        # endpoint -> [(t, seconds)]
status = collections.Counter()             # (endpoint, status)
cnt = collections.Counter()                # ok counts by server counter key
errors = []                                # (t, endpoint, status, body)
stop = threading.Event()

def rec(ep, t0, code, body=''):
    dt = time.time() - t0
    with lock:
        lat[ep].append((t0, dt)); status[(ep, code)] += 1
        if code >= 500 or code == 0: errors.append((round(t0, 1), ep, code, body[:300]))

def client(i):
    r = random.Random(1000 + i)
    c = httpx.Client(base_url=URL, timeout=120)
    asked, rids, sess, sess_left = [], [], None, 0
    while not stop.is_set():
        try:
            with lock: nf = len(facts)
            x = r.random()
            if nf < 10 or x < 0.03:      # ingest a small batch (new facts up to MAX_FACTS, then re-ingest known ones)
                if nf < MAX_FACTS: batch = [make_fact(r) for _ in range(r.randint(2, 6))]
                else:
                    with lock: batch = r.sample(facts, r.randint(2, 6))
                items = [t if r.random() < 0.5 else dict(text=t, source=f'soak{i}', type=r.choice(['Document', 'Fact'])) for t, _ in batch]
                t0 = time.time(); resp = c.post('/ingest', json=dict(items=items)); rec('ingest', t0, resp.status_code, resp.text)
                if resp.status_code == 200:
                    with lock: facts.extend(batch) if nf < MAX_FACTS else None; cnt['ingest'] += 1; cnt['ingested_items'] += len(batch)
                continue
            if x < 0.10:
                ep = r.choice(['/stats', '/health']); t0 = time.time(); resp = c.get(ep); rec(ep[1:], t0, resp.status_code, resp.text); continue
            if x < 0.13 or (sess is not None and sess_left <= 0):
                if r.random() < 0.6:
                    t0 = time.time(); resp = c.post('/session', json={}); rec('session', t0, resp.status_code, resp.text)
                    if resp.status_code == 200:
                        sess, sess_left = resp.json()['session_id'], r.randint(3, 15)
                        with lock: cnt['session'] += 1
                else: sess = None
                continue
            if x < 0.30 and rids:          # feedback
                rid = rids.pop(r.randrange(len(rids)))
                fb = dict(request_id=rid)
                y = r.random()
                if y < 0.6: fb['rating'] = r.randint(1, 5)
                if y > 0.4 and r.random() < 0.5: fb['correction'] = f"Actually it was {r.choice(FIRST)} {r.choice(LAST)}."
                if 'rating' not in fb and 'correction' not in fb: fb['task_success'] = r.random() < 0.7
                t0 = time.time(); resp = c.post('/feedback', json=fb); rec('feedback', t0, resp.status_code, resp.text)
                if resp.status_code == 200:
                    with lock: cnt['feedback'] += 1; cnt['corrections'] += 'correction' in fb
                continue
            # a question
            y = r.random()
            if asked and y < 0.35: q = r.choice(asked)                     # repeated
            else:
                with lock: f = r.choice(facts)
                q = r.choice(f[1]) if y < 0.8 else f[1][0].replace('Who', 'Tell me who').rstrip('?') + ', please?'
                asked.append(q); asked[:] = asked[-200:]
            use_sess = sess if (sess and r.random() < 0.7) else None
            if use_sess: sess_left -= 1
            kind = r.choice(['query', 'query_stream', 'chat', 'chat_stream'])
            t0 = time.time()
            if kind == 'query':
                body = dict(query=q); body.update(session_id=use_sess) if use_sess else None
                resp = c.post('/query', json=body); code = resp.status_code; rec(kind, t0, code, resp.text)
                if code == 200:
                    rid = resp.json()['request_id']
            elif kind == 'query_stream':
                body = dict(query=q); body.update(session_id=use_sess) if use_sess else None
                with c.stream('POST', '/query/stream', json=body) as resp:
                    txt = ''.join(resp.iter_text()); code = resp.status_code
                    if code == 200 and 'event: error' in txt: code = 599; 
                    if code == 200 and 'event: response' not in txt: code = 598
                rec(kind, t0, code, txt)
                if code == 200: rid = json.loads(txt.split('data: ', 2)[1].split('\n')[0])['request_id']
            else:
                body = dict(model='ruvllm', messages=[dict(role='user', content=q)], stream=kind == 'chat_stream')
                if use_sess: body['session_id'] = use_sess
                if kind == 'chat':
                    resp = c.post('/v1/chat/completions', json=body); code = resp.status_code; rec(kind, t0, code, resp.text)
                    if code == 200: rid = resp.json()['id']
                else:
                    with c.stream('POST', '/v1/chat/completions', json=body) as resp:
                        txt = ''.join(resp.iter_text()); code = resp.status_code
                        if code == 200 and ('"error"' in txt or '[DONE]' not in txt): code = 597
                    rec(kind, t0, code, txt)
                    if code == 200: rid = json.loads(txt.split('data: ', 1)[1].split('\n')[0])['id']
            if code == 200:
                with lock: cnt['query' if kind.startswith('query') else 'chat'] += 1; cnt['session_queries'] += bool(use_sess)
                if r.random() < 0.5: rids.append(rid); rids[:] = rids[-50:]
        except Exception as e:
            with lock: errors.append((round(time.time(), 1), 'client', 0, repr(e)[:300]))
            time.sleep(0.5)

def proc_status(pid):
    d = {}
    for line in open(f'/proc/{pid}/status'):
        k, _, v = line.partition(':')
        if k in ('VmRSS', 'Threads', 'VmHWM'): d[k] = int(v.split()[0])
    d['fds'] = len(os.listdir(f'/proc/{pid}/fd'))
    d['cpu_s'] = sum(int(x) for x in open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[11:13]) / os.sysconf('SC_CLK_TCK')
    return d

def dir_size(p):
    return sum(f.stat().st_size for f in Path(p).rglob('*') if f.is_file())

def pct(xs, p): 
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else None

mc = httpx.Client(base_url=URL, timeout=60)
samples = open(OUT / 'samples.jsonl', 'w')
def sample(t_prev):
    now = time.time()
    s = dict(t=round(now - T0, 1), **proc_status(PID), data_bytes=dir_size(DATA),
             wal=sum(os.path.getsize(f) for f in glob.glob(DATA + '/**/*-wal', recursive=True)),
             files={str(Path(f).relative_to(DATA)): os.path.getsize(f) for f in glob.glob(DATA + '/**/*', recursive=True) if os.path.isfile(f)})
    with lock:
        s['lat'] = {ep: dict(n=len(w), p50=round(pct(w, .5) * 1e3, 1), p95=round(pct(w, .95) * 1e3, 1), p99=round(pct(w, .99) * 1e3, 1), max=round(max(w) * 1e3, 1))
                    for ep, v in lat.items() if (w := [d for t, d in v if t >= t_prev])}
        s['client'] = dict(cnt); s['n_errors'] = len(errors); s['facts'] = len(facts)
    try: s['stats'] = mc.get('/stats').json()
    except Exception as e: s['stats'] = repr(e)
    samples.write(json.dumps(s) + '\n'); samples.flush()
    st = s['stats'] if isinstance(s['stats'], dict) else {}
    print(f"t={s['t']:7.1f} rss={s['VmRSS']/1024:.1f}MB thr={s['Threads']} fds={s['fds']} data={s['data_bytes']/1e6:.2f}MB wal={s['wal']/1e6:.2f}MB cpu={s['cpu_s']:.0f}s "
          f"q={st.get('queries',{}).get('queries')} nodes={st.get('memory',{}).get('nodes')} sess={st.get('sessions')} errs={s['n_errors']} "
          + ' '.join(f"{k}:{v['n']}/{v['p50']}/{v['p95']}" for k, v in sorted(s['lat'].items())), flush=True)
    return now

T0 = time.time()
t_prev = sample(T0)
ths = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(NT)]
for th in ths: th.start()
try:
    while time.time() - T0 < MIN * 60:
        time.sleep(SAMPLE_S); t_prev = sample(t_prev)
finally:
    stop.set()
    for th in ths: th.join(120)
    time.sleep(1); sample(t_prev)
    final = dict(client=dict(cnt), status={f'{k[0]} {k[1]}': v for k, v in status.items()}, errors=errors[:200], n_errors=len(errors))
    json.dump(final, open(OUT / 'final.json', 'w'), indent=1)
    print(json.dumps(final)[:3000])
    code = sp.stop(); print('exit code', code, 'data', DATA)
    samples.close()
