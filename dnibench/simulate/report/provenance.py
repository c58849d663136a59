"""Which machines a simulation report speaks for: its own and its source runs'.

A simulation measures nothing, yet its report is only readable with two
machines in view: the one that ran the simulator (to reproduce the report
exactly: same code, same torch) and the one that ran each source run (the
costs, hence every prediction, describe that machine, not this one). The
first is written as the report's ``fingerprint.json``; the source runs' own
fingerprints are copied into its ``config.json`` under
``source_fingerprints``, so the report stays readable after the source runs
are gone, and both appear in the report's Environment table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnibench.bench.fingerprint import fingerprint
from dnibench.report.tables import Table

__all__ = ["Provenance", "SourceRun", "read_source_fingerprint", "simulation_fingerprint"]

#: What the fingerprint's ``backend`` says for a simulation: no process group ever existed.
SIMULATION_BACKEND = "simulation"
_SHORT_COMMIT = 12


def simulation_fingerprint() -> dict[str, Any]:
    """This machine's fingerprint, marked as a simulation (no backend, no world size)."""
    finger = fingerprint(backend=SIMULATION_BACKEND, world_size=None)
    finger["world_size_note"] = "a simulation runs in one process; K is simulated, not launched"
    return finger


def read_source_fingerprint(run_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """(the run's fingerprint.json content, '') or (None, why there is none)."""
    path = Path(run_dir) / "fingerprint.json"
    if not path.is_file():
        return None, f"{Path(run_dir).name} has no fingerprint.json"
    try:
        loaded = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"{path} is not readable JSON ({err})"
    if not isinstance(loaded, dict):
        return None, f"{path} does not hold a JSON object"
    return loaded, ""


@dataclass(frozen=True)
class SourceRun:
    """A run a simulation read (``role``: calibration run, target run) and its fingerprint."""

    role: str
    path: Path
    fingerprint: dict[str, Any] | None
    note: str = ""

    @classmethod
    def read(cls, role: str, path: Path) -> SourceRun:
        finger, note = read_source_fingerprint(path)
        return cls(role, Path(path), finger, note)


def _commit(finger: dict[str, Any]) -> str:
    commit = finger.get("git_commit")
    if not commit:
        return "unknown"
    dirty = " (dirty)" if finger.get("git_dirty") else ""
    return f"{str(commit)[:_SHORT_COMMIT]}{dirty}"


def _cell(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def _machine_cells(finger: dict[str, Any]) -> list[str]:
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

    simulation: dict[str, Any]
    sources: list[SourceRun] = field(default_factory=list)

    @classmethod
    def collect(cls, sources: list[tuple[str, Path]]) -> Provenance:
        """Fingerprint this machine and read each ``(role, run_dir)``'s fingerprint."""
        return cls(simulation_fingerprint(), [SourceRun.read(r, p) for r, p in sources])

    def source_fingerprints(self) -> dict[str, dict[str, Any]]:
        """Run name -> its fingerprint, or ``{"note": why none}``; a clashing name keys by path."""
        out: dict[str, dict[str, Any]] = {}
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
        """Write the simulating machine's ``fingerprint.json`` into ``out``; returns its path."""
        path = out / "fingerprint.json"
        path.write_text(json.dumps(self.simulation, indent=2))
        return path

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
    "fingerprint.json (this simulation) and config.json's source_fingerprints (the runs read)."
)
