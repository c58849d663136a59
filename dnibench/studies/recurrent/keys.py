"""The recurrent kinds' suite keys (``rnn`` and ``copy``)."""

from __future__ import annotations

from dnibench.studies.keys import ONE_PROCESS_TIMEOUT_KEY, Key
from dnibench.studies.recurrent.config import (
    COPY_TASKS,
    CORPUS_NAMES,
    RECURRENT_DEVICES,
    RECURRENT_MODES,
)

# Recurrent benchmarks (dnibench.studies.recurrent): "rnn" is character language modelling,
# "copy" the copy / repeat-copy curriculum; both train in chunks of `truncation` steps.
RECURRENT_KEYS = (
    Key("mode", "str", choices=RECURRENT_MODES),
    Key("truncation", "int", minimum=1, maximum=10_000),
    Key("window", "int", minimum=1, maximum=10_000, note="tbptt-window's backprop steps"),
    Key("aux", "bool"),
    Key("width", "int", minimum=1),
    Key("batch_size", "int", minimum=1),
    Key("lr", "float", above=0),
    Key("clip", "float", minimum=0),
    Key("chars", "int", minimum=1),
    Key("eval_every", "int", minimum=1),
    Key("seed", "int"),
    Key("seeds", "ints", minimum=0, note="one seed per repeat, e.g. [0, 1, 2, 3, 4]"),
    Key("threads", "threads", minimum=1),
    Key(
        "device",
        "str",
        choices=RECURRENT_DEVICES,
        note="cuda needs a GPU (not applicable without one), auto takes one when present",
    ),
    ONE_PROCESS_TIMEOUT_KEY,
    Key("sg_hidden", "int", minimum=0, maximum=2),
    Key("sg_width", "int", minimum=1),
    Key("sg_lr", "float", above=0),
    Key("sg_scale", "float", minimum=0),
    Key("sg_gamma", "float", minimum=0, maximum=1),
    Key("aux_weight", "float", minimum=0),
)
RNN_KEYS = (
    *RECURRENT_KEYS,
    Key(
        "data",
        "str",
        choices=CORPUS_NAMES,
        note="pystdlib needs no file, ptb reads data_dir or $DNIBENCH_PTB_DIR, text reads "
        "text_path (or dnibench run --data-dir / --text-path)",
    ),
    Key("data_dir", "str"),
    Key("text_path", "str"),
    Key("split", "float", above=0, maximum=0.99),
    Key("min_count", "int", minimum=1),
    Key("eval_chars", "int", minimum=100),
    Key("target_bpc", "float", above=0),
)
COPY_KEYS = (
    *RECURRENT_KEYS,
    Key("task", "str", choices=COPY_TASKS),
    Key("symbols", "int", minimum=2, maximum=64),
    Key("max_repeats", "int", minimum=1, maximum=10),
    Key("solve_bits", "float", above=0),
    Key("solve_window", "int", minimum=1),
)


__all__ = ["COPY_KEYS", "RECURRENT_KEYS", "RNN_KEYS"]
