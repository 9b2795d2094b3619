"""The analysts' notebooks: committed clean, and they run on a played day."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlroom.db import create_db_engine
from controlroom.demo.simulator import run_simulation
from controlroom.demo.world import seed_demo_world
from controlroom.orders.models import Parcel, Party

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
PLOTLY_FIGURE = "application/vnd.plotly.v1+json"
# ipykernel's own "python3" spec starts the interpreter running the suite, so
# the notebooks see the same environment without a hand-installed kernel.
KERNEL = "python3"
CELL_TIMEOUT_SECONDS = 120
DEMO_DAY = date(2026, 12, 4)


def _run(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT_SECONDS,
        resources={"metadata": {"path": str(folder)}},
    )
    return client.execute()


def _outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [out for cell in notebook.cells for out in cell.get("outputs", [])]


def _numbers(array: list[float] | dict[str, str]) -> np.ndarray:
    # Plotly 6 sends numeric arrays base64-encoded as {"dtype", "bdata"}.
    if isinstance(array, dict):
        raw = base64.b64decode(array["bdata"])
        return np.frombuffer(raw, dtype=np.dtype(array["dtype"]))
    return np.asarray(array)


@pytest.fixture(scope="module")
def played_demo_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo world seeded and its day played fast, named by the setting."""
    folder = tmp_path_factory.mktemp("played_demo_day")
    url = f"sqlite:///{folder / 'controlroom.sqlite3'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CONTROLROOM_DATA_DIR", str(folder / "data"))
        env.delenv("CONTROLROOM_ANALYTICS_KEY", raising=False)
        engine = create_db_engine(url)
        seed_demo_world(engine, day=DEMO_DAY)
        run_simulation(engine, speed=60, fast=True)
        engine.dispose()
        # The kernel inherits this process's environment, settings included.
        env.setenv("CONTROLROOM_DATABASE_URL", url)
        yield url


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda path: path.stem)
def executed(
    request: pytest.FixtureRequest, played_demo_day: str
) -> nbformat.NotebookNode:
    """A notebook as it ran against the played demo day."""
    notebook = nbformat.read(request.param, as_version=4)
    return _run(notebook, NOTEBOOKS_DIR)


def test_there_are_notebooks_to_check() -> None:
    assert [path.name for path in NOTEBOOKS] == ["parcel_flow.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert [cell.outputs for cell in code_cells] == [[] for _ in code_cells]
    assert {cell.execution_count for cell in code_cells} == {None}
    assert notebook.cells[0].cell_type == "markdown"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_imports_only_the_public_api(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)

    imports = [
        line.split()[1]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if line.startswith(("import ", "from "))
    ]
    allowed = {"pandas", "plotly.express", "controlroom.analytics", "datetime"}
    assert imports
    assert set(imports) <= allowed


def test_notebook_runs_on_a_played_day_and_draws_its_figure(
    executed: nbformat.NotebookNode,
) -> None:
    outputs = _outputs(executed)

    assert [out for out in outputs if out.output_type == "error"] == []
    figures = [
        out["data"][PLOTLY_FIGURE]
        for out in outputs
        if PLOTLY_FIGURE in out.get("data", {})
    ]
    assert figures
    traces = figures[0]["data"]
    assert {"ordered", "paid", "picked_up", "delivered"} <= {t["name"] for t in traces}
    assert max(_numbers(trace["y"]).max() for trace in traces) > 0


def test_notebook_outputs_hold_nothing_personal(
    executed: nbformat.NotebookNode, played_demo_day: str
) -> None:
    engine = create_db_engine(played_demo_day)
    with Session(engine) as session:
        parties = session.execute(select(Party.name, Party.phone, Party.street)).all()
        codes = session.scalars(select(Parcel.code)).all()
    engine.dispose()

    shown = json.dumps([out for out in _outputs(executed)], ensure_ascii=False)
    personal = [text for party in parties for text in party]
    personal += [form for code in codes for form in (code, code.replace("-", ""))]
    assert len(codes) > 20
    assert [text for text in personal if text in shown] == []


def test_notebook_kernel_is_the_interpreter_running_the_suite(
    tmp_path: Path,
) -> None:
    probe = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys; print(sys.prefix)")]
    )

    executed = _run(probe, tmp_path)

    assert executed.cells[0].outputs[0]["text"].strip() == sys.prefix
