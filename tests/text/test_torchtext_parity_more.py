"""torchtext's get_tokenizer(tokenizer, language) calls and torch's pad_sequence(padding_value=)
as their users write them: None and a function as the tokenizer, a spaCy model name as the
language, padding_value for the pad id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from dlcourse.data.readers import read_pang_lee_sample
from dlcourse.errors import InputError
from dlcourse.text import Vocab, basic_english, get_tokenizer, tokenizer_from_config
from dlcourse.text.tokenizers import FunctionTokenizer, WhitespaceTokenizer


@pytest.fixture(scope="module")
def reviews():
    return [text for text, _ in read_pang_lee_sample()]


def test_none_is_torchtexts_split_tokenizer(reviews):
    # torchtext: get_tokenizer(None) is _split_tokenizer, x.split(); its language is ignored
    tok = get_tokenizer(None)
    assert isinstance(tok, WhitespaceTokenizer)
    assert tok.batch(reviews) == [r.split() for r in reviews]
    assert get_tokenizer(None, language="de")(reviews[0]) == reviews[0].split()
    assert tokenizer_from_config(tok.config)(reviews[1]) == reviews[1].split()


def test_the_first_argument_has_torchtexts_name(reviews):
    # torchtext's signature is get_tokenizer(tokenizer, language="en")
    by_keyword = get_tokenizer(tokenizer="basic_english", language="en")
    assert by_keyword(reviews[0]) == get_tokenizer("basic_english")(reviews[0])
    assert isinstance(get_tokenizer(tokenizer=None), WhitespaceTokenizer)


def test_a_function_is_used_as_the_tokenizer(reviews):
    # torchtext returns the callable itself; the wrapper gives the same tokens plus batch/stream
    for function in (str.split, basic_english, lambda s: s.lower().split(" ")):
        tok = get_tokenizer(function, language="en")
        assert isinstance(tok, FunctionTokenizer) and tok.function is function
        assert tok.batch(reviews) == [function(r) for r in reviews]
        assert list(tok.stream(iter(reviews), chunk_size=64)) == [function(r) for r in reviews]
    assert repr(get_tokenizer(str.split)) == "FunctionTokenizer(str.split)"
    assert get_tokenizer(lambda s: iter(s.split()))("a b") == ["a", "b"]
    built = Vocab.build(get_tokenizer(str.split).stream(reviews), min_freq=2)
    assert built.itos == Vocab.build(get_tokenizer(None).stream(reviews), min_freq=2).itos


def test_a_function_tokenizer_refuses_what_it_cannot_do():
    with pytest.raises(InputError, match="options lowercase are for named tokenizers"):
        get_tokenizer(str.split, lowercase=True)
    with pytest.raises(InputError, match=r"str\.lower returned str; it must return a list of str"):
        get_tokenizer(str.lower)("Hello")  # list("hello") would be its characters
    with pytest.raises(InputError, match="returned a token of type int"):
        get_tokenizer(lambda s: [len(s)])("Hello")
    with pytest.raises(InputError, match="returned int"):
        get_tokenizer(len)("Hello")
    with pytest.raises(InputError, match="missing texts"):
        get_tokenizer(str.split)(None)
    with pytest.raises(InputError, match=r"str\.split has no config to save; use a named"):
        _ = get_tokenizer(str.split).config
    with pytest.raises(InputError, match="takes a function"):
        FunctionTokenizer("basic_english")


def test_unknown_names_list_none_and_functions():
    with pytest.raises(InputError, match=r"wordpiece, None \(str\.split\) or a function"):
        get_tokenizer("moses")


def test_language_as_torchtext_passes_it(reviews):
    assert get_tokenizer("basic_english", "en")(reviews[0]) == basic_english(reviews[0])
    assert get_tokenizer("basic_english", language="en").batch(reviews[:3]) == \
        [basic_english(r) for r in reviews[:3]]
    # torchtext: "Basic normalization is only available for English(en)"
    with pytest.raises(InputError, match=r"English only.*get_tokenizer\('spacy', language='fr'\)"):
        get_tokenizer("basic_english", language="fr")
    with pytest.raises(InputError, match="bad option for tokenizer 'regex'"):
        get_tokenizer("regex", language="en")


def test_spacy_refuses_a_model_that_is_not_installed():
    spacy = pytest.importorskip("spacy")
    installed = spacy.util.get_installed_models()
    names = ["xx_nosuch_sm", "zz"] + ([] if "en_core_web_sm" in installed else ["en_core_web_sm"])
    for name in names:
        with pytest.raises(InputError) as caught:
            get_tokenizer("spacy", language=name)
        message = str(caught.value)
        assert f"no language or installed model {name!r}" in message
        assert "'en' or 'de'" in message and "E048" not in message
        assert ", ".join(installed) in message if installed else "spacy download" in message
    with pytest.raises(InputError, match="no language or installed model 3;"):
        get_tokenizer("spacy", language=3)
    assert get_tokenizer("spacy", "en")("Don't stop") == ["Do", "n't", "stop"]


def _install_model(root, name="en_probe_sm", version="0.0.1"):
    """A spaCy model package laid out as `spacy package` and pip leave one: the package with
    meta.json and its data folder, and a dist-info whose entry point lists it as a model."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")  # a component, which the tokenizer must not load
    nlp.tokenizer.add_special_case("dlcourse", [{"ORTH": "dl"}, {"ORTH": "course"}])
    nlp.meta.update(name=name.removeprefix("en_"), version=version)
    package = root / name
    package.mkdir()
    nlp.to_disk(package / f"{name}-{version}")
    (package / "meta.json").write_text(json.dumps(nlp.meta), encoding="utf-8")
    (package / "__init__.py").write_text(textwrap.dedent("""
        from spacy.util import load_model_from_init_py

        def load(**overrides):
            return load_model_from_init_py(__file__, **overrides)
    """), encoding="utf-8")
    info = root / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[spacy_models]\n{name} = {name}\n",
                                           encoding="utf-8")
    return name


def test_spacy_takes_an_installed_model_name(tmp_path, reviews):
    """get_tokenizer("spacy", language=<model>) tokenizes as the model's own tokenizer does
    (torchtext's [t.text for t in spacy.load(language).tokenizer(x)]), components left out.
    Run in a fresh interpreter: spaCy reads the installed models' entry points once."""
    pytest.importorskip("spacy")
    name = _install_model(tmp_path)
    texts = reviews[:50] + ["the dlcourse notes"]
    script = textwrap.dedent(f"""
        import json, sys, spacy
        from dlcourse.text import get_tokenizer, tokenizer_from_config
        texts = json.loads(sys.stdin.read())
        tok = get_tokenizer("spacy", language={name!r})
        reference = spacy.load({name!r}).tokenizer
        print(json.dumps({{
            "installed": spacy.util.get_installed_models(),
            "pipes": tok._nlp.pipe_names,
            "ours": tok.batch(texts),
            "again": tokenizer_from_config(tok.config).batch(texts),
            "spacy": [[t.text for t in reference(x) if not t.is_space] for x in texts],
        }}))
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]))
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert name in out["installed"] and out["pipes"] == []
    assert out["ours"] == out["spacy"] == out["again"]
    assert out["ours"][-1] == ["the", "dl", "course", "notes"]  # the model's own special case


@pytest.fixture(scope="module")
def id_sequences(reviews):
    tok = get_tokenizer("basic_english")
    vocab = Vocab.build(tok.stream(reviews), min_freq=2)
    return [vocab.lookup(tokens) for tokens in tok.batch(reviews[:40])]


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("value", [0, 1, -100, 2.0])
def test_padding_value_pads_as_torch_does(id_sequences, batch_first, value):
    import torch
    from torch.nn.utils.rnn import pad_sequence

    from dlcourse.text import pad_sequences

    tensors = [torch.tensor(ids) for ids in id_sequences]
    expected = pad_sequence(tensors, batch_first=batch_first, padding_value=value)
    for seqs in (tensors, id_sequences):
        padded, lengths = pad_sequences(seqs, batch_first=batch_first, padding_value=value)
        assert torch.equal(padded, expected) and padded.dtype == torch.long
        assert lengths.tolist() == [len(ids) for ids in id_sequences]
    if value == int(value):
        same, _ = pad_sequences(tensors, pad_id=int(value), batch_first=batch_first)
        assert torch.equal(same, expected)


def test_pad_id_and_padding_value_are_one_setting(id_sequences):
    import torch

    from dlcourse.text import PadCollate, pad_sequences

    for kwargs in ({"pad_id": 0, "padding_value": 1}, {"pad_id": 3, "padding_value": 3}):
        with pytest.raises(InputError, match="both set the padding id; pass one"):
            pad_sequences(id_sequences, **kwargs)
    with pytest.raises(InputError, match="both set"):
        pad_sequences(id_sequences, 0, padding_value=1)  # pad_id given by position
    with pytest.raises(InputError, match="padding_value must be an integer id, got float 1.5"):
        pad_sequences(id_sequences, padding_value=1.5)  # was cut to 1 without a word
    with pytest.raises(InputError, match="pad_id must be an integer id, got NoneType None"):
        PadCollate(pad_id=None)(id_sequences[:2])  # a vocabulary with no pad token
    padded, _ = pad_sequences([[4, 5], [6]], padding_value=torch.tensor(7))  # vocab["<pad>"]
    assert padded.tolist() == [[4, 5], [6, 7]]
