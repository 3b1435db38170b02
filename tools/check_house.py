"""The house rules CI checks: every exported notebook cell is at most 60 lines, and no module or test reaches into
another object's private names (`llm._record`, `mem._slot`, ...). Prints the largest exported cell per notebook.

    python tools/check_house.py          # report, exit 1 on a violation
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 60
COLLABORATORS = ('llm|mem|memory|store|cache|router|pool|backend|trainer|index|embedder|attention|server|scheduler|'
                 'sess|session|rec|record|state|app|cfg|config|loop|loop_a|loop_b|loop_c|judge|verifier|builder|ctx')
PRIVATE = re.compile(rf'\b({COLLABORATORS})\._[a-z]\w*')


def largest_cells() -> dict[str, int]:
    "Notebook path -> lines of its largest exported code cell."
    out = {}
    for nb in sorted((ROOT / 'nbs').rglob('*.ipynb')):
        cells = json.loads(nb.read_text())['cells']
        sizes = [len(''.join(c['source']).splitlines()) for c in cells
                 if c['cell_type'] == 'code' and '#| export' in ''.join(c['source'])]
        out[str(nb.relative_to(ROOT))] = max(sizes, default=0)
    return out


def reach_ins() -> list[str]:
    "`file:line: text` for every use of a collaborator's private name in the package and the tests."
    hits = []
    for f in sorted([*(ROOT / 'ruvllm').rglob('*.py'), *(ROOT / 'tests').glob('*.py')]):
        if f.name == '_modidx.py': continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            m = PRIVATE.search(line.split('#')[0])
            if m: hits.append(f"{f.relative_to(ROOT)}:{i}: {m.group()}")
    return hits


if __name__ == '__main__':
    sizes, hits = largest_cells(), reach_ins()
    for nb, n in sizes.items(): print(f"{n:4d}  {nb}" + ('   <-- over the limit' if n > MAX_LINES else ''))
    big = [nb for nb, n in sizes.items() if n > MAX_LINES]
    for h in hits: print("private name used from outside:", h)
    if big: print(f"ERROR: {len(big)} notebooks have an exported cell over {MAX_LINES} lines", file=sys.stderr)
    if hits: print(f"ERROR: {len(hits)} uses of another object's private names; add a public method", file=sys.stderr)
    sys.exit(1 if big or hits else 0)
