"""The tracker outside the demo: node lists, their passwords, the loop, the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from controlroom.cli import run
from controlroom.errors import ConfigurationError
from controlroom.payments.lab.drill import DrillNodes, parse_fault
from controlroom.payments.nodes.base import NodeConfig
from controlroom.payments.tracking.models import TrackedBlock, TrackerProgress
from controlroom.payments.tracking.runner import (
    RoundOutcome,
    build_nodes,
    password_variable,
    read_node_list,
    read_passwords,
    run_tracker,
)


@pytest.fixture
def drill() -> Iterator[DrillNodes]:
    """The three lab nodes on a chain of four blocks, all healthy."""
    nodes = DrillNodes().start()
    nodes.chain.mine(4)
    yield nodes
    nodes.stop()


def owner_only(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_a_password_file_others_can_read_is_refused(tmp_path: Path) -> None:
    secrets = tmp_path / "nodes.passwords"
    secrets.write_text("node-eu=hunter2\n", encoding="utf-8")
    secrets.chmod(0o644)

    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_passwords(secrets)


def test_a_malformed_password_line_is_named_without_repeating_it(
    tmp_path: Path,
) -> None:
    secrets = owner_only(tmp_path / "p", "# lab\nnode-eu=ok\nhunter2-no-key\n")

    with pytest.raises(ConfigurationError, match="Line 3 of") as refused:
        read_passwords(secrets)

    assert "hunter2" not in str(refused.value)


def test_a_core_node_without_a_password_names_where_to_put_it() -> None:
    config = NodeConfig(
        key="node-eu-north",
        url="http://tracker@127.0.0.1:18443",
        kind="core",
        region="eu-north",
        provider="lab",
    )

    with pytest.raises(
        ConfigurationError, match="CONTROLROOM_NODE_PASSWORD_NODE_EU_NORTH"
    ):
        build_nodes([config], passwords={}, environ={})


def test_the_password_variable_of_a_node_key_is_upper_case_with_underscores() -> None:
    assert password_variable("node-ap.southeast") == (
        "CONTROLROOM_NODE_PASSWORD_NODE_AP_SOUTHEAST"
    )


def test_a_missing_node_list_says_what_the_file_should_hold(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"\[\[nodes\]\] entry per"):
        read_node_list(tmp_path / "absent.toml")


def test_the_loop_follows_the_drill_nodes_written_to_files(
    engine: Engine, drill: DrillNodes, tmp_path: Path
) -> None:
    node_list = tmp_path / "lab-nodes.toml"
    secrets = drill.write_files(node_list)
    nodes = build_nodes(
        read_node_list(node_list), passwords=read_passwords(secrets), environ={}
    )
    outcomes: list[RoundOutcome] = []

    def mine_between_rounds(seconds: float) -> None:
        drill.chain.mine()

    rounds = run_tracker(
        engine,
        nodes=nodes,
        every_seconds=5,
        rounds=3,
        start_height=1,
        on_round=outcomes.append,
        sleep=mine_between_rounds,
    )

    assert rounds == 3
    assert [o.error for o in outcomes] == ["", "", ""]
    assert [o.report.height for o in outcomes if o.report] == [4, 5, 6]
    with Session(engine) as session:
        progress = session.get(TrackerProgress, 1)
        blocks = session.scalar(select(func.count()).select_from(TrackedBlock))
    assert progress is not None and progress.block_hash == drill.chain.tip_hash
    assert blocks == 7  # genesis as the anchor, then blocks 1 to 6


def test_a_failed_round_is_reported_and_the_loop_goes_on(engine: Engine) -> None:
    outcomes: list[RoundOutcome] = []

    rounds = run_tracker(
        engine,
        nodes=[],
        every_seconds=1,
        rounds=2,
        on_round=outcomes.append,
        sleep=lambda seconds: None,
    )

    assert rounds == 2
    assert [o.report for o in outcomes] == [None, None]
    assert "Configure at least one payment node" in outcomes[0].error


def test_a_scheduled_fault_takes_its_node_down_only_in_its_window(
    drill: DrillNodes,
) -> None:
    drill.faults = (parse_fault("node-eu-north:down:10:20"),)

    before = drill.apply_faults(5)
    during = drill.apply_faults(12)
    after = drill.apply_faults(20)

    assert (before, during, after) == ([], ["node-eu-north down"], [])
    assert drill.servers["node-eu-north"].faults.down is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("node-eu-north:down:60", "NODE:KIND:FROM:UNTIL"),
        ("node-mars:down:1:2", "no lab node 'node-mars'"),
        ("node-eu-north:explode:1:2", "not 'explode'"),
        ("node-eu-north:down:soon:later", "seconds into the drill"),
        ("node-eu-north:down:9:3", "must start before it ends"),
    ],
)
def test_a_malformed_fault_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_fault(text)


def test_the_nodes_command_tells_which_nodes_are_trusted(
    drill: DrillNodes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node_list = tmp_path / "lab-nodes.toml"
    secrets = drill.write_files(node_list)
    drill.servers["node-us-east"].faults.down = True

    with pytest.raises(SystemExit) as exit:
        run(
            [
                "payments",
                "nodes",
                "--nodes",
                str(node_list),
                "--passwords",
                str(secrets),
            ]
        )

    shown = capsys.readouterr().out
    assert exit.value.code in (0, None)
    rows = {line.split()[1]: line for line in shown.splitlines() if "│ node-" in line}
    assert "yes" in rows["node-eu-north"]
    assert "no" in rows["node-us-east"]


def test_the_nodes_command_fails_when_no_node_can_be_trusted(
    drill: DrillNodes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node_list = tmp_path / "lab-nodes.toml"
    secrets = drill.write_files(node_list)
    for server in drill.servers.values():
        server.faults.down = True

    with pytest.raises(SystemExit) as exit:
        run(
            [
                "payments",
                "nodes",
                "--nodes",
                str(node_list),
                "--passwords",
                str(secrets),
            ]
        )

    assert exit.value.code == 1
    assert "No payment node can be trusted now" in capsys.readouterr().err


def test_an_error_quoting_toml_is_printed_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run(["payments", "nodes", "--nodes", str(tmp_path / "absent.toml")])

    assert "[[nodes]] entry" in capsys.readouterr().err
