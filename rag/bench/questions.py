"""The fixed questions of the answer and load benchmarks (over the seed story + 10kGNAD index)."""

from __future__ import annotations

ANSWER_QUESTIONS = (
    "Wer hat wem Unterstützung zugesagt?",
    "Wie viele nordkoreanische Soldaten sind laut den USA bereits in die Region Kursk verlegt worden?",
    "Who pledged support to whom?",
)
LOAD_QUESTIONS = (
    *ANSWER_QUESTIONS,
    "Wer hat die Fußball-Weltmeisterschaft 2030 gewonnen?",
    "Was fordert die Gewerkschaft GPA-djp?",
)
