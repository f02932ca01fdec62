"""The fixed questions of the answer and load benchmarks (over the seed story + 10kGNAD index).

The first three are the acceptance questions; the rest are questions of our news_de gold set
(written for this project), so every benchmark question has an answer in that index.
"""

from __future__ import annotations

ACCEPTANCE = (
    "Wer hat wem Unterstützung zugesagt?",
    "Wie viele nordkoreanische Soldaten sind laut den USA bereits in die Region Kursk verlegt worden?",
    "Who pledged support to whom?",
)
ANSWER_QUESTIONS = (
    *ACCEPTANCE,
    "Wo wurde laut der OPCW im syrischen Bürgerkrieg bei Kämpfen zwischen Rebellengruppen Senfgas eingesetzt?",
    "Wie viele Flamingo-Küken sind im Wiener Tiergarten Schönbrunn bisher geschlüpft?",
    "Welche Geldbuße hat das Kartellgericht über die Pfeiffer HandelsgmbH und ihre Tochter Zielpunkt verhängt?",
    "Wie viele Megapixel liefert der APS-C-Sensor der spiegellosen Canon EOS M10?",
    "Mit wem hat Israels Ministerpräsident Netanyahu zum Eid-al-Fitr-Fest erstmals seit einem Jahr telefoniert?",
    "Wie ging die Abstimmung im US-Senat über den Gesetzesentwurf zur Ablehnung des Atomabkommens mit dem Iran aus?",
    "Wie viele Bank-Austria-Mitarbeiter wurden zur Betriebsversammlung im Wiener Austria Center erwartet?",
)
LOAD_QUESTIONS = (
    *ACCEPTANCE,
    "Wer hat die Fußball-Weltmeisterschaft 2030 gewonnen?",
    "Was fordert die Gewerkschaft GPA-djp?",
)
