"""Every notebook is a test: run it top to bottom in a fresh shell, skipping `slow`/`notest` cells.

This is what `nbdev_test` does; running it under pytest makes each notebook a counted test, so CI
ends on pytest's `N passed` line (nbdev_test only prints `Success.`).
"""
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook  # renamed: pytest would collect `test_nb` itself

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT / 'nbs').rglob('*.ipynb') if not p.name.startswith('_') and '.ipynb_checkpoints' not in p.parts)


def test_there_are_notebooks():
    assert len(NBS) >= 3, f"expected the package notebooks under {ROOT / 'nbs'}, found {NBS}"


@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT / 'nbs').with_suffix('')) for p in NBS])
def test_notebook(nb, monkeypatch):
    monkeypatch.chdir(nb.parent)
    flags = get_config(path=ROOT).tst_flags.split()
    ok, secs = run_notebook(nb, skip_flags=flags, basepath=ROOT)
    assert ok, f"{nb.name} failed (traceback above)"
