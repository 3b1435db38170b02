"""The package as a user meets it: public names, the seed's builder line, the README commands."""
import re, subprocess, sys
from pathlib import Path
import pytest
import ruvllm
from ruvllm import Config, ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_public_names_and_version():
    for name in ['Config', 'Feedback', 'Response', 'ModelTier', 'NodeType', 'EdgeType', 'RuvLLMError', 'ConfigError']:
        assert hasattr(ruvllm, name), name
    cfg_version = re.search(r'^version\s*=\s*(\S+)', (ROOT / 'settings.ini').read_text(), re.M).group(1)
    assert ruvllm.__version__ == cfg_version


def test_seed_builder_line():
    cfg = Config.builder().embedding_dim(256).router_hidden_dim(64).hnsw_params(16, 200, 64).learning_enabled(True).db_path("./data").build()
    assert (cfg.embedding.dim, cfg.router.hidden_dim, cfg.memory.hnsw_m, cfg.learning.enabled, str(cfg.db_path)) == (256, 64, 16, True, 'data')


TEN_BAD = [
    ('memory.hnsw_m', {'memory': {'hnsw_m': 0}}),
    ('memory.hnsw_ef_construction', {'memory': {'hnsw_ef_construction': -5}}),
    ('embedding.model', {'embedding': {'model': 'bert'}}),
    ('embedding.dim', {'embedding': {'dim': 100}}),
    ('router.sparsity', {'router': {'sparsity': 1.2}}),
    ('router.confidence_threshold', {'router': {'confidence_threshold': 'high'}}),
    ('learning.quality_threshold', {'learning': {'quality_threshold': 2}}),
    ('learning.enabled', {'learning': {'enabled': 'yes'}}),
    ('cache.ttl_s', {'cache': {'ttl_s': -1}}),
    ('server.port', {'server': {'port': 70000}}),
    ('inference.tiers', {'inference': {'tiers': {'small': 'gpt://x'}}}),
    ('memory.nonsense', {'memory': {'nonsense': 1}}),
]


@pytest.mark.parametrize('field,bad', TEN_BAD, ids=[f for f, _ in TEN_BAD])
def test_bad_config_names_its_field(field, bad, tmp_path):
    with pytest.raises(ConfigError, match=re.escape(field)):
        Config.from_dict(bad)
    # the same through a TOML file
    (tmp_path / 'c.toml').write_text(Config.from_dict(bad, validate=False).to_toml() if field != 'memory.nonsense'
                                     else '[memory]\nnonsense = 1\n')
    with pytest.raises(ConfigError, match=re.escape(field)):
        Config.from_toml(tmp_path / 'c.toml', env=False)


def test_env_override(monkeypatch):
    monkeypatch.setenv('RUVLLM_MEMORY__HNSW_M', '32')
    assert Config.load().memory.hnsw_m == 32
    monkeypatch.setenv('RUVLLM_MEMORY__HNSW_M', '1')
    with pytest.raises(ConfigError, match=r'memory\.hnsw_m must be an integer in \[2, 512\], got 1'):
        Config.load()


def test_readme_has_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / 'README.md').read_text()
    blocks = re.findall(r'```(?:bash|sh)\n(.*?)```', readme, re.S)
    assert len(blocks) >= 2, "README must start with the run command and the test command"
    test_cmd = blocks[1].strip()
    assert 'pytest' in test_cmd
    assert test_cmd in (ROOT / '.ci' / 'run').read_text(), ".ci/run must run the README's test command verbatim"


def test_house_rules_hold():
    "Every exported cell is at most 60 lines and nothing reaches into another object's private names (tools/check_house.py)."
    sys.path.insert(0, str(ROOT / 'tools'))
    import check_house
    big = {nb: n for nb, n in check_house.largest_cells().items() if n > check_house.MAX_LINES}
    assert not big, f"exported cells over {check_house.MAX_LINES} lines: {big}"
    assert not check_house.reach_ins(), check_house.reach_ins()
    # the checker itself catches what it is for
    assert check_house.PRIVATE.search("rec = llm." + "_record(rid)") and not check_house.PRIVATE.search("self._record(rid)")


def test_import_stays_light():
    "`import ruvllm` loads neither the evaluation code nor the heavy runtime modules."
    out = subprocess.run([sys.executable, '-c', "import sys, ruvllm; print(sorted(m for m in sys.modules if m.startswith('ruvllm') "
                          "or m in ('numba', 'llama_cpp', 'pandas')))"], capture_output=True, text=True, check=True).stdout
    assert 'evals' not in out and 'numba' not in out and 'llama_cpp' not in out, out


def test_readme_python_example_runs(tmp_path):
    "The README's Python example runs as printed (in an empty directory) and the correction it teaches comes back."
    code = (ROOT / 'README.md').read_text().split('```python\n', 1)[1].split('```', 1)[0]
    assert 'RuvLLM' in code and 'Feedback' in code and len(code.strip().splitlines()) <= 12
    pytest.importorskip('llama_cpp', reason='the example uses the default SmolLM2 tier (the local extra)')
    out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert 'Rivstaum' in lines[0], lines        # the ingested fact answers the first question
    assert 'Ilsa Marrow' in lines[-1], lines    # the correction answers the repeated question
