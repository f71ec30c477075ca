"""Unusable data and arguments raise InputError (a ValueError too) in every lesson, and a
missing file MissingFileError (a FileNotFoundError too), as the README says: these raised the
bare DlcourseError, which `except ValueError` and `except FileNotFoundError` miss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlcourse.errors import InputError, MissingFileError


def test_table_and_text_files(workdir):
    from dlcourse.som.data import load_table
    from dlcourse.text.reading import check_text_file

    with pytest.raises(MissingFileError) as info:
        load_table("nope.csv")
    assert isinstance(info.value, FileNotFoundError)
    Path("header.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="has a header but no data rows"):
        load_table("header.csv")
    Path("latin.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(MissingFileError):
        check_text_file("nope.txt")
    with pytest.raises(ValueError, match="byte 0xe9 is not valid utf-8"):
        check_text_file("latin.txt", decode=True)


def test_vector_files_and_evaluation_sets(workdir):
    from dlcourse.embeddings import KeyedVectors, load_vectors

    Path("bad.txt").write_text("2 3\nking 1 x 3\nqueen 1 2 3\n")
    with pytest.raises(InputError, match="are not all numbers"):
        load_vectors("bad.txt")
    kv = KeyedVectors(["a", "b"], np.eye(2))
    with pytest.raises(MissingFileError, match="no word-pair file at missing.txt"):
        from dlcourse.embeddings import evaluate_similarity

        evaluate_similarity(kv, "missing.txt")


def test_images_and_run_folders(workdir):
    from dlcourse.engine.persist import MODEL_FILE, write_state
    from dlcourse.som import SOM
    from dlcourse.vision.images import load_image

    with pytest.raises(MissingFileError):
        load_image("missing.png")
    Path("junk.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="cannot read image junk.png"):
        load_image("junk.png")
    Path("run").mkdir()
    write_state(Path("run") / MODEL_FILE, {"lesson": "embed", "estimator": "Word2Vec"},
                {"w": np.zeros(2)})
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(InputError, match="holds an 'embed' model, not a 'som' one"):
        SOM(2, 2, epochs=1, device="cpu").fit(X, out_dir="run")
    with pytest.raises(MissingFileError, match="nothing to resume"):
        SOM(2, 2, epochs=1, device="cpu").fit(X, out_dir="fresh", resume=True)


def test_a_table_source_that_is_no_path_and_an_empty_validation_pair():
    from dlcourse.classify import TextClassifier
    from dlcourse.som.data import load_table

    for source in (None, 5):  # pathlib's TypeError named no fix
        with pytest.raises(InputError, match=r"DATA must be a file path or a data set's name, "
                                             r"got \w+ .*; for an array use SOM\(\).fit\(X\)"):
            load_table(source)
    texts, labels = ["a fine film", "a dull film"] * 5, ["pos", "neg"] * 5
    with pytest.raises(InputError, match=r"valid holds no texts; pass a validation pair with "
                                         r"texts, or valid=None"):
        TextClassifier(epochs=1, pretrained=None, device="cpu").fit(texts, labels,
                                                                    valid=([], []))


def test_another_lessons_model_folder_is_a_value_error_as_the_other_wrong_folders(tmp_path):
    # load of a missing or damaged folder was a ValueError, of another lesson's folder not:
    # `except ValueError` caught three of the four wrong-folder mistakes
    from dlcourse.classify import TextClassifier
    from dlcourse.errors import IncompatibleModelError
    from dlcourse.som import SOM

    SOM(2, 2, epochs=1, device="cpu").fit(np.eye(3)).save(tmp_path / "som")
    with pytest.raises(IncompatibleModelError) as info:
        TextClassifier.load(tmp_path / "som")
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError):
        TextClassifier.load(tmp_path / "missing")



def test_a_choice_given_as_a_list_or_dict_is_named_with_the_choices():
    """An unhashable value for a named choice is an InputError listing the choices; looking it
    up in the dict of choices raised a bare TypeError ("unhashable type: 'list'")."""
    from dlcourse.som.functions import decay_function, neighborhood_function

    with pytest.raises(InputError, match=r"^unknown neighborhood \['gaussian'\]; choose one of "
                                         r"gaussian, bubble"):
        neighborhood_function(["gaussian"])
    with pytest.raises(InputError, match=r"^unknown decay \{\}; choose one of exponential"):
        decay_function({})
    assert neighborhood_function("bubble") is not None
