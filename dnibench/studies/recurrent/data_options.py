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

from dnibench.errors import UserError
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.lm_bench import ptb_folder

PTB_FILES = ("ptb.char.{split}.txt", "ptb.{split}.txt")


def check_data(name: str, config: RecurrentConfig) -> None:
    """Raise a UserError naming benchmark ``name``'s missing corpus and the fix."""
    if config.kind != "rnn":
        return
    if config.data == "text":
        if config.text_path is None:
            raise UserError(f"benchmark {name!r}: data 'text' needs a file: pass --text-path FILE")
        if not config.text_path.is_file():
            raise UserError(
                f"benchmark {name!r}: text file {config.text_path} does not exist: pass "
                "--text-path naming a readable UTF-8 text file"
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


__all__ = ["check_data"]
