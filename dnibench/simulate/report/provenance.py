"""Which machines a simulation report speaks for: its own and its source runs'.

A simulation measures nothing, yet its report is only readable with two
machines in view: the one that ran the simulator (to reproduce the report
exactly: same code, same torch) and the one that ran each source run (the
costs, hence every prediction, describe that machine, not this one). The
first is written as the report's fingerprint; the source runs' own
fingerprints are copied into its config under
``source_fingerprints``, so the report stays readable after the source runs
are gone, and both appear in the report's Environment table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dnibench.bench.fingerprint import fingerprint
from dnibench.errors import UserError
from dnibench.report.tables import Table
from dnibench.rundir import writer
from dnibench.rundir.layout import CONFIG, FINGERPRINT
from dnibench.rundir.reader import has_fingerprint, read_fingerprint

__all__ = ["Provenance", "SourceRun", "read_source_fingerprint", "simulation_fingerprint"]

#: What the fingerprint's ``backend`` says for a simulation: no process group ever existed.
SIMULATION_BACKEND = "simulation"
_SHORT_COMMIT = 12


def simulation_fingerprint() -> Mapping[str, object]:
    """This machine's fingerprint, marked as a simulation (no backend, no world size)."""
    finger = fingerprint(backend=SIMULATION_BACKEND, world_size=None)
    finger["world_size_note"] = "a simulation runs in one process; K is simulated, not launched"
    return finger


def read_source_fingerprint(run_dir: Path) -> tuple[Mapping[str, object] | None, str]:
    """(the run's fingerprint, '') or (None, why there is none)."""
    if not has_fingerprint(Path(run_dir)):
        return None, f"{Path(run_dir).name} has no {FINGERPRINT}"
    try:
        loaded = read_fingerprint(run_dir)
    except UserError as err:
        return None, str(err)
    if set(loaded) == {"fingerprint"}:  # the reader wraps a file that is not an object
        return None, f"{Path(run_dir) / FINGERPRINT} does not hold a JSON object"
    return loaded, ""


@dataclass(frozen=True)
class SourceRun:
    """A run a simulation read (``role``: calibration run, target run) and its fingerprint."""

    role: str
    path: Path
    fingerprint: Mapping[str, object] | None
    note: str = ""

    @classmethod
    def read(cls, role: str, path: Path) -> SourceRun:
        finger, note = read_source_fingerprint(path)
        return cls(role, Path(path), finger, note)


def _commit(finger: Mapping[str, object]) -> str:
    commit = finger.get("git_commit")
    if not commit:
        return "unknown"
    dirty = " (dirty)" if finger.get("git_dirty") else ""
    return f"{str(commit)[:_SHORT_COMMIT]}{dirty}"


def _cell(value: object) -> str:
    return "—" if value in (None, "") else str(value)


def _machine_cells(finger: Mapping[str, object]) -> list[str]:
    return [
        _cell(finger.get("cpu")),
        _cell(finger.get("cores")),
        _cell(finger.get("gpu")) if finger.get("gpu") else "none",
        _cell(finger.get("torch")),
        _commit(finger),
    ]


@dataclass
class Provenance:
    """The simulating machine's fingerprint and the source runs', for config, file and report."""

    simulation: Mapping[str, object]
    sources: list[SourceRun] = field(default_factory=list)

    @classmethod
    def collect(cls, sources: list[tuple[str, Path]]) -> Provenance:
        """Fingerprint this machine and read each ``(role, run_dir)``'s fingerprint."""
        return cls(simulation_fingerprint(), [SourceRun.read(r, p) for r, p in sources])

    def source_fingerprints(self) -> dict[str, Mapping[str, object]]:
        """Run name -> its fingerprint, or ``{"note": why none}``; a clashing name keys by path."""
        out: dict[str, Mapping[str, object]] = {}
        seen: set[Path] = set()
        for source in self.sources:
            if source.path.resolve() in seen:  # the same run in two roles
                continue
            seen.add(source.path.resolve())
            key = source.path.name if source.path.name not in out else str(source.path)
            found = source.fingerprint
            out[key] = found if found is not None else {"note": source.note}
        return out

    def write(self, out: Path) -> Path:
        """Write the simulating machine's fingerprint into ``out``; returns its path."""
        return writer.write_fingerprint(out, self.simulation)

    def table(self) -> Table:
        """One row per machine: this simulation's, then each source run's."""
        table = Table(
            ["machine of", "run", "CPU", "cores", "GPU", "torch", "git commit"],
            align=["l", "l", "l", "r", "l", "l", "l"],
        )
        table.rows.append(["this simulation", "—", *_machine_cells(self.simulation)])
        for source in self.sources:
            if source.fingerprint is None:
                table.rows.append([source.role, source.path.name, source.note, *["—"] * 4])
            else:
                table.rows.append(
                    [source.role, source.path.name, *_machine_cells(source.fingerprint)]
                )
        return table


#: The sentence above the Environment table, saying which machine the numbers describe.
ENVIRONMENT_NOTE = (
    "Predictions describe the machine of the calibration run (its spans give every cost); "
    "the simulating machine only matters for reproducing this report. Full fingerprints: "
    f"{FINGERPRINT} (this simulation) and {CONFIG}'s source_fingerprints (the runs read)."
)
