"""The `ruvllm` command line: every subcommand in-process (`main(argv)` through `run_cli`) and as a real
process (`python -m ruvllm.cli`), the demo driven through a pipe, ingest of each file type, and every kind
of bad input ending as one `ruvllm: error:` line and a non-zero exit code, never a traceback."""
import json, os, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest

from ruvllm.cli import main, run_cli, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED
import ruvllm.cli as cli

ROOT = Path(__file__).resolve().parent.parent
EXTRACTIVE = '[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n'


@pytest.fixture
def base(cli_argv):
    "Global options for an extractive-only data directory in tmp_path."
    return cli_argv(EXTRACTIVE)


def sh(args, stdin='', cwd=None, timeout=120, env=None):
    "Run `python -m ruvllm.cli ARGS` as a real process; returns (exit code, stdout, stderr)."
    e = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''), **(env or {}))
    p = subprocess.run([sys.executable, '-m', 'ruvllm.cli', *args], input=stdin, capture_output=True, text=True,
                       cwd=cwd, timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr


def assert_one_line_error(code, err, expected_code, needle):
    assert code == expected_code, (code, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith('ruvllm: error: '), err
    assert needle in lines[0], err
    assert 'Traceback' not in err


def ask(base, question, *extra):
    code, out, err = run_cli([*base, 'ask', question, '--json', *extra])
    assert code == 0, err
    return json.loads(out)


# --- help and usage ---------------------------------------------------------------------------------

SUBCOMMANDS = ['demo', 'ask', 'feedback', 'ingest', 'learn', 'stats', 'migrate', 'serve', 'bench']


@pytest.mark.parametrize('cmd', SUBCOMMANDS)
def test_help_of_each_subcommand(cmd):
    code, out, err = run_cli([cmd, '--help'])
    assert (code, err) == (0, '')
    assert out.startswith(f'usage: ruvllm {cmd}') and ('--db PATH' in out and '--config FILE' in out) == (cmd != 'bench')  # bench refuses them


def test_help_and_version_as_a_process():
    code, out, err = sh(['--help'])
    assert code == 0 and all(c in out for c in SUBCOMMANDS), err
    code, out, err = sh(['--version'])
    assert code == 0 and out.startswith('ruvllm '), err


@pytest.mark.parametrize('argv,needle', [
    (['frobnicate'], "invalid choice: 'frobnicate'"),
    ([], 'no command given'),
    (['learn', 'D'], "a loop is A, B or C, got 'D'"),
    (['learn', 'A', 'x'], "a loop is A, B or C, got 'x'"),
    (['ask'], 'the following arguments are required: question'),
    (['feedback', 'abc', '--rating', '7'], "argument --rating: invalid choice: 7"),
    (['serve', '--port', 'http'], "argument --port: invalid int value: 'http'"),
    (['ingest'], 'the following arguments are required: PATH'),
    (['ingest', 'x.txt', '--type', 'Poem'], "must be one of Query, Document, QAPair, Fact, AgentStep, got 'Poem'"),
    (['--set', 'nonsense', 'stats'], 'section.key=VALUE'),
    (['stats', '--frob'], 'unrecognized arguments: --frob'),
])
def test_usage_errors_are_one_line_and_exit_2(argv, needle):
    code, out, err = run_cli(argv)
    assert_one_line_error(code, err, EXIT_USAGE, needle)


def test_usage_errors_as_a_process(tmp_path):
    for argv, needle in [(['frobnicate'], "invalid choice: 'frobnicate'"), (['learn', 'D'], "got 'D'")]:
        code, out, err = sh(argv, cwd=tmp_path)
        assert_one_line_error(code, err, EXIT_USAGE, needle)
    assert not (tmp_path / 'ruvllm_data').exists()  # a usage error opens nothing


def test_global_options_before_or_after_the_subcommand(tmp_path, base):
    assert run_cli([*base, 'ingest', '--no-progress', str(_write(tmp_path / 'a.txt', 'Ost fish are blue.'))])[0] == 0
    before = run_cli([*base, 'stats', '--json'])
    after = run_cli(['stats', '--json', *base])
    assert before[0] == after[0] == 0
    assert json.loads(before[1])['memory']['live'] == json.loads(after[1])['memory']['live'] == 1


# --- settings errors: the library's own messages --------------------------------------------------------

def test_config_errors(tmp_path):
    bad = tmp_path / 'bad.toml'
    bad.write_text('[router]\nsafe_tier = "huge"\n')
    code, out, err = run_cli(['--config', str(bad), '--db', str(tmp_path / 'd'), 'stats'])
    assert_one_line_error(code, err, EXIT_ERROR, "router.safe_tier must be one of")
    bad.write_text('[router\n')
    code, out, err = run_cli(['--config', str(bad), 'stats'])
    assert_one_line_error(code, err, EXIT_ERROR, 'is not valid TOML')
    code, out, err = run_cli(['--config', str(tmp_path / 'missing.toml'), 'stats'])
    assert_one_line_error(code, err, EXIT_ERROR, 'does not exist')
    code, out, err = run_cli(['--db', str(tmp_path / 'd'), '--set', 'memory.hnsw_m=1', 'stats'])
    assert_one_line_error(code, err, EXIT_ERROR, 'memory.hnsw_m must be an integer in [2, 512], got 1')


def test_environment_overrides_apply(tmp_path, monkeypatch):
    "RUVLLM_<SECTION>__<KEY> picks the extractive tier without a config file."
    monkeypatch.setenv('RUVLLM_INFERENCE__TIERS', '{"tiny": "extractive"}')
    monkeypatch.setenv('RUVLLM_ROUTER__SAFE_TIER', 'tiny')
    db = ['--db', str(tmp_path / 'data')]
    assert run_cli([*db, 'ingest', '--no-progress', str(_write(tmp_path / 'a.txt', 'The Wend river is green.'))])[0] == 0
    r = ask(db, 'What colour is the Wend river?')
    assert r['routing_info']['model'] == 'tiny' and 'green' in r['text']


def test_ask_says_when_it_made_a_new_memory(tmp_path, monkeypatch):
    "A mistyped --db answered from a new, empty memory without a word (found by a probe); now it says so, once."
    monkeypatch.setenv('RUVLLM_INFERENCE__TIERS', '{"tiny": "extractive"}')
    monkeypatch.setenv('RUVLLM_ROUTER__SAFE_TIER', 'tiny')
    db = ['--db', str(tmp_path / 'typo')]
    code, out, err = run_cli([*db, 'ask', 'What colour is the Wend river?'])
    assert code == 0 and 'request id' in out
    assert err.strip().startswith('ruvllm: warning: there was no data directory at') and 'new, empty memory' in err, err
    code, out, err = run_cli([*db, 'ask', 'What colour is the Wend river?'])
    assert code == 0 and 'no data directory' not in err, err


def test_missing_model_file_is_the_librarys_message(tmp_path):
    db = ['--db', str(tmp_path / 'd'), '--set', 'inference.tiers={tiny = "llamacpp:/nonexistent/model.gguf"}',
          '--set', 'router.safe_tier=tiny']
    code, out, err = run_cli([*db, 'ask', 'hello?'])
    assert_one_line_error(code, err, EXIT_ERROR, '/nonexistent/model.gguf')


def test_unreachable_backend_is_the_librarys_message(tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]  # closed again: nothing listens there
    db = ['--db', str(tmp_path / 'd'), '--set', f'inference.tiers={{tiny = "openai:http://127.0.0.1:{port}/v1#m"}}',
          '--set', 'router.safe_tier=tiny', '--set', 'inference.retries=0', '--set', 'inference.timeout_s=2.0']
    code, out, err = run_cli([*db, 'ask', 'hello?'])
    assert_one_line_error(code, err, EXIT_ERROR, f'127.0.0.1:{port}')


# --- ingest ---------------------------------------------------------------------------------------------

def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True); path.write_text(text); return path


@pytest.mark.parametrize('name,content,question,answer', [
    ('notes.txt', "Intro paragraph about nothing.\n\nThe Zorblat river flows\nthrough Quenby.\n", 'Which river flows through Quenby?', 'zorblat'),
    ('guide.md', "# Veltoria\n\n## Bridges\n\nQuorvane has 41 bridges.\n\n## Food\n\nFried lake moss.\n", 'How many bridges does Quorvane have?', '41'),
    ('facts.jsonl', '{"text": "The Lim is the longest river of Veltoria.", "type": "Fact"}\n\n{"text": "Unrelated."}\n',
     'Which is the longest river of Veltoria?', 'the lim'),
])
def test_ingest_each_file_type_then_query_finds_the_fact(tmp_path, base, name, content, question, answer):
    f = _write(tmp_path / 'in' / name, content)
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(f)])
    assert code == 0, err
    assert 'ingested 2 records from 1 file' in out and f'{name} 2' in out
    r = ask(base, question)
    assert answer in r['text'].lower(), r['text']
    assert any(answer in s['text'].lower() for s in r['sources'])


def test_ingest_directory_recursion_namespaces_and_types(tmp_path, base):
    d = tmp_path / 'docs'
    _write(d / 'a.txt', 'Ost fish are blue.')
    _write(d / 'sub' / 'b.md', '# Birds\n\nThe golden eagle nests in Quenby.')
    _write(d / 'sub' / 'c.jsonl', '{"text": "Wend fish are red.", "namespace": "zoology"}\n')
    _write(d / '.git' / 'x.txt', 'hidden, never ingested')
    _write(d / 'ignored.csv', 'a,b')
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(d), '--namespace', 'docs', '--type', 'fact'])
    assert code == 0, err
    assert 'ingested 3 records from 3 files' in out and 'docs 2, zoology 1' in out
    s = json.loads(run_cli([*base, 'stats', '--json'])[1])
    assert s['memory']['namespaces'] == {'docs': 2, 'zoology': 1}
    assert s['memory']['by_type'] == {'Fact': 3}
    r = ask(base, 'Where does the golden eagle nest?', '--namespace', 'docs')
    assert 'quenby' in r['text'].lower()
    r = ask(base, 'What colour are Wend fish?', '--namespace', 'docs')
    assert 'red' not in r['text'].lower()  # zoology is another namespace


def test_ingest_progress_bar_as_a_process(tmp_path, base):
    f = _write(tmp_path / 'n.txt', '\n\n'.join(f'Paragraph {i} says {i * 7}.' for i in range(30)))
    code, out, err = sh([*base, 'ingest', '--progress', str(f)], cwd=tmp_path)
    assert code == 0, err
    assert 'ingested 30 records from 1 file' in out
    assert 'ingest' in err and '30/30' in err and 'Traceback' not in err


def _live(base):
    return json.loads(run_cli([*base, 'stats', '--json'])[1])['memory']['live']


def test_bad_inputs_store_nothing_and_say_where(tmp_path, base):
    good = _write(tmp_path / 'good.txt', 'A good paragraph.')
    assert run_cli([*base, 'ingest', '--no-progress', str(good)])[0] == 0
    assert _live(base) == 1
    bad = _write(tmp_path / 'bad.jsonl', '{"text": "fine"}\n{"text": "also fine"}\n{"text": "broken",}\n')
    for argv, needle in [
        ([str(good), str(bad)], f'{bad}:3: not valid JSON'),
        ([str(_write(tmp_path / 'x.jsonl', '{"txt": "typo"}\n'))], 'x.jsonl:1: "text" must be a non-empty string, got None'),
        ([str(_write(tmp_path / 'y.jsonl', '{"text": "a", "namespace": ""}\n'))], 'y.jsonl:1: "namespace" must be a non-empty string'),
        ([str(tmp_path / 'missing.txt')], 'missing.txt: no such file or directory'),
        ([str(_write(tmp_path / 'doc.pdf', 'x'))], "unsupported file type '.pdf'"),
        ([str((tmp_path / 'empty').mkdir() or tmp_path / 'empty')], 'no .txt, .md or .jsonl files'),
    ]:
        code, out, err = run_cli([*base, 'ingest', '--no-progress', *argv])
        assert_one_line_error(code, err, EXIT_ERROR, needle)
        assert out == ''
    (tmp_path / 'latin1.txt').write_bytes('one\n\ncaf\xe9\n'.encode('latin-1'))
    code, out, err = run_cli([*base, 'ingest', str(tmp_path / 'latin1.txt')])
    assert_one_line_error(code, err, EXIT_ERROR, 'latin1.txt:3: not UTF-8 text')
    assert _live(base) == 1  # nothing half-ingested
    code, out, err = sh([*base, 'ingest', str(bad)], cwd=tmp_path)
    assert_one_line_error(code, err, EXIT_ERROR, 'bad.jsonl:3: not valid JSON')


def test_ingest_unreadable_file_is_an_os_error_line(tmp_path, base):
    if os.geteuid() == 0: pytest.skip("root reads everything")
    f = _write(tmp_path / 'secret.txt', 'x'); f.chmod(0)
    code, out, err = run_cli([*base, 'ingest', str(f)])
    assert_one_line_error(code, err, EXIT_ERROR, 'Permission denied')


def _chat(path: Path, bad_line: str | None = None) -> Path:
    "Ten chat turns over two dated sessions, in the format of the conversation benchmark's turns.jsonl."
    said = [(1, 'Dana', "hey, long time!"), (1, 'Sam', "hi Dana, how is the family?"),
            (1, 'Dana', "my sister studies marine biology in Kiel now"), (1, 'Sam', "that sounds great"), (1, 'Dana', "she loves it"),
            (2, 'Sam', "did you move yet?"), (2, 'Dana', "yes, we moved to Leeds last weekend"), (2, 'Sam', "how is the new flat?"),
            (2, 'Dana', "small but bright"), (2, 'Sam', "glad to hear it")]
    lines = [json.dumps(dict(id=f"d-t{i}", conversation='dana', session=s, timestamp=f"2023-05-0{6 + s}T10:{i:02d}:00",
                             speaker=w, text=t)) for i, (s, w, t) in enumerate(said)]
    if bad_line is not None: lines[6] = bad_line
    return _write(path, '\n'.join(lines) + '\n')


def test_ingest_chat_transcript_links_each_session_and_answers_from_it(tmp_path, base):
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(_chat(tmp_path / 'dana.jsonl')), '--namespace', 'dana'])
    assert code == 0, err
    assert 'ingested 10 records from 1 file' in out and 'dana 10' in out
    s = json.loads(run_cli([*base, 'stats', '--json'])[1])['memory']
    assert s['live'] == 10 and s['by_edge_type'].get('Follows') == 8  # 4 + 4: two sessions, no link between them
    r = ask(base, "What does Dana's sister study?", '--namespace', 'dana')
    assert 'marine biology' in r['text'], r['text']
    assert any(src['text'] == '[2023-05-07] Dana: my sister studies marine biology in Kiel now' for src in r['sources'])


def test_ingest_chat_bad_line_names_file_line_and_stores_nothing(tmp_path, base):
    good = _chat(tmp_path / 'good.jsonl')
    assert run_cli([*base, 'ingest', '--no-progress', str(good)])[0] == 0
    assert _live(base) == 10
    for bad, needle in [('{"speaker": "Dana", "text": "x", "timestamp": "May 8th"}', ':7: "timestamp": expected an ISO 8601'),
                        ('{"speaker": "Dana", "text": "", "session": 2}', ':7: "text" must be a non-empty string'),
                        ('{"speaker": "Dana", "session": 2}', ':7: "text" must be a non-empty string'),
                        ('{"speaker": "Dana", "text": "hi", "session": 2', ':7: not valid JSON')]:
        f = _chat(tmp_path / 'bad.jsonl', bad)
        code, out, err = run_cli([*base, 'ingest', '--no-progress', str(good), str(f)])
        assert_one_line_error(code, err, EXIT_ERROR, f'{f}{needle}')
        assert out == '' and _live(base) == 10
    renamed = _write(tmp_path / 'chat.log.jsonl', '{"speaker": "Dana", "text": "hi", "session": 1}\n')
    code, out, err = run_cli([*base, 'ingest', '--no-progress', '--format', 'documents', str(renamed)])
    assert code == 0 and _live(base) == 11  # read as a plain record: the speaker is not in the text
    assert json.loads(run_cli([*base, 'stats', '--json'])[1])['memory']['by_edge_type'].get('Follows') == 8


# --- demo, ask, feedback ---------------------------------------------------------------------------------

def test_demo_correction_is_answered_next_time_as_a_process(tmp_path, base):
    _write(tmp_path / 'v.txt', "Veltoria's national animal is the silver lynx.\n\nThe capital of Veltoria is Quorvane.")
    assert run_cli([*base, 'ingest', '--no-progress', str(tmp_path / 'v.txt')])[0] == 0
    q = 'What is the national animal of Veltoria?'
    stdin = f"{q}\nThe national animal of Veltoria is the golden eagle.\n{q}\n\n"  # then EOF
    code, out, err = sh([*base, 'demo'], stdin=stdin, cwd=tmp_path)
    assert (code, err) == (0, ''), err
    first, second = out.split(f'> {q}')[1:]
    assert 'silver lynx' in first.lower() and 'tier tiny' in first and 'context 1024 tokens' in first
    assert 'latency' in first and 'confidence' in first
    assert 'correction stored as memory node' in first
    assert 'golden eagle' in second.lower() and 'silver lynx' not in second.lower()
    assert out.rstrip().endswith('2 questions, 0 ratings, 1 correction')
    s = json.loads(run_cli([*base, 'stats', '--json'])[1])
    assert (s['queries']['feedbacks'], s['queries']['corrections']) == (1, 1)
    assert s['memory']['archived'] == 0  # the wrong answer was a quote nobody rated: never stored, so nothing to supersede
    # and outside the demo's cache, the corrected fact is what memory answers now
    r = ask(base, 'Which animal is the national animal of Veltoria?', '--no-cache')
    assert 'golden eagle' in r['text'].lower(), r['text']


def test_demo_rating_reaches_the_router_and_stats(tmp_path, base):
    _write(tmp_path / 'v.txt', 'The capital of Veltoria is Quorvane.')
    assert run_cli([*base, 'ingest', '--no-progress', str(tmp_path / 'v.txt')])[0] == 0
    stdin = "Which city is the capital of Veltoria?\n5\n\n   \nWhat is the capital of Veltoria?\n1\nquit\nnever asked\n"
    code, out, err = run_cli([*base, 'demo'], stdin=stdin)
    assert (code, err) == (0, '')
    assert out.count('rating 5 recorded') == 1 and out.count('rating 1 recorded') == 1
    assert 'never asked' not in out and out.rstrip().endswith('2 questions, 2 ratings, 0 corrections')
    s = json.loads(run_cli([*base, 'stats', '--json'])[1])
    assert s['queries']['feedbacks'] == 2 and s['router']['replay'] == 2


def test_demo_reports_bad_feedback_and_goes_on(tmp_path, base):
    stdin = "hello?\n=\n" + "x" * 9000 + "\nsecond question?\n\n"
    code, out, err = run_cli([*base, 'demo'], stdin=stdin)
    assert code == 0
    errs = err.strip().splitlines()
    assert len(errs) == 2 and 'correction is empty' in errs[0] and 'the limit is 8000' in errs[1], err
    assert out.rstrip().endswith('2 questions, 0 ratings, 0 corrections')


def test_demo_session_mode_keeps_one_conversation(tmp_path, base):
    code, out, err = run_cli([*base, 'demo', '--session'], stdin="first?\n\nsecond?\n\n")
    assert code == 0, err
    s = json.loads(run_cli([*base, 'stats', '--json'])[1])
    assert s['sessions'] == 1 and s['queries']['queries'] == 2


def test_ctrl_c_in_the_demo_is_one_line_and_130(tmp_path, base):
    p = subprocess.Popen([sys.executable, '-m', 'ruvllm.cli', *base, 'demo'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         # Ctrl-C as a terminal sends it: a shell's background job (`cmd &`) hands its children SIGINT
                         # ignored, and Python then keeps it ignored, so the child gets the default disposition here
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 60
        line = ''
        while 'Ask a question' not in line and time.time() < deadline: line = p.stdout.readline()
        time.sleep(0.3)  # now blocked reading the question
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None: p.kill(); p.wait()
    assert_one_line_error(p.returncode, err, EXIT_INTERRUPTED, 'interrupted')
    assert (tmp_path / 'data').is_dir()


def test_ask_then_feedback_in_another_process(tmp_path, base):
    _write(tmp_path / 'v.txt', 'The Zorblat river flows through Quenby.')
    assert run_cli([*base, 'ingest', '--no-progress', str(tmp_path / 'v.txt')])[0] == 0
    code, out, err = sh([*base, 'ask', 'Which river flows through Quenby?', '--json'], cwd=tmp_path)
    assert code == 0, err
    rid = json.loads(out)['request_id']
    code, out, err = sh([*base, 'feedback', rid, '--correction', 'The Mirl river flows through Quenby.'], cwd=tmp_path)
    assert code == 0 and out.startswith('correction stored as memory node'), err
    code, out, err = run_cli([*base, 'feedback', rid, '--rating', '4'])
    assert_one_line_error(code, err, EXIT_ERROR, 'already given')
    code, out, err = run_cli([*base, 'feedback', 'no-such-id', '--rating', '4'])
    assert_one_line_error(code, err, EXIT_ERROR, "unknown request_id 'no-such-id'")
    code, out, err = run_cli([*base, 'feedback', rid])
    assert_one_line_error(code, err, EXIT_ERROR, 'feedback needs at least one of --rating 1-5, --correction TEXT or --success yes|no')
    r = ask(base, 'Which river flows through Quenby?', '--no-cache')
    assert 'mirl' in r['text'].lower(), r['text']
    code, out, err = run_cli([*base, 'ask', 'Which river flows through Quenby?'])
    assert code == 0 and 'Mirl' in out and 'request id ' in out


# --- learn and stats ------------------------------------------------------------------------------------

def test_learn_runs_each_loop_and_says_what_it_did(tmp_path, base):
    _write(tmp_path / 'v.txt', '\n\n'.join(f'Liquid number {i} boils at {100 + i} degrees.' for i in range(12)))
    assert run_cli([*base, 'ingest', '--no-progress', str(tmp_path / 'v.txt')])[0] == 0
    from ruvllm import Constraints, Feedback, RuvLLM
    with RuvLLM(cli.load_config(base[1], base[3]), start_scheduler=False) as llm:  # rated outcomes for the router
        for i in range(12):
            r = llm.query(f'At what temperature does liquid number {i} boil?', constraints=Constraints(no_cache=True))
            llm.feedback(Feedback(r.request_id, rating=5))
    code, out, err = run_cli([*base, 'learn'])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith('Loop A (edge decay): ') and 'edge weights decayed' in lines[0]
    assert lines[1].startswith('Loop B (router training): trained on ') and 'held-out utility' in lines[1]
    assert lines[2].startswith('Loop C (compression) [global]: ') and 'live nodes' in lines[2]
    code, out, err = run_cli([*base, 'learn', 'c', 'a', '--json'])
    assert code == 0 and list(json.loads(out)) == ['C', 'A']
    code, out, err = sh([*base, 'learn', 'B'], cwd=tmp_path)
    assert code == 0 and out.startswith('Loop B (router training): trained on '), err
    s = json.loads(run_cli([*base, 'stats', '--json'])[1])
    assert {'A', 'B', 'C'} <= {e['loop'] for e in s['loops']}


def test_learn_b_without_outcomes_says_why(tmp_path, base):
    run_cli([*base, 'ingest', '--no-progress', str(_write(tmp_path / 'a.txt', 'x y z.'))])
    code, out, err = run_cli([*base, 'learn', 'B'])
    assert code == 0 and 'no round, too few rated outcomes (0 in the replay buffer)' in out


def test_stats_and_learn_refuse_a_missing_data_directory(tmp_path):
    for cmd in (['stats'], ['learn'], ['feedback', 'x', '--rating', '3']):
        code, out, err = run_cli(['--db', str(tmp_path / 'typo'), *cmd])
        assert_one_line_error(code, err, EXIT_ERROR, 'no ruvllm data directory at')
    assert not (tmp_path / 'typo').exists()


def test_stats_pretty_and_json_as_a_process(tmp_path, base):
    run_cli([*base, 'ingest', '--no-progress', str(_write(tmp_path / 'a.txt', 'Ost fish are blue.'))])
    ask(base, 'What colour are Ost fish?')
    code, out, err = sh([*base, 'stats'], cwd=tmp_path)
    assert code == 0, err
    assert out.startswith('data directory') and 'queries' in out and '1 answered' in out and 'by tier' in out
    code, out, err = sh([*base, 'stats', '--json'], cwd=tmp_path)
    s = json.loads(out)
    assert s['queries']['queries'] == 1 and s['memory']['live'] >= 1


def test_library_warnings_are_one_line(tmp_path, base):
    "A warning from the library (the router was trained for another tier set) is one stderr line, no traceback."
    run_cli([*base, 'ingest', '--no-progress', str(_write(tmp_path / 'a.txt', 'Ost fish are blue.'))])
    two = [*base, '--set', 'inference.tiers={tiny = "extractive", small = "extractive"}']
    code, out, err = run_cli([*two, 'stats'])
    assert code == 0
    assert err.strip().splitlines() == [l for l in err.strip().splitlines() if l.startswith('ruvllm: warning: ')]
    assert 'router was trained for tiers' in err


# --- unexpected errors ------------------------------------------------------------------------------------

def test_an_unexpected_error_is_one_line_and_debug_shows_it(tmp_path, base, monkeypatch):
    def broken_stats(args, cfg): raise ZeroDivisionError('a bug')  # test double: a command with a bug
    monkeypatch.setitem(cli.SUBCOMMANDS, 'stats', (broken_stats, *cli.SUBCOMMANDS['stats'][1:]))
    code, out, err = run_cli([*base, 'stats'])
    assert_one_line_error(code, err, EXIT_ERROR, 'unexpected ZeroDivisionError: a bug (rerun with --debug')
    with pytest.raises(ZeroDivisionError): run_cli([*base, 'stats', '--debug'])


# --- serve ----------------------------------------------------------------------------------------------

def test_serve_without_the_server_extra(tmp_path, base):
    code = ("import sys; sys.modules['fastapi'] = sys.modules['uvicorn'] = None\n"  # as if not installed
            "from ruvllm.cli import main; sys.exit(main(sys.argv[1:]))")
    p = subprocess.run([sys.executable, '-c', code, *base, 'serve'], capture_output=True, text=True, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert_one_line_error(p.returncode, p.stderr, EXIT_ERROR, 'pip install "ruvllm[server]"')


def test_serve_validates_the_port(base):
    code, out, err = run_cli([*base, 'serve', '--port', '70000'])
    assert_one_line_error(code, err, EXIT_ERROR, 'server.port must be an integer in [0, 65535], got 70000')


def test_serve_runs_the_server_and_stops_on_sigterm(tmp_path, base):
    pytest.importorskip('fastapi'); pytest.importorskip('uvicorn')
    import importlib.util
    if importlib.util.find_spec('ruvllm.server') is None: pytest.skip('ruvllm.server not built yet')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, '-m', 'ruvllm.cli', *base, 'serve', '--port', str(port)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        health, deadline = None, time.time() + 60
        while time.time() < deadline and p.poll() is None:
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=2) as r: health = json.loads(r.read()); break
            except OSError: time.sleep(0.3)
        assert health is not None and health['status'] == 'ok', p.stderr.read() if p.poll() is not None else 'no answer'
        assert health['models']['tiers'] == ['tiny']  # the CLI's --config reached the server
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None: p.kill(); p.wait()
    assert p.returncode == 0, err
    assert f'serving {tmp_path / "data"} on http://127.0.0.1:{port}' in err and 'Traceback' not in err


def test_serve_that_fails_to_start_does_not_say_it_is_serving(tmp_path, cli_argv):
    "It printed 'serving ... on http://...' before a fatal start (found by a probe); now only once it listens."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    base = cli_argv('[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n\n[server]\n'
                    f'api_keys_file = "{tmp_path / "missing-keys.json"}"\n')
    code, out, err = run_cli([*base, 'serve', '--port', str(port)])
    assert code != 0 and 'missing-keys.json' in err and 'serving' not in err, err


# --- bench ----------------------------------------------------------------------------------------------

def test_bench_list_and_unknown_suite():
    import ruvllm.bench as bench
    if not hasattr(bench, 'run_bench'): pytest.skip('ruvllm.bench.run_bench not built yet')
    code, out, err = run_cli(['bench', '--list'])
    assert code == 0 and [l.split()[0] for l in out.splitlines()] == list(bench.SUITES)
    code, out, err = run_cli(['bench', 'nope'])
    assert_one_line_error(code, err, EXIT_USAGE, "unknown benchmark suite 'nope'; available: ")
    code, out, err = sh(['bench', '--list'])
    assert code == 0 and [l.split()[0] for l in out.splitlines()] == list(bench.SUITES), err
    code, out, err = sh(['bench', 'nope', '--quick'])
    assert_one_line_error(code, err, EXIT_USAGE, "unknown benchmark suite 'nope'")


def test_bench_delegates_to_run_bench(tmp_path, monkeypatch):
    """The real harness (`run_bench`: CSV, markdown, headline) on a one-row test-double suite, so that this test
    does not depend on how long the real suites take."""
    import pandas as pd
    import ruvllm.bench as bench
    if not hasattr(bench, 'Suite'): pytest.skip('ruvllm.bench.Suite not there')
    calls = []
    def double_suite(quick=False, progress=True):  # test double: a suite that measures nothing
        calls.append(quick); return pd.DataFrame([dict(metric='answer', value=42.0)])
    suites = {'double': bench.Suite(double_suite, lambda df: f"value {df.value.iloc[0]:.0f}", None, 'a test double')}
    monkeypatch.setattr(bench, 'SUITES', suites)
    code, out, err = run_cli(['bench', '--list'])
    assert (code, out) == (0, 'double  a test double\n')
    code, out, err = run_cli(['bench', 'double', '--quick', '--no-progress', '--out', str(tmp_path / 'res')])
    assert code == 0, err
    assert calls == [True]
    assert out == f"double: value 42\nresults written to {tmp_path / 'res'}\n"
    assert (tmp_path / 'res' / 'double.csv').read_text().splitlines() == ['metric,value', 'answer,42.0']
    assert 'value 42' in (tmp_path / 'res' / 'double.md').read_text()


def test_a_failure_while_storing_says_what_was_stored(tmp_path, base, monkeypatch):
    "Storing fails on the second batch of 256 (a test double for a full disk): the error line says 256 were kept."
    from ruvllm import MemoryStoreError
    from ruvllm.store import SQLiteStore
    real, calls = SQLiteStore.insert_nodes, []
    def insert_nodes_failing_on_second_batch(self, nodes, vectors, slots):  # test double
        calls.append(len(nodes))
        if len(calls) == 2: raise MemoryStoreError('disk full (test double)')
        return real(self, nodes, vectors, slots)
    monkeypatch.setattr(SQLiteStore, 'insert_nodes', insert_nodes_failing_on_second_batch)
    f = _write(tmp_path / 'many.txt', '\n\n'.join(f'Record {i} holds the value {i}.' for i in range(300)))
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(f)])
    assert_one_line_error(code, err, EXIT_ERROR,
                          'ingest failed: disk full (test double); 256 of 300 records were stored before it stopped')
    monkeypatch.setattr(SQLiteStore, 'insert_nodes', real)
    assert _live(base) == 256


def test_demo_with_the_default_smollm2_tier(tmp_path):
    "The default tiers (extractive tiny, SmolLM2 small): one question through a pipe, rated."
    pytest.importorskip('llama_cpp')
    from ruvllm.inference import local_extra_missing
    if local_extra_missing() is not None: pytest.skip(local_extra_missing())
    db = ['--db', str(tmp_path / 'data'), '--set', 'learning.enabled=false']
    assert run_cli([*db, 'ingest', '--no-progress', str(_write(tmp_path / 'v.txt', 'The capital of Veltoria is Quorvane.'))])[0] == 0
    code, out, err = sh([*db, 'demo'], stdin='Which city is the capital of Veltoria?\n4\n', cwd=tmp_path, timeout=300)
    assert (code, err) == (0, ''), err
    assert 'tiers tiny, small' in out and 'quorvane' in out.lower() and 'rating 4 recorded' in out


def test_ask_prints_the_streamed_answer_then_provenance_and_request_id(tmp_path, base):
    _write(tmp_path / 'v.txt', 'The Zorblat river flows through Quenby.')
    assert run_cli([*base, 'ingest', '--no-progress', str(tmp_path / 'v.txt')])[0] == 0
    code, out, err = sh([*base, 'ask', 'Which river flows through Quenby?', '--no-cache'], cwd=tmp_path)
    assert code == 0, err
    text, meta, rid = out.splitlines()
    assert 'Zorblat' in text and meta.startswith('  tier tiny (extractive)') and rid.startswith('  request id ')
    code, out, err = run_cli([*base, 'feedback', rid.split()[-1], '--rating', '5'])
    assert code == 0 and out.startswith('rating 5 recorded'), (out, err)


def test_bench_help_lists_no_option_it_refuses():
    "`ruvllm bench --help` listed --db, --config and --set, which bench then refuses: hidden there, still refused in one line."
    code, out, _ = run_cli(['bench', '--help'])
    assert code == 0
    assert '--quick' in out and '--debug' in out and not any(o in out for o in ('--db', '--config', '--set'))
    for argv in (['bench', '--db', 'x', 'ann'], ['--db', 'x', 'bench', 'ann'], ['bench', '--set', 'memory.hnsw_m=8', 'ann']):
        code, _, err = run_cli(argv)
        assert_one_line_error(code, err, EXIT_USAGE, "ruvllm bench measures the default configuration")
