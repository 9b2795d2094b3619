"""The lab regtest chain: real genesis, real blocks, payments, RBF and forks."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from controlroom.errors import NodeUnavailable, PaymentError
from controlroom.payments.addresses import Network, parse_address
from controlroom.payments.blocks import ParsedBlock, parse_block, parse_transaction
from controlroom.payments.lab.regtest import (
    LAB_START,
    REGTEST_GENESIS_HASH,
    LabChain,
)
from tests.conftest import SHARED_DATA

REGTEST_ADDRESSES = {
    entry["type"]: entry["address"]
    for entry in json.loads(
        (SHARED_DATA / "bitcoin" / "addresses_by_network.json").read_text()
    )["addresses"]
    if entry["chain"] == "regtest"
}
CUSTOMER = REGTEST_ADDRESSES["p2wpkh"]


def _parsed(chain: LabChain, height: int) -> ParsedBlock:
    block_hash = chain.block_hash(height)
    return parse_block(
        chain.raw_block(block_hash), network=Network.REGTEST, expected_hash=block_hash
    )


def test_a_new_chain_holds_only_the_real_regtest_genesis_block() -> None:
    chain = LabChain()

    assert chain.height == 0
    assert chain.tip_hash == REGTEST_GENESIS_HASH
    assert _parsed(chain, 0).transactions[0].is_coinbase
    assert chain.mempool_txids() == []


def test_mined_blocks_pass_every_check_and_chain_onto_each_other() -> None:
    chain = LabChain()

    hashes = chain.mine(3)

    assert chain.height == 3
    assert hashes == [chain.block_hash(h) for h in (1, 2, 3)]
    assert [_parsed(chain, h).prev_hash for h in (1, 2, 3)] == [
        chain.block_hash(h) for h in (0, 1, 2)
    ]


def test_blocks_are_stamped_ten_minutes_apart_from_the_start() -> None:
    chain = LabChain()

    chain.mine(3)

    assert _parsed(chain, 1).time == LAB_START
    assert _parsed(chain, 3).time == LAB_START + timedelta(minutes=20)


def test_the_coinbase_carries_its_height_as_bip34_asks() -> None:
    chain = LabChain()
    chain.mine(20)

    coinbase = parse_transaction(
        chain.raw_transaction(_parsed(chain, 20).transactions[0].txid)
    )

    assert coinbase.is_coinbase
    raw = chain.raw_transaction(coinbase.txid)
    # version(4) + input count(1) + null outpoint(36) + script length(1),
    # then the push of 20: one byte of length, one of value.
    assert raw[42:44] == bytes([0x01, 20])


@pytest.mark.parametrize("kind", sorted(REGTEST_ADDRESSES))
def test_a_payment_pays_every_address_kind_its_own_script(kind: str) -> None:
    chain = LabChain()
    address = REGTEST_ADDRESSES[kind]

    txid = chain.pay([(address, 120_000)])
    chain.mine()

    paid = next(tx for tx in _parsed(chain, 1).transactions if tx.txid == txid)
    script = parse_address(address, network=Network.REGTEST).script_pubkey
    assert paid.outputs[0].script_pubkey.hex() == script
    assert paid.outputs[0].value_sat == 120_000


def test_the_first_block_mined_takes_the_whole_mempool() -> None:
    chain = LabChain()
    first = chain.pay([(CUSTOMER, 1_000)])
    second = chain.pay([(CUSTOMER, 2_000)])

    chain.mine(2)

    assert [tx.txid for tx in _parsed(chain, 1).transactions[1:]] == [first, second]
    assert len(_parsed(chain, 2).transactions) == 1
    assert chain.mempool_txids() == []
    assert chain.transaction_block(first) == chain.block_hash(1)


def test_a_payment_signals_rbf_only_when_asked() -> None:
    chain = LabChain()

    plain = parse_transaction(chain.raw_transaction(chain.pay([(CUSTOMER, 1_000)])))
    bumpable = parse_transaction(
        chain.raw_transaction(chain.pay([(CUSTOMER, 1_000)], rbf=True))
    )

    assert not plain.signals_rbf
    assert bumpable.signals_rbf


def test_a_fee_bump_keeps_inputs_and_outputs_under_a_new_txid() -> None:
    chain = LabChain()
    original = chain.pay([(CUSTOMER, 120_000)], rbf=True)
    before = parse_transaction(chain.raw_transaction(original))

    bumped = chain.replace(original)

    after = parse_transaction(chain.raw_transaction(bumped))
    assert bumped != original
    assert chain.mempool_txids() == [bumped]
    assert after.inputs == before.inputs
    assert after.outputs[0] == before.outputs[0]
    assert after.outputs[1].value_sat < before.outputs[1].value_sat


def test_a_replacement_may_pay_someone_else() -> None:
    chain = LabChain()
    original = chain.pay([(CUSTOMER, 120_000)], rbf=True)

    replacement = chain.replace(
        original, outputs=[(REGTEST_ADDRESSES["p2tr"], 119_000)]
    )

    paid = parse_transaction(chain.raw_transaction(replacement)).outputs[0]
    assert paid.script_pubkey.hex().startswith("5120")
    with pytest.raises(NodeUnavailable, match="knows no transaction"):
        chain.raw_transaction(original)


def test_spending_the_same_outpoint_evicts_the_earlier_transaction() -> None:
    chain = LabChain()
    original = chain.pay([(CUSTOMER, 120_000)])
    spent = parse_transaction(chain.raw_transaction(original)).inputs

    double_spend = chain.pay([(REGTEST_ADDRESSES["p2pkh"], 119_000)], spends=spent)

    assert chain.mempool_txids() == [double_spend]


def test_spending_an_outpoint_already_spent_in_a_block_is_refused() -> None:
    chain = LabChain()
    spent = parse_transaction(chain.raw_transaction(chain.pay([(CUSTOMER, 1)]))).inputs
    chain.mine()

    with pytest.raises(PaymentError, match="already spent in a block"):
        chain.pay([(CUSTOMER, 1)], spends=spent)


def test_a_payment_to_a_mainnet_address_is_refused() -> None:
    chain = LabChain()

    with pytest.raises(PaymentError, match="runs on regtest"):
        chain.pay([("bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv", 1_000)])


def test_only_a_mempool_transaction_can_be_replaced() -> None:
    chain = LabChain()
    txid = chain.pay([(CUSTOMER, 1_000)])
    chain.mine()

    with pytest.raises(PaymentError, match="only an unconfirmed transaction"):
        chain.replace(txid)


def test_a_fork_shares_blocks_up_to_its_height_then_diverges() -> None:
    chain = LabChain()
    chain.mine(5)

    fork = chain.fork(3)
    fork.mine(3)

    assert [fork.block_hash(h) for h in range(4)] == [
        chain.block_hash(h) for h in range(4)
    ]
    assert fork.block_hash(4) != chain.block_hash(4)
    assert fork.height == 6
    assert chain.height == 5
    assert fork.block_height(chain.block_hash(5)) is None


def test_a_fork_takes_back_the_transactions_of_the_blocks_it_left_out() -> None:
    chain = LabChain()
    confirmed = chain.pay([(CUSTOMER, 50_000)])
    chain.mine()
    waiting = chain.pay([(CUSTOMER, 60_000)])

    fork = chain.fork(0)

    assert fork.mempool_txids() == [confirmed, waiting]
    assert fork.transaction_block(confirmed) is None


def test_two_forks_of_one_chain_mine_different_blocks() -> None:
    chain = LabChain()

    first, second = chain.fork(0), chain.fork(0)

    assert first.mine() != second.mine()


def test_unknown_heights_and_hashes_are_not_found() -> None:
    chain = LabChain()

    with pytest.raises(NodeUnavailable, match="no block at height 1"):
        chain.block_hash(1)
    with pytest.raises(NodeUnavailable, match="has no block"):
        chain.raw_block("00" * 32)


def test_the_chain_answers_as_a_payment_node() -> None:
    chain = LabChain(name="lab-eu")
    chain.mine(2)

    tip = chain.tip()

    assert (tip.height, tip.block_hash, tip.headers) == (2, chain.tip_hash, 2)
    assert chain.config.key == "lab-eu"
    assert chain.config.network is Network.REGTEST
