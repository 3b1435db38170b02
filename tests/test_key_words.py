"Key words of a query without names: the rare (coined) words, not light verbs or generic nouns (issue 18)."
from ruvllm.text import key_words, key_coverage

FACT = "The brolumscope was invented by Tal Quorix."  # an invented fact, with a lower-case coined device name


def test_paraphrase_with_light_verb_covers_its_own_fact():
    # "came up with": before, the key words were {'came', 'brolumscope'} and the fact covered half of them
    assert key_words("Who came up with the brolumscope?") == {'brolumscope'}
    assert key_coverage("Who came up with the brolumscope?", [FACT]) == 1.0
    assert key_coverage("Which person created the brolumscope?", [FACT]) == 1.0


def test_sentence_initial_name_is_the_key():
    q = "Velmirith's capital is which city?"  # the name is the first word, so `names` does not see it
    assert key_words(q) == {'velmirith'}
    assert key_coverage(q, ["The capital of Velmirith is Zanorett."]) == 1.0


def test_another_subject_still_uncovered():
    assert key_coverage("Who came up with the brolumscope?", ["The fenkesscope was invented by Ith Darrow."]) == 0.0


def test_all_common_words_keep_every_content_word():
    assert key_words("how do magnets work") == {'magnets', 'work'}
    from ruvllm.text import common_word
    assert common_word('inventor') and common_word('came') and not common_word('brolumscope')
