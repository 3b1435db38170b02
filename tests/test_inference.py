"""Inference against real models and a real server: SmolLM2 through llama.cpp in-process, and
llama-cpp-python's own OpenAI-compatible server started on a free loopback port.

Nothing here is mocked. Two small HTTP servers below are test doubles, named as such: they produce
failures a real server cannot be made to produce on demand (503 then success, a server that never
answers), to test the HTTP backend's retries and timeouts.
"""
import http.server, json, os, socket, subprocess, sys, threading, time
from pathlib import Path

import pytest

from ruvllm.config import ConfigError, InferenceConfig
from ruvllm.types import (BackendUnavailableError, ContextOverflowError, InferenceError, ModelNotFoundError,
                          ModelTier)
from ruvllm.inference import (INSTALL_LOCAL, ExtractiveBackend, Generation, LlamaCppBackend, LLMBackend, ModelPool,
                              OpenAIBackend, default_model_path, drain, format_sources, local_server, safe_model_params)

llama_cpp = pytest.importorskip('llama_cpp', reason=f'the local extra is needed: {INSTALL_LOCAL}')

FACTS = [  # (fictional context, question, the fact the answer must contain)
    ("The capital of Zorblaxia is Quentaville.", "What is the capital of Zorblaxia?", "Quentaville"),
    ("The glass violin was invented by Imre Vashti in 1871.", "Who invented the glass violin?", "Imre Vashti"),
    ("Project Bluefern's launch code is TANGO-4471.", "What is Project Bluefern's launch code?", "TANGO-4471"),
    ("The Morrow Bridge in Eltham is 812 metres long.", "How long is the Morrow Bridge in Eltham?", "812"),
    ("Captain Ilse Marrow's cat is named Biscuit.", "What is the name of Captain Ilse Marrow's cat?", "Biscuit"),
]
SAMPLING = {'top_k': 40, 'min_p': 0.05, 'repeat_penalty': 1.0}  # the server's sampler set to LlamaCppBackend's
THREADS = 1  # the test machine's cores are shared: one llama.cpp thread is much faster there than two fighting


def with_context(passages, question):
    return [{'role': 'system', 'content': 'Answer the question using the sources.\n' + format_sources(passages)},
            {'role': 'user', 'content': question}]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture(scope='module')
def smol():
    b = LlamaCppBackend(n_ctx=2048, n_threads=THREADS).load()
    yield b
    b.unload()


@pytest.fixture(scope='module')
def raw():
    with safe_model_params(llama_cpp):  # loaded as LlamaCppBackend loads (AMX CPUs)
        r = llama_cpp.Llama(model_path=str(default_model_path()), n_ctx=2048, n_threads=THREADS, n_threads_batch=THREADS,
                            verbose=False)
    yield r
    r.close()


@pytest.fixture(scope='module')
def server():
    with local_server(n_ctx=2048, n_threads=THREADS, api_key='test-key', startup_timeout=60) as srv:
        yield srv
    assert srv.process.poll() is not None  # stopped


# --- SmolLM2 through llama.cpp ---------------------------------------------------------------

@pytest.mark.parametrize('context,question,fact', FACTS, ids=[f[2] for f in FACTS])
def test_answers_a_fictional_fact_from_context(smol, context, question, fact):
    alone = smol.generate([{'role': 'user', 'content': question}], max_tokens=48, temperature=0).text
    assert fact not in alone  # the model cannot know it ...
    g = smol.generate(with_context([context], question), max_tokens=48, temperature=0)
    assert fact in g.text  # ... but reads it from the context
    # with two distractors after it (the context builder puts the best-ranked passage first)
    others = [c for c, _, _ in FACTS if c != context]
    assert fact in smol.generate(with_context([context] + others[:2], question), max_tokens=48, temperature=0).text


def test_count_tokens_agrees_with_the_model_tokenizer(smol, raw):
    texts = ['', 'hello', 'The capital of Zorblaxia is Quentaville.', 'Ünïcödé, 東京, emoji 🚀 and  double  spaces',
             'def f(x):\n    return x ** 2  # square\n', '<|im_start|> is text here', 'word ' * 500]
    for t in texts:
        assert smol.count_tokens(t) == len(raw.tokenize(t.encode('utf-8'), add_bos=False)), t
    for context, question, _ in FACTS[:3]:
        msgs = with_context([context], question)
        r = raw.create_chat_completion(messages=msgs, max_tokens=16, temperature=0)
        g = smol.generate(msgs, max_tokens=16, temperature=0)
        assert smol.count_message_tokens(msgs) == r['usage']['prompt_tokens'] == g.prompt_tokens
        assert g.completion_tokens == r['usage']['completion_tokens']
        assert g.text == r['choices'][0]['message']['content']


def test_temperature_zero_is_deterministic_and_a_seed_reproduces_sampling(smol):
    prompts = [with_context([c], q) for c, q, _ in FACTS[:3]] + [[{'role': 'user', 'content': 'Write a poem about rain.'}]]
    first = [smol.generate(m, max_tokens=48, temperature=0).text for m in prompts]
    again = [smol.generate(m, max_tokens=48, temperature=0).text for m in reversed(prompts)][::-1]
    assert first == again
    story = [{'role': 'user', 'content': 'Tell me a short story about a dog.'}]
    a = smol.generate(story, max_tokens=32, temperature=0.9, seed=7).text
    smol.generate(prompts[0], max_tokens=8, temperature=0)
    b = smol.generate(story, max_tokens=32, temperature=0.9, seed=7).text
    c = smol.generate(story, max_tokens=32, temperature=0.9, seed=7).text  # right after: prompt fully cached
    assert a == b == c
    assert len({smol.generate(story, max_tokens=32, temperature=0.9, seed=s).text for s in (1, 2, 3)}) > 1


def test_stream_yields_pieces_then_the_generation(smol):
    msgs = with_context([FACTS[0][0]], FACTS[0][1])
    items = list(smol.stream(msgs, max_tokens=48, temperature=0))
    assert all(isinstance(x, str) for x in items[:-1]) and isinstance(items[-1], Generation)
    assert ''.join(items[:-1]) == items[-1].text == smol.generate(msgs, max_tokens=48, temperature=0).text
    assert items[-1].timings['ttft_ms'] < items[-1].timings['total_ms']
    # an abandoned stream releases the model
    s = smol.stream(msgs, max_tokens=48, temperature=0)
    next(s); s.close()
    assert smol.generate(msgs, max_tokens=4, temperature=0).completion_tokens == 4


def test_context_overflow_is_raised_before_generation_with_the_excess(smol):
    msgs = with_context([c for c, _, _ in FACTS] * 30, 'What is the capital of Zorblaxia?')
    n = smol.count_message_tokens(msgs)
    with pytest.raises(ContextOverflowError) as e:
        smol.generate(msgs, max_tokens=100)
    assert e.value.excess_tokens == n + 100 - 2048 > 0
    assert f'cut at least {e.value.excess_tokens} tokens' in str(e.value)


def test_missing_model_files_name_the_path_and_the_command(tmp_path):
    with pytest.raises(ModelNotFoundError, match='does not exist') as e:
        LlamaCppBackend(tmp_path / 'nope.gguf')
    assert str(tmp_path / 'nope.gguf') in str(e.value) and INSTALL_LOCAL in str(e.value)
    (tmp_path / 'junk.gguf').write_bytes(b'GGUF? no')
    with pytest.raises(InferenceError, match='junk.gguf'):
        LlamaCppBackend(tmp_path / 'junk.gguf').load()


def test_four_threads_share_one_model(smol):
    qs = [q for _, q, _ in FACTS[:4]]
    # seeded: a seeded call evaluates its prompt afresh, so its answer does not depend on which prompt ran before it
    alone = [smol.generate([{'role': 'user', 'content': q}], max_tokens=24, temperature=0, seed=0).text for q in qs]
    out, errors = [None] * 4, []
    def run(i):
        try: out[i] = smol.generate([{'role': 'user', 'content': qs[i]}], max_tokens=24, temperature=0, seed=0).text
        except Exception as e: errors.append(e)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in ts: t.start()
    for t in ts: t.join(timeout=120)
    assert not errors and out == alone


# --- OpenAI-compatible HTTP, against llama-cpp-python's server ---------------------------------

def test_http_non_streaming_answers_from_context_like_the_local_backend(server, smol):
    b = server.backend(extra_body=SAMPLING)
    assert isinstance(b, LLMBackend)
    for context, question, fact in FACTS[:3]:
        msgs = with_context([context], question)
        g = b.generate(msgs, max_tokens=48, temperature=0)
        assert fact in g.text and g.exact_usage
        local = smol.generate(msgs, max_tokens=48, temperature=0)
        assert g.text == local.text  # same GGUF, same sampler settings, same answer
        assert g.prompt_tokens == local.prompt_tokens and g.completion_tokens == local.completion_tokens


def test_http_streaming(server):
    b = server.backend(extra_body=SAMPLING)
    msgs = with_context([FACTS[1][0]], FACTS[1][1])
    items = list(b.stream(msgs, max_tokens=48, temperature=0))
    final = items[-1]
    assert isinstance(final, Generation) and all(isinstance(x, str) for x in items[:-1])
    assert len(items) > 3 and ''.join(items[:-1]) == final.text
    assert 'Imre Vashti' in final.text
    whole = b.generate(msgs, max_tokens=48, temperature=0)
    assert final.text == whole.text
    # llama-cpp-python's server sends no usage when streaming: one chunk per token, prompt estimated
    assert not final.exact_usage and final.completion_tokens == whole.completion_tokens
    assert final.timings['ttft_ms'] < final.timings['total_ms']
    # stop strings are applied by the server
    cut = b.generate(msgs, max_tokens=48, temperature=0, stop=['Vashti'])
    assert 'Vashti' not in cut.text and cut.finish_reason == 'stop'


def test_http_error_status_is_reported_at_once(server):
    b = server.backend(api_key='wrong-key', retries=3)
    t = time.perf_counter()
    with pytest.raises(InferenceError, match='HTTP 401') as e:
        b.generate([{'role': 'user', 'content': 'hi'}], max_tokens=4)
    assert time.perf_counter() - t < 1.0  # a 401 is not retried
    assert server.base_url in str(e.value) and 'API key' in str(e.value)
    assert not isinstance(e.value, BackendUnavailableError)


def test_http_context_overflow_tells_how_much_to_cut(server):
    b = server.backend()
    msgs = [{'role': 'user', 'content': 'word ' * 3000}]
    with pytest.raises(ContextOverflowError) as e:
        b.generate(msgs, max_tokens=10)
    # the server counts 3000-odd prompt tokens + 10 against its 2048 window
    assert 900 < e.value.excess_tokens < 1100 and str(e.value.excess_tokens) in str(e.value)


def test_dead_port_fails_clearly_after_retries_in_bounded_time():
    url = f'http://127.0.0.1:{free_port()}/v1'
    b = OpenAIBackend(url, 'smollm2', retries=3, backoff=0.1, timeout=2)
    t = time.perf_counter()
    with pytest.raises(BackendUnavailableError) as e:
        b.generate([{'role': 'user', 'content': 'hi'}])
    dt = time.perf_counter() - t
    assert 0.6 <= dt < 3  # backoff 0.1 + 0.2 + 0.4 s, then give up
    assert url in str(e.value) and 'after 4 attempt(s)' in str(e.value) and 'refused' in str(e.value)
    with pytest.raises(BackendUnavailableError):  # streaming too, before any piece
        b.stream([{'role': 'user', 'content': 'hi'}])


class FlakyServerDouble(http.server.BaseHTTPRequestHandler):
    "Test double: answers 503 (with Retry-After) `fail` times, then a valid chat completion."
    fail, calls, status = 2, [], 503
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        type(self).calls.append(body)
        if len(self.calls) <= self.fail:
            out = json.dumps({'error': {'message': 'busy, try later'}}).encode()
            self.send_response(self.status); self.send_header('Retry-After', '0')
        else:
            out = json.dumps({'choices': [{'message': {'role': 'assistant', 'content': 'ok'}, 'finish_reason': 'stop'}],
                              'usage': {'prompt_tokens': 7, 'completion_tokens': 1}}).encode()
            self.send_response(200)
        self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(out)))
        self.end_headers(); self.wfile.write(out)
    def log_message(self, *a): pass


class SilentServerDouble(http.server.BaseHTTPRequestHandler):
    "Test double: reads the request and never answers."
    def do_POST(self):
        self.rfile.read(int(self.headers['Content-Length'])); time.sleep(3)
    def log_message(self, *a): pass


def serve_double(handler):
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/v1'


@pytest.mark.parametrize('status', [503, 429])
def test_http_retries_5xx_and_429_then_succeeds(status):
    FlakyServerDouble.fail, FlakyServerDouble.calls, FlakyServerDouble.status = 2, [], status
    srv, url = serve_double(FlakyServerDouble)
    try:
        g = OpenAIBackend(url, 'm', retries=3, backoff=0.01).generate([{'role': 'user', 'content': 'hi'}], max_tokens=3, seed=5)
        assert (g.text, g.prompt_tokens, g.completion_tokens, g.exact_usage) == ('ok', 7, 1, True)
        assert len(FlakyServerDouble.calls) == 3
        assert FlakyServerDouble.calls[0]['seed'] == 5 and FlakyServerDouble.calls[0]['max_tokens'] == 3
        FlakyServerDouble.fail, FlakyServerDouble.calls = 10, []
        with pytest.raises(BackendUnavailableError, match=f'after 2 attempt\\(s\\); last error: HTTP {status}: busy, try later'):
            OpenAIBackend(url, 'm', retries=1, backoff=0.01).generate([{'role': 'user', 'content': 'hi'}])
        assert len(FlakyServerDouble.calls) == 2
    finally:
        srv.shutdown(); srv.server_close()


def test_http_stream_request_answered_with_plain_json():
    FlakyServerDouble.fail, FlakyServerDouble.calls, FlakyServerDouble.status = 0, [], 503
    srv, url = serve_double(FlakyServerDouble)  # answers JSON even when asked to stream
    try:
        items = list(OpenAIBackend(url, 'm').stream([{'role': 'user', 'content': 'hi'}], max_tokens=3))
        assert items[0] == 'ok' and items[-1].text == 'ok' and items[-1].exact_usage
        assert FlakyServerDouble.calls[0]['stream'] is True
    finally:
        srv.shutdown(); srv.server_close()


def test_http_timeout_is_retried_then_reported():
    srv, url = serve_double(SilentServerDouble)
    try:
        t = time.perf_counter()
        with pytest.raises(BackendUnavailableError, match='timed out'):
            OpenAIBackend(url, 'm', timeout=0.3, retries=1, backoff=0.01).generate([{'role': 'user', 'content': 'hi'}])
        assert time.perf_counter() - t < 2
    finally:
        srv.shutdown(); srv.server_close()


def test_local_server_stops_even_when_the_block_fails():
    with pytest.raises(RuntimeError, match='boom'):
        with local_server(n_threads=THREADS, startup_timeout=60) as srv:
            assert srv.backend().generate([{'role': 'user', 'content': 'Say hi.'}], max_tokens=4).completion_tokens >= 1
            raise RuntimeError('boom')
    assert srv.process.poll() is not None


# --- the pool --------------------------------------------------------------------------------

def test_pool_tier_mapping_masking_and_costs():
    cfg = InferenceConfig(tiers={'large': f'openai:http://127.0.0.1:{free_port()}/v1#big', 'tiny': 'extractive',
                                 'small': 'llamacpp:default'},
                          tier_costs={'tiny': 0.0, 'small': 1.0, 'large': 20.0}, retries=0)
    with ModelPool(cfg, n_threads=THREADS) as pool:
        assert pool.available_tiers() == ['tiny', 'small', 'large']  # tiny..large, whatever the table's order
        assert [pool.cost(t) for t in ('tiny', 'small', 'medium', 'large')] == [0.0, 1.0, 4.0, 20.0]
        assert pool.loaded() == []  # lazy
        assert isinstance(pool.get(ModelTier.TINY), ExtractiveBackend)
        assert isinstance(pool.get('large'), OpenAIBackend) and pool.get('large').name == 'openai:big'
        assert pool.loaded() == []  # HTTP and extractive backends hold no model
        with pytest.raises(ModelNotFoundError, match="tier 'medium' is not configured"):
            pool.get('medium')
        assert isinstance(pool.get('small'), LlamaCppBackend) and pool.loaded() == ['llamacpp:default']
    with pytest.raises(ConfigError, match="unknown backend spec 'gpt:x'"):
        ModelPool(InferenceConfig(tiers={'small': 'gpt:x'}))


@pytest.fixture
def three_models(tmp_path):
    for n in 'abc': (tmp_path / f'{n}.gguf').symlink_to(default_model_path())
    return {'tiny': 'extractive', 'small': f'llamacpp:{tmp_path}/a.gguf', 'medium': f'llamacpp:{tmp_path}/b.gguf',
            'large': f'llamacpp:{tmp_path}/c.gguf'}


def test_pool_evicts_the_least_recently_used(three_models):
    q = [{'role': 'user', 'content': 'What is 2 + 2?'}]
    with ModelPool(InferenceConfig(tiers=three_models, max_loaded=2), n_threads=THREADS) as pool:
        names = lambda: [Path(s).stem for s in pool.loaded()]
        steps = []
        for tier in ['small', 'medium', 'small', 'large', 'medium', 'medium', 'small']:
            pool.get(tier).generate(q, max_tokens=4, temperature=0)
            steps.append(names())
        assert steps == [['a'], ['a', 'b'], ['b', 'a'], ['a', 'c'], ['c', 'b'], ['c', 'b'], ['b', 'a']]
        assert pool.evictions == 3
        assert pool.loaded_tiers() == ['small', 'medium']  # really in memory, not just in the pool's table
        assert sum(isinstance(b, LlamaCppBackend) and b.is_loaded for b in pool.backends().values()) == 2


def test_pool_eviction_of_a_busy_model_waits_for_its_call(three_models):
    msgs = [{'role': 'user', 'content': 'Write a long poem about the sea.'}]
    with ModelPool(InferenceConfig(tiers=three_models, max_loaded=1), n_threads=THREADS) as pool:
        a = pool.get('small')
        s = a.stream(msgs, max_tokens=24, temperature=0)
        first = next(s)  # `a` is busy, holding its lock, in this very thread
        t = time.perf_counter()
        pool.get('medium')  # evicts `a`: must not block (it would deadlock here) ...
        assert time.perf_counter() - t < 5
        assert a.is_loaded  # ... nor free it under the running stream
        rest = drain(s)
        assert rest.text.startswith(first) and rest.completion_tokens == 24
        assert not a.is_loaded  # freed when its call ended
        assert [Path(x).stem for x in pool.loaded()] == ['b']


def test_pool_four_threads_with_evictions(three_models):
    q = [{'role': 'user', 'content': 'Name a primary colour.'}]
    tiers = ['tiny', 'small', 'medium', 'large']
    with ModelPool(InferenceConfig(tiers=three_models, max_loaded=1), n_threads=THREADS) as pool:
        # seeded, so every answer is independent of what the model instance ran before (fresh load or reused cache)
        expect = {t: pool.get(t).generate(q, max_tokens=8, temperature=0, seed=0).text for t in tiers}
        got, errors, peak = [], [], [0]
        out_before, fd1_before = sys.stdout, os.fstat(1)
        def work(k):
            try:
                for j in range(4):
                    t = tiers[(k + j) % 4]
                    got.append((t, pool.get(t).generate(q, max_tokens=8, temperature=0, seed=0).text))
                    peak[0] = max(peak[0], len(pool.loaded()))
            except Exception as e: errors.append(repr(e))
        ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in ts: t.start()
        for t in ts: t.join(timeout=180)
        assert not any(t.is_alive() for t in ts)
        assert errors == [] and len(got) == 16
        assert all(text == expect[t] for t, text in got)
        assert peak[0] == 1 and pool.evictions >= 3
        # models loading in parallel threads must not leave this process's output pointing at /dev/null
        assert sys.stdout is out_before and os.path.samestat(os.fstat(1), fd1_before)


PROBE = r'''
import sys, warnings
sys.modules['llama_cpp'] = None  # what Python does for a package that is not installed
from ruvllm.config import InferenceConfig
from ruvllm.inference import ModelPool, format_sources
from ruvllm.types import ModelNotFoundError
msgs = [{'role': 'system', 'content': format_sources(['Zorblaxia exports glass.', 'Quentaville is the capital of Zorblaxia.'])},
        {'role': 'user', 'content': 'What is the capital of Zorblaxia?'}]
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    pool = ModelPool(InferenceConfig())
    answers = [pool.get('small').generate(msgs).text for _ in range(3)]
print(pool.get('small').name); print(answers[0]); print(len(set(answers))); print(len(w)); print(w[0].message)
try: ModelPool(InferenceConfig(), fallback=False).get('small')
except ModelNotFoundError as e: print(e)
'''


def test_pool_without_the_local_extra_falls_back_with_one_warning():
    out = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, timeout=120)
    lines = out.stdout.splitlines()
    assert lines[:4] == ['extractive (fallback for llamacpp:default)', 'Quentaville is the capital of Zorblaxia.', '1', '1'], out.stderr
    assert INSTALL_LOCAL in lines[4] and 'llama-cpp-python is not installed' in lines[4]
    assert INSTALL_LOCAL in lines[5] and 'cannot run' in lines[5]


# --- threads: the cores other processes leave free ---------------------------------------------------------
def test_threads_for_counts_a_core_free_only_while_others_barely_use_it():
    from ruvllm.inference import threads_for
    assert [threads_for(2, b) for b in (0.0, 0.25, 0.26, 1.0, 1.26, 9.0)] == [2, 2, 1, 1, 1, 1]
    assert [threads_for(8, b, tolerance=0.5) for b in (0.4, 0.6, 3.2)] == [8, 7, 5]


def test_core_monitor_counts_other_processes_not_our_own_threads():
    from ruvllm.inference import CoreMonitor, default_cores
    cores = default_cores()
    spin = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(cores)]
    try:
        cm = CoreMonitor(every_s=0.5); time.sleep(1.0)
        others = cm.others_busy()
        assert others >= 0.7 * cores - 0.3, others  # our spinners are other processes
        assert cm.threads() == 1
    finally:
        for p in spin: p.kill(); p.wait()


def test_default_threads_follow_the_free_cores_between_generations():
    "With every core but one made busy by other processes, the default backend generates on one thread."
    from ruvllm.inference import default_cores
    b = LlamaCppBackend(n_ctx=256, thread_check_s=0.5)  # n_threads=None: follow the free cores
    assert b.monitor is not None and 1 <= b.n_threads <= default_cores()
    fixed = LlamaCppBackend(n_ctx=256, n_threads=THREADS)
    assert fixed.monitor is None and fixed.n_threads == THREADS
    spin = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(max(1, default_cores() - 1))]
    try:
        time.sleep(1.0)
        g = b.generate([{'role': 'user', 'content': 'Say hello.'}], max_tokens=4, temperature=0)
        assert g.completion_tokens > 0 and b.n_threads == 1
    finally:
        for p in spin: p.kill(); p.wait()
        b.unload()


def test_an_answer_cut_at_max_tokens_ends_on_a_whole_character(smol):
    """A cut inside a multi-byte character sent U+FFFD as the answer's last character ("日本の首都�"; the OpenAI probe of
    7 December, evening, F5: 2 of 32 cuts; 6 of 36 here). The bytes of a character cut off are dropped."""
    texts = [smol.generate([{'role': 'user', 'content': "日本の首都はどこですか？"}], max_tokens=mt, temperature=0.0, seed=0).text
             for mt in range(3, 15)]
    assert not [t for t in texts if '\ufffd' in t], texts
