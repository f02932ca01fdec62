"""`rag bench ingest` on real articles with the small model: pipeline vs bare encoder, per backend."""

from rag.bench.ingest import run_ingest_benchmark

STORIES = [
    "Council approves new tram line\nThe city council approved the tram line on Monday. Work starts in May. "
    "The line will cost 120 million euros. Opponents said the money should go to buses. The mayor disagreed.",
    "Storm closes schools\nA storm closed schools across the region on Friday. Winds reached 140 km/h. "
    "Two people were injured by falling trees. Trains were cancelled until the evening.",
    "Club signs striker\nThe club signed a striker from Lyon for three years. He scored 19 goals last season. "
    "The fee was not disclosed. He will wear the number nine.",
]


def test_ingest_figures_compare_pipeline_encoder_and_backends(settings, tmp_path):
    src = tmp_path / "news"
    src.mkdir()
    for i, story in enumerate(STORIES):
        (src / f"{i}.txt").write_text(story, encoding="utf-8")
    s = settings.with_(models_dir=tmp_path / "models")  # MiniLM comes from its package; no ONNX export here
    fig = run_ingest_benchmark([src], s, encoder_sample=8, backends=["onnx-int8"], log=lambda _: None)
    assert fig["articles"] == 3 and fig["chunks"] >= 3 and fig["sentences"] > fig["chunks"]
    assert fig["pipeline_vs_encoder"] > 0 and fig["bare_encoder_seconds_for_all"] > 0 and fig["peak_rss_mb"] > 100
    # MiniLM-L6: 22.7 M parameters, 11.9 M of them in its embedding tables; FLOPs set against a real ceiling
    assert 10 < fig["non_embedding_params_m"] < 12 and fig["gflop_per_chunk"] > 0 and fig["ceiling_gflops"] > 1
    torch_row, int8_row = fig["backends"]
    assert torch_row["backend"].startswith("torch") and torch_row["chunks_per_s"] > 0 and torch_row["speedup"] == 1.0
    assert 0 < torch_row["of_ceiling"] <= 1.0
    # no ONNX export in this fresh models folder: reported as not measured, never timed as torch
    assert int8_row["backend"] == "onnx-int8" and int8_row["chunks_per_s"] is None
