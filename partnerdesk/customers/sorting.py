"""The sort key of a customer's name: Chinese names in pinyin order (阿里 < 北京 < 成都 < 深圳), mixed with Latin
names letter by letter, so the list sorts in the database the way a Chinese reader expects."""

import unicodedata

from pypinyin import Style, pinyin

# Longest key: 200 characters of at most 7 (a syllable such as "zhuang" and its tone digit).
NAME_SORT_LENGTH = 1400


def name_sort_key(name: str) -> str:
    """The key stored in Customer.name_sort: only ASCII letters and digits, so every database collation orders it
    as the bytes do. Each Han character becomes its syllable and tone digit ("成都" -> "cheng2du1"): the digit
    ends the syllable, so 西安 (xi1an1) sorts before 先 (xian1), as a dictionary orders them."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    key = []
    for syllables in pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda s: [s]):
        for syllable in syllables[:1]:
            # Latin letters with accents keep their letter (é -> e); anything else that is no letter or digit goes.
            plain = unicodedata.normalize("NFKD", syllable).encode("ascii", "ignore").decode()
            key.append("".join(ch for ch in plain if ch.isalnum()))
    return "".join(key)[:NAME_SORT_LENGTH]
