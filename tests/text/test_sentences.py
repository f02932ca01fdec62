from rag.text.sentences import sentence_spans, split_sentences


def test_german_abbreviations_and_ordinals_do_not_split():
    text = (
        "Die Sitzung findet am 1. Nov. 2024 statt. Dr. Müller sagte z. B. das und z.B. jenes. "
        "Er ist der 2. Sieger. Es kamen ca. 8.000 Soldaten. Er kam am 1. 2. an."
    )
    assert split_sentences(text, "de") == [
        "Die Sitzung findet am 1. Nov. 2024 statt.",
        "Dr. Müller sagte z. B. das und z.B. jenes.",
        "Er ist der 2. Sieger.",
        "Es kamen ca. 8.000 Soldaten.",
        "Er kam am 1. 2. an.",
    ]


def test_offsets_index_the_original_text_exactly():
    text = '  Erster Satz.   Zweiter Satz!\n\nDritter "Satz", sagte sie. Vierter?'
    spans = sentence_spans(text, "de")
    assert [text[s:e] for s, e in spans] == ["Erster Satz.", "Zweiter Satz!", 'Dritter "Satz", sagte sie.', "Vierter?"]
    assert all(0 <= s < e <= len(text) for s, e in spans)


def test_newline_is_always_a_boundary_and_english_works():
    text = "Headline without stop\nMr. Smith met the U.S. president on Jan. 5. It rained."
    assert split_sentences(text, "en") == [
        "Headline without stop",
        "Mr. Smith met the U.S. president on Jan. 5.",
        "It rained.",
    ]


def test_unknown_language_falls_back():
    assert split_sentences("Un. Deux trois. Quatre.", "xx")[-1] == "Quatre."
