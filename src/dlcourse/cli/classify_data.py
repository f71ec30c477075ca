"""Where `dlcourse classify` finds its data: a named set or a table file, checked before it is
read; its labels, checked before training; the table columns a saved model was trained on; and
the texts `predict` reads from --file."""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.common import check_input_file, same_source
from dlcourse.errors import DlcourseError
from dlcourse.text.config import TableConfig
from dlcourse.text.formats import TABLE_SUFFIXES, is_table

DATA_SETS = ("rt-sentences", "pang-lee-sample", "mr-polarity", "imdb")


def check_data(value: str, what: str = "DATA") -> str:
    """A named data set, or an existing, non-empty table file; a one-line error otherwise.
    Reads no data."""
    from dlcourse.data import canonical_name

    name = canonical_name(value)
    if name in DATA_SETS:
        return name
    kinds = ", ".join(TABLE_SUFFIXES)
    if not value.strip():  # Path("") is ".", the working folder
        raise DlcourseError(f"{what} is empty; pass a table file ({kinds}) or a data set name "
                            f"({', '.join(DATA_SETS)})")
    path = Path(value).expanduser()
    if not path.exists():
        raise DlcourseError(f"{what} {value!r} is neither a data set ({', '.join(DATA_SETS)}) "
                            f"nor a table file that exists")
    if path.is_dir():
        raise DlcourseError(f"{what} {value} is a directory; pass a table file ({kinds}) or a "
                            f"data set name ({', '.join(DATA_SETS)})")
    if not is_table(path):
        raise DlcourseError(f"{what} {value} is not a table file; pass a {kinds} file with a "
                            "text and a label column")
    check_input_file(path, what)
    return value


def labelled(source: str, table: TableConfig):
    """(train, valid, test) pairs of (texts, labels) of a named set (a part it lacks is None),
    or (the table, None, None)."""
    from dlcourse.classify import data as cdata

    if source in DATA_SETS:
        parts = cdata.load_dataset(source)
        return parts["train"], parts["valid"], parts["test"]
    return cdata.read_labelled(source, table.text_col, table.label_col, table.encoding,
                               table.on_missing), None, None


def check_columns(sources, table: TableConfig) -> None:
    """Refuse a table file among ``sources`` (named data sets and None are skipped) that lacks
    the text or label column, from its header alone: before torch is imported and before any
    row is read, with the message the full read would give."""
    from dlcourse.text.tabular import check_columns as check_header

    for source in sources:
        if source is not None and source not in DATA_SETS:
            check_header(source, table.text_col, table.label_col, encoding=table.encoding)


def model_columns(model_dir: Path) -> TableConfig:
    """The table columns the model was trained on (its metadata), the defaults otherwise."""
    from dlcourse.engine.persist import model_path, read_manifest

    saved = read_manifest(model_path(model_dir)).get("metadata") or {}
    return TableConfig(text_col=saved.get("text_col", "text"),
                       label_col=saved.get("label_col", "label"))


def check_label_column(data: str, labels: list, table: TableConfig) -> None:
    """Refuse a table whose every row has its own label (three rows or more): almost surely the
    text (or an id) column given as --label-col, and no class could be learned from it."""
    from dlcourse.classify.encoding import few
    from dlcourse.text.labels import plain

    distinct = {plain(y) for y in labels}
    if data not in DATA_SETS and len(labels) >= 3 and len(distinct) == len(labels):
        raise DlcourseError(
            f"--label-col {table.label_col!r}: each of the {len(labels)} rows of {data} has its "
            f"own label ({few(labels)}), so there are no classes to learn; name the label "
            "column with --label-col")
    # in the file's order (the library's own check comes after the split, whose positions
    # match no line)
    kinds = [isinstance(y, str) for y in labels]
    if len(set(kinds)) > 1:
        i, j = kinds.index(kinds[0]), kinds.index(not kinds[0])
        raise DlcourseError(f"the labels of {data} mix numbers and strings (labelled row "
                            f"{i + 1} has {labels[i]!r}, row {j + 1} {labels[j]!r}); give one "
                            "kind, all numbers or all strings")
    as_numbers: dict[float, set] = {}
    for y in distinct:
        try:
            as_numbers.setdefault(float(y), set()).add(y)
        except (TypeError, ValueError):
            pass
    alike = next((sorted(map(str, v)) for v in as_numbers.values() if len(v) > 1), None)
    if alike:  # "1" and "1.0": two classes that a reader takes for one
        click.echo(f"note: the labels {' and '.join(map(repr, alike))} of {data} are the same "
                   "number written two ways, and two classes here; write them alike if they "
                   "are one", err=True)


def check_valid_labels(data: str, valid_path: str | None, train_labels: list,
                       valid_labels: list) -> None:
    """Refuse validation labels that no training row has, before training starts (the
    estimator would refuse them too, but after the vocabulary and the vectors)."""
    from dlcourse.classify.encoding import class_indices
    from dlcourse.text import LabelEncoder
    from dlcourse.text.labels import plain

    labels = {plain(y) for y in [*train_labels, *valid_labels]}
    if len(labels) == 1:  # before the split's advice, which would ask for more rows of it
        raise DlcourseError(f"only one class ({labels.pop()!r}) in the labels of {data}; a "
                            "classifier needs at least two")
    if not valid_labels and valid_path is None:  # a validation split that rounded to no row
        raise DlcourseError(
            f"the validation split (10% of {data}, by label) holds no row: {data} has "
            f"{len(train_labels)} labelled rows; give it more rows (3 or more of each label), "
            "or pass --valid FILE")
    classes = LabelEncoder().fit([plain(y) for y in train_labels]).classes_
    if valid_path is not None:
        where = f"--valid {valid_path}"
        advice = f"give --valid only labels that {data} has, or drop those rows"
    elif data in DATA_SETS:
        where, advice = f"the validation split of {data}", "pass --valid FILE with the same labels"
    else:  # the stratified holdout moves a label of one row there only when it must
        where = f"the validation split (10% of {data})"
        advice = "a label with a single row can land there alone: give it more rows, or pass " \
                 "--valid FILE"
    class_indices(valid_labels, classes, where, advice)


def limited(pair, n: int | None, seed: int):
    """``--limit N``: at most ``n`` texts and labels of a (texts, labels) pair, the classes as
    balanced as possible, drawn with ``seed`` (a sorted file's first rows would be one class);
    None, or ``n`` None, stay as they are."""
    if pair is None or n is None or n >= len(pair[0]):
        return pair
    from dlcourse.data.readers import balanced_indices

    keep = balanced_indices([str(y) for y in pair[1]], n, seed)
    return [pair[0][i] for i in keep], [pair[1][i] for i in keep]


def take(pair, n):
    """The first ``n`` texts and labels of a (texts, labels) pair (None stays None)."""
    return None if pair is None else (pair[0][:n], pair[1][:n])


def note_unknown(texts: list[str], unknown: list[int], vocab_size: int) -> None:
    """One note naming the texts without a known word (as `lm generate` notes its unknown
    words): their labels are the model's answer to <unk> alone."""
    from dlcourse.classify.encoding import few

    if not unknown:
        return
    if len(texts) == 1:
        what = f"the text {texts[0][:40]!r} has"
    else:
        # the texts themselves: a row number misleads once blank lines of --file are skipped
        shown = few([texts[i][:40] for i in unknown], most=3)
        what = (f"{len(unknown)} of the {len(texts)} texts ({shown}) "
                f"{'has' if len(unknown) == 1 else 'have'}")
    guess = "the label is a guess" if len(unknown) == 1 else "their labels are guesses"
    click.echo(f"note: {what} no word the model knows ({vocab_size:,} words); it reads only "
               f"<unk> there, so {guess}", err=True)


def read_texts(path: str, reading: TableConfig) -> list[str]:
    """The texts of --file: a table's text column, or a text file's lines. A blank line
    before the last text is a missing text (--on-missing: an error naming it, or skipped with
    a note), so that the predictions stay one per line; blank lines at the end are no texts."""
    from dlcourse.text import load_table, read_text_lines

    if is_table(path):
        return list(load_table(path, text_col=reading.text_col, label_col=None,
                               encoding=reading.encoding, on_missing=reading.on_missing).texts)
    lines = list(read_text_lines(path, reading.encoding))
    while lines and not lines[-1].strip():
        lines.pop()
    blank = [i for i, line in enumerate(lines) if not line.strip()]
    if blank and reading.on_missing == "error":
        raise DlcourseError(f"{path}:{blank[0] + 1}: blank line (no text to classify); fill or "
                            "remove it, or skip blank lines with --on-missing drop")
    if blank:
        click.echo(f"note: skipped {len(blank)} blank line{'s' if len(blank) > 1 else ''} of "
                   f"{path}, so the predictions are fewer than its lines", err=True)
    return [line for line in lines if line.strip()]


def note_training_rows(data: str, name: str, trained_on: str | None) -> None:
    """Say so when ``evaluate`` scores the data the model was trained on, which has no test
    split: every row is scored, the training rows among them."""
    if same_source(data, trained_on, DATA_SETS.__contains__):
        click.echo(f"note: {name} is the data the model was trained on and has no test split: "
                   "all its rows are scored, training rows among them", err=True)
