"""Short-answer spans from question types, on hand-made German and English sentences (no model)."""

import pytest

from rag.answer.spans import candidates, question_type, short_answer, typed_candidate_missing


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Wer hat wem Unterstützung zugesagt?", "person"),
        ("Wie viele Soldaten wurden verlegt?", "number"),
        ("Wann wurde die Brücke eröffnet?", "date"),
        ("In welchem Jahr erhielt Tesla eine Nominierung?", "date"),
        ("Wo ist der Religionswissenschafter René Girard gestorben?", "place"),
        ("Warum wurde die Straße gesperrt?", "reason"),
        ("Wie heißt die Enkeltochter des Doktors?", "name"),
        ("What did North Korea test yesterday?", "other"),
        ("How many people attended the concert?", "number"),
        ("Who pledged support to whom?", "person"),
        # the noun after "welche"/"which" says the kind
        ("In welchem Alter starb der Schauspieler?", "number"),
        ("Welchen Platz belegte Kenia 2012?", "number"),
        ("Welche Partei ist in Melbourne am stärksten?", "person"),
        ("Which team won Super Bowl XXXIII?", "person"),
        ("Welches proprietäre System verwendet Sky+HD?", "name"),
        ("Welche Position hat John Elway inne?", "name"),  # not a number: a title
    ],
)
def test_question_types(question, kind):
    assert question_type(question) == kind


def test_typed_spans_in_german_sentences():
    assert (
        short_answer(
            "Wo ist der Religionswissenschafter René Girard gestorben?",
            ["Der französische Religionswissenschafter René Girard ist im Alter von 91 Jahren in Stanford gestorben."],
            "de",
        )
        == "Stanford"
    )
    assert short_answer(
        "Wie viele Lautäußerungen zeichneten die Forscher auf?",
        ["Die Forscher zeichneten insgesamt 73.421 Lautäußerungen von 15 Tieren auf."],
        "de",
    ).startswith("73.421")
    assert (
        short_answer(
            "Wie viele nordkoreanische Soldaten sind in die Region Kursk verlegt worden?",
            ["8000 von ihnen sind demnach bereits in die russische Region Kursk verlegt worden."],
            "de",
        )
        == "8000"
    )
    when = short_answer("Wann soll das Bad eröffnen?", ["Eröffnet werden soll das Bad im Herbst 2025."], "de")
    assert when is not None and "2025" in when


def test_person_span_prefers_names_over_common_nouns():
    kind, spans = candidates(
        "Wer ernannte Robert Kintner zum Präsidenten?",
        ["1950 ernannte Noble Robert Kintner zum ABC-Präsidenten, während Noble selbst als CEO tätig war."][0],
        "de",
    )
    assert kind == "person" and spans and spans[0].text.startswith("Noble")


def test_english_number_with_unit():
    assert (
        short_answer(
            "How much will the repairs cost?", ["The work will cost 4,500,000 dollars and take three months."], "en"
        )
        == "4,500,000 dollars"
    )


def test_a_typed_question_without_a_candidate_is_evidence_against_answering():
    assert typed_candidate_missing("Wie viele Zuschauer kamen?", ["Das Konzert war ein großer Erfolg."], "de")
    assert not typed_candidate_missing("Wie viele Zuschauer kamen?", ["Es kamen 1500 Zuschauer."], "de")
    assert not typed_candidate_missing("Was sagte der Minister?", ["Der Minister schwieg."], "de")


def test_a_which_noun_question_gets_the_named_thing_not_a_common_noun():
    assert (
        short_answer(
            "Welche Partei ist in Melbournes wohlhabenden Stadtteilen am stärksten?",
            ["In den wohlhabenden Stadtteilen Melbournes ist die Liberal Party am stärksten."],
            "de",
        )
        == "Liberal Party"
    )
    assert short_answer(
        "In welchem Alter starb der US-Schauspieler Alex Rocco?",
        ["Der US-Schauspieler Alex Rocco ist im Alter von 79 Jahren gestorben."],
        "de",
    ).startswith("79")
