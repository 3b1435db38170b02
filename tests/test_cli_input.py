"""Input the `ruvllm` command line must refuse cleanly (lead18's probe): a bare number outside 1-5 given as a demo
rating, a namespace the HTTP API would refuse, an address `serve` cannot listen on, and bytes that are not UTF-8.
Each is one `ruvllm: error:` line (in the demo: one line, and the demo goes on), and nothing is stored."""
import json, os, socket, subprocess, sys
from pathlib import Path

import pytest

from ruvllm.cli import run_cli, EXIT_ERROR, EXIT_USAGE

ROOT = Path(__file__).resolve().parent.parent
EXTRACTIVE = '[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n\n[cache]\njudge = "none"\n'
QUESTION = 'What does the box hold?'  # (all-MiniLM-L6-v2 puts 'What is in the box?' at 0.26 from the note: a quotes-only system says it does not know)


@pytest.fixture
def base(cli_argv, tmp_path):
    "Global options for an extractive-only data directory in tmp_path, holding one fact."
    argv = cli_argv(EXTRACTIVE)
    (tmp_path / 'box.txt').write_text('The box holds three red marbles.\n')
    assert run_cli([*argv, 'ingest', '--no-progress', str(tmp_path / 'box.txt')])[0] == 0
    return argv


def sh(args, stdin: bytes = b'', cwd=None, timeout=120, env=None):
    "Run `python -m ruvllm.cli ARGS` (str or bytes arguments) as a real process; (exit code, stdout, stderr) as text."
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''), **(env or {}))
    p = subprocess.run([sys.executable, '-m', 'ruvllm.cli', *args], input=stdin, capture_output=True, cwd=cwd,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def one_error_line(code, err, expected_code, needle):
    assert code == expected_code, (code, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith('ruvllm: error: '), err
    assert needle in lines[0], err


def stats(base) -> dict:
    code, out, err = run_cli([*base, 'stats', '--json'])
    assert code == 0, err
    return json.loads(out)


def stored(base) -> dict:
    "What is in the memory (without its size on disk, which SQLite changes on its own)."
    return {k: v for k, v in stats(base)['memory'].items() if k != 'bytes_on_disk'}


# --- 1. a bare number outside 1-5 is not a correction ---------------------------------------------------

@pytest.mark.parametrize('typed', ['6', '0', '-1', '10', '4.5'])
def test_demo_refuses_an_out_of_range_rating_and_goes_on(base, typed):
    code, out, err = run_cli([*base, 'demo'], stdin=f"{QUESTION}\n{typed}\n{QUESTION}\n\n")
    assert code == 0, err
    errs = err.strip().splitlines()
    assert len(errs) == 1 and errs[0].startswith('ruvllm: error: '), err
    assert 'rate 1-5, or type a correction' in errs[0] and f'={typed}' in errs[0], err
    assert 'correction stored' not in out and out.rstrip().endswith('2 questions, 0 ratings, 0 corrections'), out
    second = out.split(f'> {QUESTION}')[-1]
    assert 'red marbles' in second, second  # the answer was not replaced by the number
    s = stats(base)
    assert (s['queries']['feedbacks'], s['queries']['corrections']) == (0, 0)


def test_demo_equals_sign_still_corrects_with_a_number(base):
    code, out, err = run_cli([*base, 'demo'], stdin=f"{QUESTION}\n=6\n\n")
    assert (code, err) == (0, '')
    assert 'correction stored as memory node' in out
    assert stats(base)['queries']['corrections'] == 1


# --- 2. namespaces follow the HTTP API's rule ------------------------------------------------------------

@pytest.mark.parametrize('cmd,ns', [('ingest', ''), ('ingest', 'a b/c'), ('ingest', 'x' * 65), ('ask', 'a b/c'), ('demo', 'caf\u00e9')])
def test_a_bad_namespace_option_is_refused_before_anything_is_stored(tmp_path, base, cmd, ns):
    before = stored(base), stats(base)['queries']['queries']
    extra = {'ingest': [str(tmp_path / 'box.txt')], 'ask': [QUESTION], 'demo': []}[cmd]
    code, out, err = run_cli([*base, cmd, '--namespace', ns, *extra], stdin=f"{QUESTION}\n\n")
    one_error_line(code, err, EXIT_USAGE, "argument --namespace: namespace must be a non-empty string of at most 64 letters")
    assert repr(ns)[:20] in err
    assert (stored(base), stats(base)['queries']['queries']) == before


@pytest.mark.parametrize('ns', ['', 'a b/c', 7])
def test_a_bad_jsonl_namespace_names_file_and_line_and_stores_nothing(tmp_path, base, ns):
    f = tmp_path / 'recs.jsonl'
    f.write_text(json.dumps({'text': 'A fine record.'}) + '\n' + json.dumps({'text': 'Bad.', 'namespace': ns}) + '\n')
    before = stored(base)
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(f)])
    one_error_line(code, err, EXIT_ERROR, f'recs.jsonl:2: "namespace" must be a non-empty string of at most 64 letters')
    assert stored(base) == before


def test_good_namespaces_are_still_accepted(tmp_path, base):
    f = tmp_path / 'recs.jsonl'
    f.write_text(json.dumps({'text': 'Ost fish are blue.', 'namespace': 'zoo:fish_v1.2-x'}) + '\n')
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(f), '--namespace', 'docs'])
    assert code == 0, err
    assert stats(base)['memory']['namespaces'] == {'global': 1, 'zoo:fish_v1.2-x': 1}


# --- 3. serve checks its address before it says it is serving ---------------------------------------------

def test_serve_on_a_port_in_use_is_one_line(tmp_path, base):
    pytest.importorskip('fastapi'); pytest.importorskip('uvicorn')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); s.listen(1)
        port = s.getsockname()[1]
        code, out, err = sh([*base, 'serve', '--port', str(port)], cwd=tmp_path, timeout=90)
    one_error_line(code, err, EXIT_ERROR, f"cannot listen on 127.0.0.1:{port}")
    assert 'in use' in err and 'serving' not in err


def test_serve_on_a_host_that_does_not_resolve_is_one_line(tmp_path, base):
    pytest.importorskip('fastapi'); pytest.importorskip('uvicorn')
    code, out, err = sh([*base, 'serve', '--host', 'not a host', '--port', '0'], cwd=tmp_path, timeout=90)
    one_error_line(code, err, EXIT_ERROR, "cannot resolve host 'not a host'")
    assert 'serving' not in err


# --- 4. bytes that are not UTF-8 ---------------------------------------------------------------------------

def test_ask_with_a_non_utf8_argument_is_one_line(tmp_path, base):
    code, out, err = sh([*base, 'ask', b'caf\xe9?'], cwd=tmp_path)
    one_error_line(code, err, EXIT_ERROR, 'input is not valid UTF-8: argument')
    assert "'caf\\xe9?'" in err and 'byte 0xe9' in err and 'unexpected' not in err
    code, out, err = run_cli([*base, 'ask', 'caf\udce9?'])  # the same argument, as Python hands it to main
    one_error_line(code, err, EXIT_ERROR, 'input is not valid UTF-8')
    assert stats(base)['queries']['queries'] == 0


def test_demo_reports_a_non_utf8_line_and_goes_on(tmp_path, base):
    stdin = b'caf\xe9?\n' + QUESTION.encode() + b'\n\xff\xfe\n' + QUESTION.encode() + b'\n5\n'
    for errors in ('surrogateescape', 'strict'):  # what stdin does with bad bytes: C/POSIX locales, or others
        code, out, err = sh([*base, 'demo'], stdin=stdin, cwd=tmp_path, env={'PYTHONIOENCODING': f'utf-8:{errors}'})
        assert code == 0, err
        errs = err.strip().splitlines()
        assert len(errs) == 2 and all('input is not valid UTF-8' in e and 'byte 0x' in e for e in errs), err
        assert 'unexpected' not in err and 'Traceback' not in err
        assert out.count('red marbles') == 2 and 'rating 5 recorded' in out, out
        assert out.rstrip().endswith('2 questions, 1 rating, 0 corrections'), out


def test_a_broken_link_inside_an_ingested_directory_is_named_and_nothing_is_stored(base, tmp_path):
    "It was skipped without a word (lead24's probe), where a broken link given by name is an error."
    d = tmp_path / 'docs'; d.mkdir()
    (d / 'a.txt').write_text('The Zorblat river flows through Quenby.\n')
    (d / 'b.txt').symlink_to(tmp_path / 'gone.txt')
    code, out, err = run_cli([*base, 'ingest', '--no-progress', str(d)])
    assert code == EXIT_ERROR and 'b.txt: a broken symbolic link' in err and 'gone.txt' in err, err
    code, out, err = run_cli([*base, 'stats'])
    assert code == 0 and ' 1 nodes' in out.replace('memory', ' '), out


def test_an_unreachable_database_speaks_in_ruvllm_lines_only(cli_argv, tmp_path):
    "psycopg's pool logged each failed connection as bare lines before the CLI's own error (lead24's probe)."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]  # closed again: nothing listens there
    argv = cli_argv(EXTRACTIVE + f'\n[memory]\nstore = "postgresql://postgres@127.0.0.1:{port}/x"\npg_timeout_s = 2.0\n')
    (tmp_path / 'a.txt').write_text('A fact.\n')
    code, out, err = sh([*argv, 'ingest', '--no-progress', str(tmp_path / 'a.txt')], cwd=tmp_path)  # a real process: its real stderr
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == EXIT_ERROR and lines and all(l.startswith('ruvllm: ') for l in lines), err
    assert lines[-1].startswith('ruvllm: error: ') and f'127.0.0.1:{port}' in lines[-1], err
