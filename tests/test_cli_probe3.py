"""The CLI probe's findings (notes/lead31/cli_probe/FINDINGS.md) on reading where there is no memory, NUL bytes in
documents, `feedback --success` and `learn` with a loop named twice:
3. `--db` naming an existing folder without a memory: `stats` wrote a new, empty memory into it and `ask` answered
   from nothing without the warning it gives for a missing directory;
5. a NUL in a .txt/.md file was reported as "text of item N" across all files, after the data directory was made;
8. `feedback ID --success no` printed "rating None recorded", and `feedback ID` alone named `task_success`, not --success;
11. `learn C C --json` ran Loop C twice but printed only the last result."""
import json
from pathlib import Path

import pytest

from ruvllm.cli import EXIT_ERROR, run_cli

FAST = ('[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n\n[cache]\njudge = "none"\n\n'
        '[embedding]\nmodel = "hashing"\ndim = 64\n')


def one_error(code, err, needle):
    "A one-line error with exit code 1 that says `needle`."
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == EXIT_ERROR and len(lines) == 1 and lines[0].startswith('ruvllm: error: '), (code, err)
    assert needle in lines[0] and 'Traceback' not in err, err


def _ingest(argv, tmp_path, text='The Orl is 41 km long.\n\nThe Wend is green.\n'):
    (tmp_path / 'facts.txt').write_text(text)
    code, out, err = run_cli([*argv, 'ingest', '--no-progress', str(tmp_path / 'facts.txt')])
    assert code == 0, err


# --- 3. a folder that holds no memory -------------------------------------------------------------------

@pytest.fixture
def project(tmp_path):
    "An existing folder that is not a data directory: the project folder a mistyped --db names."
    d = tmp_path / 'project'; d.mkdir(); (d / 'notes.txt').write_text('my notes')
    (tmp_path / 'fast.toml').write_text(FAST)
    return d, ['--config', str(tmp_path / 'fast.toml'), '--db', str(d)]


def test_read_only_commands_refuse_a_folder_without_memory(project):
    d, argv = project
    for cmd in (['stats'], ['stats', '--json'], ['learn'], ['learn', 'C', '--json'], ['feedback', 'req-1', '--rating', '3'],
                ['feedback', 'req-1', '--success', 'no']):
        code, out, err = run_cli([*argv, *cmd])
        one_error(code, err, f"no ruvllm data directory at {str(d)!r} (the directory holds no memory.sqlite); pass --db PATH")
        assert out == ''
    assert sorted(f.name for f in d.iterdir()) == ['notes.txt']  # nothing written into it


def test_ask_on_a_folder_without_memory_says_the_memory_is_new(project):
    d, argv = project
    code, out, err = run_cli([*argv, 'ask', 'How long is the Orl?'])
    assert code == 0 and 'request id' in out
    warn = [l for l in err.splitlines() if l.strip()]
    assert len(warn) == 1 and warn[0].startswith(f"ruvllm: warning: there was no ruvllm memory in {str(d)!r} (no memory.sqlite)")
    assert 'new, empty memory' in warn[0], err
    code, out, err = run_cli([*argv, 'ask', 'How long is the Orl?'])  # now it holds one (empty): no second warning
    assert code == 0 and 'warning' not in err, err
    code, out, err = run_cli([*argv, 'stats', '--json'])
    assert code == 0 and json.loads(out)['memory']['nodes'] == 0, err


def test_a_real_data_directory_still_opens(tmp_path):
    (tmp_path / 'fast.toml').write_text(FAST)
    argv = ['--config', str(tmp_path / 'fast.toml'), '--db', str(tmp_path / 'data')]
    _ingest(argv, tmp_path)
    code, out, err = run_cli([*argv, 'stats', '--json'])
    assert code == 0 and json.loads(out)['memory']['live'] == 2, err


def test_a_postgresql_store_needs_no_memory_sqlite(project, pg_url):
    "With memory.store a PostgreSQL URL the memory is there, not in the folder: stats opens it."
    d, argv = project
    argv = [*argv, '--set', f'memory.store={pg_url}']
    _ingest(argv, d.parent)
    assert not (d / 'memory.sqlite').exists()
    other = d.parent / 'other'; other.mkdir()  # another folder, the same PostgreSQL memory
    code, out, err = run_cli([*argv, '--db', str(other), 'stats', '--json'])
    assert code == 0 and json.loads(out)['memory']['live'] == 2, err


# --- 5. a NUL in a .txt or .md file ---------------------------------------------------------------------

@pytest.mark.parametrize('name, text, where', [
    ('b.txt', 'Notes.\n\nThird file, with a NUL\x00 here.\n', 'b.txt:3: text contains a NUL character (0x00) at position 22'),
    ('b.md', '# Rivers\n\nThe Orl.\n\nWrapped\nline with a NUL\x00.\n', 'b.md:5: text contains a NUL character (0x00) at position 23'),
    ('b.md', '# Rivers\n\nThe Orl.\n\n## Wend\x00\n\nThe Wend.\n', 'b.md:5: heading contains a NUL character'),
])
def test_a_nul_in_a_document_names_its_file_and_line_before_anything_opens(tmp_path, name, text, where):
    (tmp_path / 'fast.toml').write_text(FAST)
    db = tmp_path / 'data'
    (tmp_path / 'a.txt').write_text('First paragraph.\n\nSecond paragraph.\n')
    (tmp_path / name).write_text(text)
    code, out, err = run_cli(['--config', str(tmp_path / 'fast.toml'), '--db', str(db), 'ingest', '--no-progress',
                              str(tmp_path / 'a.txt'), str(tmp_path / name)])
    one_error(code, err, f"{tmp_path / name}:{where.split(':', 1)[1]}")
    assert 'item' not in err and 'nothing was stored' not in err, err  # found while reading, not by the store
    assert not db.exists()  # no data directory made


# --- 8. feedback --success --------------------------------------------------------------------------------

def test_feedback_success_says_the_task_outcome_and_no_option_names_the_options(tmp_path):
    (tmp_path / 'fast.toml').write_text(FAST)
    argv = ['--config', str(tmp_path / 'fast.toml'), '--db', str(tmp_path / 'data')]
    _ingest(argv, tmp_path, 'The capital of Rivstaum is Tessel.\n')
    rids = []
    for q in ('What is the capital of Rivstaum?', 'Which city is the capital of Rivstaum?'):
        code, out, err = run_cli([*argv, 'ask', '--no-cache', '--json', q])
        assert code == 0, err
        rids.append(json.loads(out)['request_id'])
    code, out, err = run_cli([*argv, 'feedback', rids[0]])
    one_error(code, err, 'feedback needs at least one of --rating 1-5, --correction TEXT or --success yes|no')
    code, out, err = run_cli([*argv, 'feedback', rids[0], '--success', 'no'])
    assert code == 0 and out.startswith('task outcome recorded (no)') and 'None' not in out, (out, err)
    code, out, err = run_cli([*argv, 'feedback', rids[1], '--rating', '4', '--success', 'yes'])
    assert code == 0 and out.startswith('rating 4 recorded; task outcome recorded (yes)'), (out, err)


# --- 11. learn with a loop named twice --------------------------------------------------------------------

def test_learn_reports_every_run_of_a_loop(tmp_path):
    (tmp_path / 'fast.toml').write_text(FAST)
    argv = ['--config', str(tmp_path / 'fast.toml'), '--db', str(tmp_path / 'data')]
    _ingest(argv, tmp_path, 'Apples are red.\n\nPears are green.\n\nBananas are yellow.\n\nCars have wheels.\n\nBikes have wheels too.\n')
    code, out, err = run_cli([*argv, 'learn', 'C', 'A', 'C', '--json'])
    assert code == 0, err
    res = json.loads(out)
    assert list(res) == ['C', 'A'] and len(res['C']) == 2 and len(res['A']) == 1, res
    assert all(isinstance(r, list) for r in res['C'])  # each run's own per-namespace list
    assert 'edges_decayed' in res['A'][0]
    code, out, err = run_cli([*argv, 'learn', 'C', 'C'])
    assert code == 0 and sum(l.startswith('Loop C') for l in out.splitlines()) >= 2, out
