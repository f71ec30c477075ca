"""KeyedVectors: lookup, neighbours, analogies, and files that gensim writes and reads."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV

from dlcourse.data import fetch
from dlcourse.embeddings import KeyedVectors, load_vectors
from dlcourse.errors import DlcourseError


@pytest.fixture(scope="module")
def glove_path():
    return fetch("glove-test") / "test_glove.txt"


@pytest.fixture(scope="module")
def glove(glove_path) -> KeyedVectors:
    return KeyedVectors.load_word2vec_format(glove_path, no_header=True)


def test_lookup_basics():
    kv = KeyedVectors(["a", "b", "c"], np.arange(6, dtype=np.float64).reshape(3, 2))
    assert kv.vectors.dtype == np.float32 and kv.vector_size == 2 and len(kv) == 3
    assert "b" in kv and "z" not in kv
    np.testing.assert_array_equal(kv["c"], [4, 5])
    assert kv[["a", "c"]].shape == (2, 2)
    assert kv.key_to_index["c"] == 2 and kv.index_to_key == ["a", "b", "c"]


def test_bad_construction():
    with pytest.raises(ValueError, match="duplicate word 'a'"):
        KeyedVectors(["a", "a"], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 words but 3 vector rows"):
        KeyedVectors(["a", "b"], np.zeros((3, 3)))


def test_unknown_word_suggests_close_entries(glove):
    with pytest.raises(DlcourseError, match=r"'thee' is not in the vocabulary.*entries:.*the"):
        glove["thee"]
    with pytest.raises(DlcourseError, match="not in the vocabulary"):
        glove.most_similar("qqqqqq")


def test_an_unknown_word_is_a_key_error_as_in_gensim(glove):
    # gensim code skips out-of-vocabulary words with `except KeyError`
    with pytest.raises(KeyError) as info:
        glove["qqqqqq"]
    assert str(info.value).startswith("word 'qqqqqq' is not in")  # one line, not quoted
    assert np.array_equal(glove.get_vector("the"), glove["the"])
    assert np.linalg.norm(glove.get_vector("the", norm=True)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")
def test_reads_stanford_glove_like_gensim(glove, glove_path):
    ref = GensimKV.load_word2vec_format(glove_path, no_header=True)
    assert glove.index_to_key == ref.index_to_key
    np.testing.assert_array_equal(glove.vectors, ref.vectors)
    ours = glove.most_similar(positive=["the", "of"], negative=["and"], topn=5)
    theirs = ref.most_similar(positive=["the", "of"], negative=["and"], topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
    ours = glove.most_similar_cosmul(positive=["the", "of"], negative=["and"], topn=5)
    theirs = ref.most_similar_cosmul(positive=["the", "of"], negative=["and"], topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    # vectors in place of words, as gensim takes them (unit vectors: gensim does not scale them)
    the, of = ref.get_vector("the", norm=True), ref.get_vector("of", norm=True)
    ours = glove.most_similar_cosmul(positive=[the, "of"], negative=["and"], topn=5)
    theirs = ref.most_similar_cosmul(positive=[the, "of"], negative=["and"], topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]  # "the" not excluded: given as a vector
    assert "the" in [w for w, _ in glove.most_similar_cosmul(positive=[the, of], topn=3)]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)
    scaled = glove.most_similar_cosmul(positive=[3 * glove["the"], "of"], negative=["and"])
    assert [w for w, _ in scaled] == [w for w, _ in glove.most_similar_cosmul(
        positive=[the, "of"], negative=["and"])]  # a vector counts by its direction
    assert glove.similarity("the", "of") == pytest.approx(ref.similarity("the", "of"), abs=1e-6)
    words = ["the", "of", "and", "ö"]
    assert glove.doesnt_match(words) == ref.doesnt_match(words)
    # gensim leaves out a word it does not know (with a warning): it was an error here
    assert glove.doesnt_match(words + ["zzqx"]) == ref.doesnt_match(words + ["zzqx"])


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_round_trips_through_gensim(glove, tmp_path, binary):
    path = tmp_path / ("v.bin" if binary else "v.txt")
    glove.save_word2vec_format(path, binary=binary)
    ref = GensimKV.load_word2vec_format(path, binary=binary)  # we write, gensim reads
    assert ref.index_to_key == glove.index_to_key
    np.testing.assert_array_equal(ref.vectors, glove.vectors)
    back_path = tmp_path / ("g.bin" if binary else "g.txt")
    ref.save_word2vec_format(back_path, binary=binary)  # gensim writes, we read
    back = KeyedVectors.load_word2vec_format(back_path, binary=binary)
    assert back.index_to_key == glove.index_to_key
    np.testing.assert_array_equal(back.vectors, glove.vectors)
    assert load_vectors(back_path).index_to_key == glove.index_to_key


def test_glove_format_without_header(glove, tmp_path):
    path = tmp_path / "glove.txt"
    glove.save_word2vec_format(path, write_header=False)
    assert len(path.read_text(encoding="utf-8").splitlines()[0].split()) == 51
    ref = GensimKV.load_word2vec_format(path, no_header=True)
    np.testing.assert_array_equal(ref.vectors, glove.vectors)
    np.testing.assert_array_equal(load_vectors(path).vectors, glove.vectors)
    with pytest.raises(DlcourseError, match="no_header=True"):
        KeyedVectors.load_word2vec_format(path)


def test_words_a_format_cannot_hold_are_refused_before_writing(tmp_path):
    # GloVe 840B has words with spaces: its text format keeps them (the reader takes the last
    # D fields as numbers), the word2vec formats would split them and misalign the file
    from dlcourse.cli.common import VECTOR_FORMATS
    from dlcourse.embeddings.vector_files import FORMATS

    assert VECTOR_FORMATS == FORMATS  # the CLI's --format choices
    kv = KeyedVectors(["a", "new york"], np.eye(2, 3, dtype=np.float32))
    for binary, name in ((False, "v.txt"), (True, "v.bin")):
        with pytest.raises(DlcourseError, match=r"1 of the 2 words .* e\.g\. 'new york'"):
            kv.save_word2vec_format(tmp_path / name, binary=binary)
        assert not (tmp_path / name).exists()
    kv.save_word2vec_format(tmp_path / "v.glove", write_header=False)
    back = load_vectors(tmp_path / "v.glove")
    assert back.index_to_key == ["a", "new york"]
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    with pytest.raises(DlcourseError, match="line break"):
        KeyedVectors(["a", "b\nc"], np.eye(2, 3)).save_word2vec_format(
            tmp_path / "w.glove", write_header=False)


def test_own_model_file_round_trip_without_torch(glove, tmp_path, monkeypatch):
    import sys

    from dlcourse.engine.persist import read_manifest

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises
    path = glove.save(tmp_path)
    assert path == tmp_path / "model.safetensors"
    manifest = read_manifest(path)
    assert manifest["lesson"] == "embed" and manifest["state"]["words"] == glove.index_to_key
    back = KeyedVectors.load(tmp_path)  # the directory, or the file itself
    np.testing.assert_array_equal(back.vectors, glove.vectors)
    assert back.most_similar("the", topn=3) == glove.most_similar("the", topn=3)
    assert load_vectors(path).index_to_key == glove.index_to_key


def test_files_are_found_by_content_not_name(glove, tmp_path):
    # a binary file without .bin, a GloVe file named .bin: sniffed from the first bytes
    binary, text = tmp_path / "vectors", tmp_path / "vectors.bin"
    glove.save_word2vec_format(binary, binary=True)
    glove.save_word2vec_format(text, write_header=False)
    for path in (binary, text):
        np.testing.assert_array_equal(load_vectors(path).vectors, glove.vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_a_byte_order_mark_before_the_header_is_skipped(glove, tmp_path, binary):
    # a word2vec text file re-saved by a Windows editor (BOM, CRLF) was read as GloVe with one
    # dimension: every line a "word", no error, and a classifier trained on it covered nothing
    plain, marked = tmp_path / "plain", tmp_path / "marked"
    glove.save_word2vec_format(plain, binary=binary)
    data = plain.read_bytes()
    marked.write_bytes(b"\xef\xbb\xbf" + (data if binary else data.replace(b"\n", b"\r\n")))
    read = load_vectors(marked)
    assert read.index_to_key == glove.index_to_key
    np.testing.assert_array_equal(read.vectors, glove.vectors)


def test_damaged_files_are_one_clear_error(glove, tmp_path):
    binary = tmp_path / "v.bin"
    glove.save_word2vec_format(binary, binary=True)
    binary.write_bytes(binary.read_bytes()[:-100])
    with pytest.raises(DlcourseError, match=r"ends inside vector 76 of 76; the file is truncated"):
        load_vectors(binary)
    text = tmp_path / "v.txt"
    glove.save_word2vec_format(text)
    text.write_text(text.read_text(encoding="utf-8")[:-300], encoding="utf-8")
    with pytest.raises(DlcourseError, match=r"v.txt:\d+: expected a word and 50 numbers"):
        load_vectors(text)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 0.5 1.5\n".encode("latin-1"))
    with pytest.raises(DlcourseError, match=r"latin.txt:1: byte 0xe9 is not valid utf-8"):
        load_vectors(latin)
    assert load_vectors(latin, encoding="latin-1").index_to_key == ["café"]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "model.pt").write_bytes(b"PK")
    with pytest.raises(DlcourseError, match="model.pt of an older dlcourse"):
        load_vectors(tmp_path / "old")
    # a NaN made `similar` list the word itself at -inf
    nan = tmp_path / "nan.glove"
    nan.write_text("a 0 0 0\nb 1 nan 0\nc 0 1 inf\n")
    with pytest.raises(DlcourseError, match=r"nan.glove: the vector of 'b' \(vector 2, counted "
                                            r"from 1\) is not all finite numbers; 2 of 3 "
                                            r"vectors are not"):
        load_vectors(nan)
    two = KeyedVectors(["a", "b"], np.array([[1, 0], [1, 1]], dtype=np.float32))
    two.save_word2vec_format(binary, binary=True)
    data = bytearray(binary.read_bytes())
    data[-9:-5] = np.float32(np.inf).tobytes()  # b's first value
    binary.write_bytes(bytes(data))
    with pytest.raises(DlcourseError,
                       match=r"v.bin: the vector of 'b' \(vector 2, counted from 1\) is not all"):
        load_vectors(binary)
    (tmp_path / "best.pt").write_bytes(b"PK")
    with pytest.raises(DlcourseError, match=r"best.pt is a torch checkpoint \(an lm run's"):
        load_vectors(tmp_path / "best.pt")


def test_batch_nearest_neighbors_match_most_similar(glove):
    words = ["the", "of", "and"]
    batch = glove.nearest_neighbors(words, topn=4, device="cpu")
    for word, row in zip(words, batch):
        expected = glove.most_similar(word, topn=4)
        assert [w for w, _ in row] == [w for w, _ in expected]
        np.testing.assert_allclose([s for _, s in row], [s for _, s in expected], atol=1e-5)


def test_analogy_method_must_be_known(glove):
    with pytest.raises(ValueError, match="choose one of 3cosadd, 3cosmul"):
        glove.analogy("the", "of", "and", method="cos")


def test_gensim_calls_with_vectors_rows_and_every_score_run_unchanged(glove, glove_path):
    # most_similar(kv["x"]) read the vector's numbers as words; topn=None and kv[0] failed
    ref = GensimKV.load_word2vec_format(glove_path, no_header=True)
    word = glove.index_to_key[3]
    for query in (glove[word], [glove[word]], [word, glove[glove.index_to_key[5]]]):
        ours, theirs = glove.most_similar(query, topn=4), ref.most_similar(query, topn=4)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)
    np.testing.assert_allclose(glove.most_similar(word, topn=None),
                               ref.most_similar(word, topn=None), atol=1e-6)
    np.testing.assert_array_equal(glove[0], ref[0])
    with pytest.raises(DlcourseError, match=r"a query vector must have shape \(50,\)"):
        glove.most_similar(np.zeros(3, np.float32))


def test_a_text_file_whose_rows_are_shorter_than_its_header_says(tmp_path):
    # it was read as a binary file and said "ends inside vector 2 of 2; the file is truncated"
    path = tmp_path / "v.txt"
    path.write_text("2 5\nking 1 2 3 4\nqueen 1 2 3 4\n")
    with pytest.raises(DlcourseError, match=r"v.txt:2: expected a word and 5 numbers \(the "
                                            r"header's D\), got 5 fields"):
        load_vectors(path)


def test_vectors_must_be_finite():
    # a NaN row made most_similar return the query word itself, at -inf
    with pytest.raises(DlcourseError,
                       match=r"the vector of 'a' \(vector 1, counted from 1\) is not all finite"):
        KeyedVectors(["a", "b"], np.array([[np.nan, 1.0], [1.0, 0.0]]))


def test_save_never_writes_over_another_lessons_model(glove, tmp_path):
    from dlcourse.som import SOM

    SOM(2, 2, epochs=1, device="cpu").fit(np.random.default_rng(0).normal(size=(20, 3))) \
        .save(tmp_path / "run")
    before = (tmp_path / "run" / "model.safetensors").read_bytes()
    with pytest.raises(DlcourseError, match=r"run holds a 'som' model, not an 'embed' one"):
        glove.save(tmp_path / "run")
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == before


def test_query_arguments_of_the_wrong_kind_are_named(glove):
    # most_similar(42) was "'int' object is not iterable"; topn="x" a comparison TypeError
    from dlcourse.errors import InputError

    word = glove.index_to_key[0]
    assert glove.most_similar(42, topn=3) == glove.most_similar(glove.index_to_key[42], topn=3)
    for call in (lambda: glove.most_similar(word, topn="x"),
                 lambda: glove.most_similar(word, topn=-1),
                 lambda: glove.most_similar_cosmul(word, topn=True),
                 lambda: glove.nearest_neighbors([word], topn=2.5)):
        with pytest.raises(InputError, match="topn must be a whole number >= 0, got"):
            call()
    with pytest.raises(InputError, match="restrict_vocab must be a whole number >= 0 or None"):
        glove.most_similar(word, restrict_vocab="all")
    assert glove.most_similar_cosmul(word, topn=None).shape == (len(glove),)
    assert glove.most_similar(word, topn=0) == []
    for bad in (0, -1):  # 0 was range()'s own error, -1 answered [] for every word
        with pytest.raises(InputError, match="batch_size must be a whole number >= 1"):
            glove.nearest_neighbors([word], batch_size=bad)
    # weights are most_similar's; most_similar_cosmul said the pair was an unknown word
    other = glove.index_to_key[1]
    with pytest.raises(InputError, match="not \\(word, weight\\) pairs"):
        glove.most_similar_cosmul([(word, 2.0)], [other])


@pytest.mark.parametrize("binary", [False, True])
def test_load_limit_reads_the_first_n_vectors_and_refuses_less_than_one(glove, tmp_path,
                                                                        binary):
    from dlcourse.errors import InputError

    path = glove.save_word2vec_format(tmp_path / "v", binary=binary)
    first = KeyedVectors.load_word2vec_format(path, binary=binary, limit=5)
    assert first.index_to_key == glove.index_to_key[:5]
    assert first.index_to_key == GensimKV.load_word2vec_format(path, binary=binary,
                                                               limit=5).index_to_key
    # 0 read every vector of a text file and none of a binary one; -1 crashed in numpy
    for bad in (0, -1, 2.5):
        with pytest.raises(InputError, match="limit must be a whole number >= 1 or None"):
            KeyedVectors.load_word2vec_format(path, binary=binary, limit=bad)


def test_gensims_other_queries_give_gensims_answers(glove, glove_path, tmp_path):
    """n_similarity, distance(s), similar_by_word/vector, closer_than, rank, get_mean_vector,
    has_index_for and evaluate_word_pairs, against gensim on the same vectors."""
    ref = GensimKV.load_word2vec_format(glove_path, no_header=True)
    w = glove.index_to_key
    a, b, c, d = w[3], w[7], w[11], w[20]
    assert glove.n_similarity([a, b], [c, d]) == pytest.approx(ref.n_similarity([a, b], [c, d]),
                                                                abs=1e-5)
    assert glove.distance(a, b) == pytest.approx(ref.distance(a, b), abs=1e-5)
    np.testing.assert_allclose(glove.distances(a, [b, c]), ref.distances(a, [b, c]), atol=1e-5)
    np.testing.assert_allclose(glove.distances(a), ref.distances(a), atol=1e-5)
    assert [x for x, _ in glove.similar_by_word(a, topn=5)] == [
        x for x, _ in ref.similar_by_word(a, topn=5)]
    assert [x for x, _ in glove.similar_by_vector(glove[b], topn=5)] == [
        x for x, _ in ref.similar_by_vector(ref[b], topn=5)]
    assert sorted(glove.closer_than(a, d)) == sorted(ref.closer_than(a, d))
    assert glove.rank(a, d) == ref.rank(a, d)
    np.testing.assert_allclose(glove.get_mean_vector([a, b, "not-a-word"]),
                               ref.get_mean_vector([a, b, "not-a-word"]), atol=1e-6)
    assert glove.has_index_for(a) and not glove.has_index_for("not-a-word")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{w[i]}\t{w[i + 5]}\t{(i * 7) % 10}\n" for i in range(20)) +
                     "zzzz\tqqqq\t3\n")
    (pearson, p1), (rho, p2), oov = glove.evaluate_word_pairs(pairs)
    (ref_pearson, ref_p1), (ref_rho, ref_p2), ref_oov = ref.evaluate_word_pairs(pairs)
    assert (pearson, rho, oov) == pytest.approx((ref_pearson, ref_rho, ref_oov), abs=1e-5)
    assert (p1, p2) == pytest.approx((ref_p1, ref_p2), rel=1e-3, abs=1e-6)
    with pytest.raises(ValueError, match="at least one word in each list"):
        glove.n_similarity([], [a])
