def test_the_opening_word_counts_as_a_name_unless_it_is_a_common_opener():
    from rag.text.mentions import capitalised, opening_name

    assert opening_name("Lawrow sagte bei einem Besuch in Moskau, man stehe fest zusammen [1].", "de") == "Lawrow"
    assert opening_name("Tillerson said it has hurt relations [2].", "en") == "Tillerson"
    assert opening_name("Laut Polizei wurden drei Menschen verletzt.", "de") is None
    assert opening_name("Die Regierung kündigte Neuwahlen an.", "de") is None
    assert opening_name("Demonstranten warfen Rauchbomben.", "de") is None  # a German common noun
    assert capitalised("Lawrow sagte in Moskau, der Tag komme.", "de") == ["Lawrow", "Moskau", "Tag"]
