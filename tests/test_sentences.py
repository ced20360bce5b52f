from index.sentences import split_sentences


def texts(text, lang):
    spans = split_sentences(text, lang)
    for s in spans:
        assert text[s.start : s.end] == text[s.start : s.end].strip()
    return [text[s.start : s.end] for s in spans]


def test_german_abbreviations_do_not_end_sentences():
    text = "Zu den Investoren gehören u.a. Alibaba und Tencent. Nissan ist z.B. mit dem Pro Pilot weit. Ende."
    assert texts(text, "de") == [
        "Zu den Investoren gehören u.a. Alibaba und Tencent.",
        "Nissan ist z.B. mit dem Pro Pilot weit.",
        "Ende.",
    ]


def test_quotes_stay_with_their_sentence():
    text = "He said: “We are open. We will grow.” Then he left."
    got = texts(text, "en")
    assert got[-1] == "Then he left."
    assert "“We are open." in got[0]


def test_offsets_point_into_the_original_text_with_an_offset():
    text = "First line\nSecond sentence here. Third one."
    spans = split_sentences(text, "en", offset=100)
    assert [(s.start, s.end) for s in spans] == [(100, 110), (111, 132), (133, 143)]


def test_line_breaks_are_boundaries_and_empty_text_has_no_sentences():
    assert texts("Headline without stop\nBody sentence.", "en") == ["Headline without stop", "Body sentence."]
    assert split_sentences("", "en") == []
    assert split_sentences(" \n ", "de") == []


def test_cjk_and_emoji_keep_exact_offsets():
    text = "滴滴出行是中国的公司。它有很多客户。 Electric cars 🚗 are popular."
    got = texts(text, "zh")
    assert "".join(got).replace(" ", "") == text.replace(" ", "")


def test_a_long_line_is_split_in_linear_time_into_bounded_pieces():
    import time

    from index.sentences import MAX_SENTENCE_CHARS

    def seconds(n: int) -> float:
        started = time.perf_counter()
        split_sentences(("lorem ipsum dolor sit amet consectetur " * 12_000)[:n], "en")
        return time.perf_counter() - started

    ratio = min(seconds(400_000) for _ in range(2)) / min(seconds(100_000) for _ in range(2))
    assert ratio < 8, f"4 times the text took {ratio:.1f} times as long (linear: 4; before the windows: 15 or more)"
    text = ("lorem ipsum dolor sit amet consectetur " * 12_000)[:400_000]
    spans = split_sentences(text, "en")
    assert all(0 < s.end - s.start <= MAX_SENTENCE_CHARS for s in spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    assert all(text[s.start : s.end] == text[s.start : s.end].strip() for s in spans)
    assert sum(len(text[s.start : s.end].split()) for s in spans) == len(text.split())  # no word lost or cut


def test_a_long_line_of_ordinary_sentences_is_split_as_a_short_one_would_be():
    sentence = "The council approved the budget on Tuesday after a long debate. "
    line = sentence * 400  # 26,000 characters: three windows
    spans = split_sentences(line, "en")
    assert len(spans) == 400
    assert {line[s.start : s.end] for s in spans} == {sentence.strip()}
    chinese = "市议会周二批准了预算。" * 2_000  # no spaces after a full stop
    spans = split_sentences(chinese, "zh")
    assert len(spans) == 2_000 and {chinese[s.start : s.end] for s in spans} == {"市议会周二批准了预算。"}
