"""``progress=True`` shows the trainers' bar in Python as the CLI shows it (the bar lived in the
CLI alone; the SOM and the language model took the setting, Word2Vec and GloVe refused it)."""

from __future__ import annotations

import pytest

from dlcourse.embeddings import GloVe, Word2Vec


@pytest.mark.parametrize("trainer, unit", [(Word2Vec, "word"), (GloVe, "epoch")])
def test_progress_shows_a_bar_and_still_calls_the_callback(trainer, unit, lee_sentences,
                                                           capsys, monkeypatch):
    monkeypatch.setenv("DLCOURSE_PROGRESS", "1")  # a bar that redraws, as on a terminal
    seen = []
    model = trainer(vector_size=8, min_count=2, epochs=2, workers=1, progress=True)
    model.fit(lee_sentences, seen.append)
    err = capsys.readouterr().err
    assert f"{unit}" in err and "loss=" in err, err[-300:]
    assert seen and seen[-1]["epoch"] == 2  # the user's callback is called as before
    assert model.get_params()["progress"] is True

    trainer(vector_size=8, min_count=2, epochs=1, workers=1).fit(lee_sentences)
    assert "loss=" not in capsys.readouterr().err  # off by default in Python


def test_a_bad_callback_is_refused_behind_the_bar_too(lee_sentences):
    with pytest.raises(ValueError, match="callback must be a function"):
        Word2Vec(min_count=2, progress=True).fit(lee_sentences, callback="print")
    with pytest.raises(ValueError, match="callback must be a function"):
        GloVe(min_count=2, progress=True).fit(lee_sentences, callback=3)
