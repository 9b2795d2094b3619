"""``controlroom cluster``: the board and the fence from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.cli import run


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit:
        run(list(args))
    captured = capsys.readouterr()
    return int(exit.value.code or 0), captured.out, captured.err


def test_the_board_prints_an_unreachable_member_without_failing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = invoke(
        capsys, "cluster", "board", "postgresql+psycopg://ops:s3cret@127.0.0.1:1/x"
    )

    assert code == 0
    assert "unreachable" in out
    assert "s3cret" not in out


def test_fencing_a_folder_that_is_not_a_data_folder_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = invoke(
        capsys, "cluster", "fence", str(tmp_path), "--new-primary", "host=127.0.0.1"
    )

    assert code == 1
    assert err.startswith("Error: ")
    assert "not a PostgreSQL data folder" in err
    assert len(err.strip().splitlines()) == 1


def test_fencing_a_stopped_data_folder_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "PG_VERSION").write_text("15\n")

    code, out, _ = invoke(
        capsys, "cluster", "fence", str(tmp_path), "--new-primary", "host=127.0.0.1"
    )

    assert code == 0
    assert "Fenced" in out
    assert (tmp_path / "standby.signal").exists()
