"""Every benchmark figure is recorded with the llama.cpp build's CPU features: a rebuild of llama-cpp-python for another
CPU (AVX2 vs AVX-512 kernels) changes SmolLM2's words and moved the self-learning table's epoch-0 control accuracy
from 0.641 to 0.601 with the same code, so a figure without it cannot be compared."""
import llama_cpp

from ruvllm.bench import machine_info


def test_machine_info_names_the_cpu_features_llama_cpp_was_built_for():
    info = machine_info(['ruvllm', 'bench'])
    built = info['llama_cpp_build']
    reported = llama_cpp.llama_print_system_info().decode()
    assert built and ':' not in built and '|' not in built
    for flag in built.split(): assert f'{flag} = 1' in reported
    assert info['command'] == 'ruvllm bench'
