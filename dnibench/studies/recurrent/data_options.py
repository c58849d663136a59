"""Where a recurrent run's text comes from: suite keys, command-line options, the environment.

``dnibench run --text-path FILE`` points every character-LM benchmark at a
plain text file, ``--data-dir DIR`` at a Penn Treebank folder
(:func:`dnibench.suites.rewrites.with_data`); a suite's
``data = "ptb"`` with no ``data_dir`` reads ``$DNIBENCH_PTB_DIR``. Suites
never need a machine's absolute path. :func:`check_data` runs before the
first benchmark, so a missing folder or file fails the command at once with
the path and the files expected, not once per benchmark.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from dnibench.errors import UserError
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.lm_bench import ptb_folder

PTB_FILES = ("ptb.char.{split}.txt", "ptb.{split}.txt")
_CHUNK = 1 << 20


def text_file_problem(path: Path, split: float) -> str | None:
    """What keeps ``path`` from being a corpus (as words after its name), or ``None``.

    It must be a readable regular file of UTF-8 text (no NUL bytes, which only binary
    files hold) long enough that ``split`` leaves every split two characters, as
    :func:`~dnibench.data.corpus.load_text` needs. The file is decoded in
    chunks, so a large corpus costs one read and little memory.
    """
    if path.is_dir():
        return "is a folder, not a file"
    if not path.exists():
        return "does not exist"
    if not path.is_file():
        return "is not a regular file"
    decoder = codecs.getincrementaldecoder("utf-8")()
    characters = 0
    try:
        with path.open("rb") as stream:
            offset = 0
            while chunk := stream.read(_CHUNK):
                if b"\0" in chunk:
                    return f"holds a NUL byte at byte {offset + chunk.index(0)}: it is binary"
                characters += len(decoder.decode(chunk))
                offset += len(chunk)
            characters += len(decoder.decode(b"", final=True))
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    except UnicodeDecodeError as error:
        return f"is not UTF-8 text (byte {offset + error.start} cannot be decoded)"
    if characters == 0:
        return "is empty"
    cut = int(characters * split)
    middle = cut + (characters - cut) // 2
    if cut < 2 or middle - cut < 2 or characters - middle < 2:
        return f"is too short ({characters} characters) to split into train, valid and test"
    return None


def check_data(name: str, config: RecurrentConfig) -> None:
    """Raise a UserError naming benchmark ``name``'s missing corpus and the fix."""
    if config.kind != "rnn":
        return
    if config.data == "text":
        if config.text_path is None:
            raise UserError(f"benchmark {name!r}: data 'text' needs a file: pass --text-path FILE")
        problem = text_file_problem(config.text_path, config.split)
        if problem is not None:
            raise UserError(
                f"benchmark {name!r}: text file {config.text_path} {problem}: pass "
                "--text-path naming a readable, non-empty UTF-8 text file"
            )
    if config.data == "ptb":
        folder = ptb_folder(config.data_dir)
        present = [
            split
            for split in ("train", "valid", "test")
            if any((folder / pattern.format(split=split)).is_file() for pattern in PTB_FILES)
        ]
        if not {"valid", "test"} <= set(present):
            raise UserError(
                f"benchmark {name!r}: PTB folder {folder} holds "
                f"{', '.join(present) or 'no'} split files; it needs ptb.char.train.txt, "
                "ptb.char.valid.txt and ptb.char.test.txt (or the word files ptb.*.txt), or at "
                "least the valid and test files. Pass --data-dir DIR or set DNIBENCH_PTB_DIR"
            )


__all__ = ["check_data", "text_file_problem"]
