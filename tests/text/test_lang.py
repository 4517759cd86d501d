"""Language identification: script fast path and lingua for Latin script."""

from __future__ import annotations

from bastion.text.lang import detect_language, detect_languages, script_of


def test_script_fast_path() -> None:
    assert detect_language("الدولة تعلن عن شيء جديد اليوم") == "ar"
    assert detect_language("این یک متن فارسی است که می‌گوید") == "fa"
    assert detect_language("Это просто текст на русском языке") == "ru"
    assert detect_language("🙂🙂 !!") == "und"
    assert script_of("abc") == "latin"


def test_latin_languages() -> None:
    assert detect_language("The police said the suspect was arrested this morning in the city") == "en"
    assert detect_language("La police a arrêté le suspect ce matin dans la ville") == "fr"
    assert detect_language("RT @user: Die Polizei hat den Verdächtigen heute Morgen festgenommen") == "de"


def test_batch_matches_single() -> None:
    texts = ["The police said the suspect was arrested", "الدولة تعلن", "x", "Der Hund ist sehr schön heute"]
    assert detect_languages(texts) == [detect_language(t) for t in texts]
