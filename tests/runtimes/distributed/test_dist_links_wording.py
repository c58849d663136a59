"""A receive that times out says, in plain words, who waited for what from whom."""

from __future__ import annotations

import pytest
import torch

from dnibench.runtimes.distributed.links import NeighbourLinks, PendingRecv, StageTimeout


class _NeverArrives:
    def wait(self, timeout: object) -> None:
        raise RuntimeError("timed out")

    def is_completed(self) -> bool:
        return False


def test_a_timed_out_receive_names_the_stage_waited_on() -> None:
    links = NeighbourLinks(0, 2, 3.0, torch.device("cpu"))
    pending = PendingRecv(
        work=_NeverArrives(),  # type: ignore[arg-type]
        buffer=torch.empty(1),
        what="the gradient of microbatch 20",
        peer=1,
    )
    with pytest.raises(StageTimeout) as timeout:
        links.wait(pending)
    message = str(timeout.value)
    assert "no the" not in message
    assert message.startswith("stage 0 did not get the gradient of microbatch 20 from stage 1")
    assert "waited up to 3 s" in message
