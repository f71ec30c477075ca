"""Old spellings of data-set names (``cifar10``, ``fashion_mnist``) and the registry's one name
for each, with a one-line note when an old one is used (torch-free, numpy-free)."""

from __future__ import annotations

import logging

# Older spellings (in the vision lesson and users' scripts) -> the registry's one name.
ALIASES: dict[str, str] = {
    "cifar10": "cifar-10",
    "cifar100": "cifar-100",
    "wikitext2": "wikitext-2",
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "mnist5k": "mnist-5k",
    "glove6b": "glove-6b",
    "glove-6b-50": "glove-6b-50d",
}

_NOTED: set[str] = set()  # old spellings already noted in this process
#: ``extra`` of a log record the command line prints only when the command ends well (after
#: its output), so that a refused command's error line stands alone
HELD = {"held": True}


def canonical_name(name: str) -> str:
    """The registry's name for ``name``: an old spelling (``cifar10``) is mapped to the one the
    ``dlcourse data list`` shows (``cifar-10``) with a one-line note on stderr, once per
    process; other names come back unchanged (lessons also accept file paths and their own
    keywords).

    Args:
        name: a data-set name, old or current (surrounding whitespace is stripped).
    """
    key = name.strip()
    if key in ALIASES:
        if key not in _NOTED:
            _NOTED.add(key)
            logging.getLogger("dlcourse").warning(
                "note: '%s' is now called '%s' (the name `dlcourse data list` shows)",
                key, ALIASES[key], extra=HELD)
        return ALIASES[key]
    return key
