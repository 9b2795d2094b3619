"""Which nodes the tracker trusts: the rules alone, no nodes and no database."""

from __future__ import annotations

from controlroom.payments.nodes.base import ChainTip
from controlroom.payments.tracking.trust import (
    Distrust,
    NodeReading,
    comparison_heights,
    judge_nodes,
)


def chain(prefix: str, height: int) -> dict[int, str]:
    """Hashes of a made-up chain, one per height, named after the chain."""
    return {h: f"{prefix}{h:062d}" for h in range(height + 1)}


def reading(
    key: str,
    hashes: dict[int, str],
    *,
    height: int,
    headers: int | None = None,
    response_ms: float = 40.0,
    asked: list[int] | None = None,
) -> NodeReading:
    """A node at ``height`` that answered with its hashes at the asked heights."""
    tip = ChainTip(height, hashes[height], headers or height, response_ms)
    heights = asked if asked is not None else [height]
    return NodeReading(key, tip, hashes={h: hashes[h] for h in heights if h <= height})


def test_nodes_in_step_are_all_trusted() -> None:
    main = chain("aa", 110)
    readings = [reading(k, main, height=110) for k in ("eu", "us", "ap")]

    judgement = judge_nodes(readings)

    assert [v.trusted for v in judgement.verdicts] == [True, True, True]
    assert judgement.best_height == 110
    assert judgement.verdict("eu").reason == "is in step with the others"


def test_a_node_stuck_six_blocks_behind_is_not_trusted() -> None:
    main = chain("aa", 106)
    asked = [100, 106]
    readings = [
        reading("eu", main, height=100, asked=asked),
        reading("us", main, height=106, asked=asked),
        reading("ap", main, height=106, asked=asked),
    ]

    judgement = judge_nodes(readings)

    stuck = judgement.verdict("eu")
    assert (stuck.trusted, stuck.problem) == (False, Distrust.LAGGING)
    assert "lags the best tip by 6 blocks" in stuck.reason
    assert [v.key for v in judgement.trusted] == ["us", "ap"]


def test_a_node_two_blocks_behind_is_still_trusted() -> None:
    main = chain("aa", 106)
    asked = [104, 106]
    readings = [
        reading("eu", main, height=104, asked=asked),
        reading("us", main, height=106, asked=asked),
    ]

    judgement = judge_nodes(readings, max_lag=2)

    assert judgement.verdict("eu").trusted


def test_a_node_on_another_chain_is_not_trusted() -> None:
    main = chain("aa", 106)
    other = {**main, **{h: f"bb{h:062d}" for h in range(104, 107)}}
    asked = [106]
    readings = [
        reading("eu", main, height=106, asked=asked),
        reading("us", other, height=106, asked=asked),
        reading("ap", main, height=106, asked=asked),
    ]

    judgement = judge_nodes(readings)

    verdict = judgement.verdict("us")
    assert (verdict.trusted, verdict.problem) == (False, Distrust.OTHER_CHAIN)
    assert "another chain: at height 106" in verdict.reason
    assert judgement.active_hashes[106] == main[106]


def test_a_tie_between_two_chains_trusts_neither() -> None:
    main = chain("aa", 106)
    other = {**main, 106: "bb" + "0" * 62}
    readings = [
        reading("eu", main, height=106),
        reading("us", other, height=106),
    ]

    judgement = judge_nodes(readings)

    assert judgement.trusted == ()
    assert {v.problem for v in judgement.verdicts} == {Distrust.TIE}
    assert "no majority decides" in judgement.verdict("eu").reason


def test_a_single_reachable_node_is_trusted_with_a_warning() -> None:
    main = chain("aa", 106)
    readings = [
        reading("eu", main, height=106),
        NodeReading("us", None, "connection refused"),
    ]

    judgement = judge_nodes(readings)

    assert judgement.verdict("eu").trusted
    assert "nothing cross-checks it" in judgement.verdict("eu").reason
    down = judgement.verdict("us")
    assert (down.trusted, down.problem) == (False, Distrust.DOWN)
    assert down.reason == "is down: connection refused"


def test_a_syncing_node_is_not_trusted_even_at_the_best_height() -> None:
    main = chain("aa", 106)
    readings = [
        reading("eu", main, height=106, headers=870_000),
        reading("us", main, height=106),
        reading("ap", main, height=106),
    ]

    judgement = judge_nodes(readings)

    verdict = judgement.verdict("eu")
    assert (verdict.trusted, verdict.problem) == (False, Distrust.SYNCING)
    assert "headers to 870,000 but blocks only to 106" in verdict.reason


def test_a_slow_node_stays_trusted_but_degraded() -> None:
    main = chain("aa", 106)
    readings = [
        reading("eu", main, height=106, response_ms=4_500),
        reading("us", main, height=106),
    ]

    judgement = judge_nodes(readings, slow_ms=2_000)

    verdict = judgement.verdict("eu")
    assert (verdict.trusted, verdict.degraded) == (True, True)
    assert "answers slowly (4,500 ms" in verdict.reason


def test_one_node_claiming_a_far_higher_tip_does_not_outvote_the_majority() -> None:
    main = chain("aa", 106)
    liar = {**main, 900: "cc" + "0" * 62}
    asked = [106, 900]
    readings = [
        reading("eu", main, height=106, asked=asked),
        reading("us", main, height=106, asked=asked),
        reading("ap", liar, height=900, asked=asked),
    ]

    judgement = judge_nodes(readings)

    assert judgement.best_height == 106
    assert [v.key for v in judgement.trusted] == ["eu", "us"]
    assert judgement.verdict("ap").problem is Distrust.AHEAD


def test_every_node_down_leaves_none_trusted() -> None:
    readings = [NodeReading(k, None, "timed out") for k in ("eu", "us")]

    judgement = judge_nodes(readings)

    assert judgement.trusted == ()
    assert judgement.best_height is None


def test_nodes_are_compared_at_each_distinct_tip() -> None:
    tips = [ChainTip(h, "x" * 64, h, 1.0) for h in (106, 100, 106)]

    assert comparison_heights(tips) == [100, 106]
