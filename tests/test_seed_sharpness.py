"Seed weighting in propagation (`memory.propagate_sharpness`, 1.5 since retr8, chosen on dev by leave-one-conversation-out): a turn whose neighbour also matched outranks a slightly stronger turn that matched alone; with the old sharpness 2 the lone turn stays first."
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory

S1 = ["the weather has been grey all week", "my sister finished her masters in marine biology", "we had pizza on friday"]
S2 = ["did your sister ever finish that degree", "yes last may, she is a marine biologist now", "the bike is fixed at last"]

def test_a_turn_with_a_matching_neighbour_outranks_a_slightly_stronger_lone_turn(tmp_path):
    with Memory.open(tmp_path / 'm', HashingEmbedder(dim=64)) as mem:  # propagation reads only the seeds and the edges
        a = mem.ingest([dict(text=t, source='s1') for t in S1] + [dict(text=t, source='s2') for t in S2], progress=False)
        lone, paired, neighbour = a[1], a[4], a[3]  # fused seeds: the lone turn 1.0; the paired turn 0.8, its neighbour 0.16
        seeds = {lone: 1.0, paired: 0.8, neighbour: 0.16}
        now, before = mem.propagate(seeds), mem.propagate(seeds, sharpness=2.0)
        assert now[paired] > now[lone], now  # 0.8 ** 1.5 × (1 + 3 × 0.16) ≈ 1.06 against 1: the neighbour's evidence counts
        assert before[paired] < before[lone], before  # 0.8 ** 2 × 1.48 ≈ 0.95 against 1: sharpness 2 kept the lone turn first
        assert all(now[lone] > now.get(i, 0.0) for i in (a[0], a[2], a[5]))  # the turns that did not match stay below both
