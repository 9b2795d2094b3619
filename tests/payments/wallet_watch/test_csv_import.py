"""Reading wallet and explorer CSV exports: whole files or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controlroom.errors import ImportRefused
from controlroom.payments.addresses import Network
from controlroom.payments.wallet_watch.amounts_and_times import AmountUnit
from controlroom.payments.wallet_watch.csv_import import (
    MAX_BYTES,
    MAX_ROWS,
    read_observations,
)

A0 = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"  # BIP84 vector, index 0
A1 = "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"  # BIP84 vector, index 1
TESTNET = "tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54"
TXID = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
MAINNET = {Network.MAINNET}


def read(text: str, **options: object) -> object:
    return read_observations(
        text.encode(), file_name="export.csv", networks=MAINNET, **options
    )


def test_an_explorer_export_in_btc_with_iso_times_is_read_exactly() -> None:
    text = (
        "Date,Address,Amount (BTC),Txid,Label\n"
        f"2026-12-04T10:05:00Z,{A0},0.00055000,{TXID.upper()},shop\n"
        f"2026-12-04T11:15:00+01:00,{A1},0.00000001,,\n"
    )

    parsed = read_observations(text.encode(), file_name="export.csv", networks=MAINNET)

    assert [(r.row, r.address, r.amount_sat, r.txid) for r in parsed.rows] == [
        (2, A0, 55_000, TXID),
        (3, A1, 1, None),
    ]
    assert [r.observed_at for r in parsed.rows] == [
        datetime(2026, 12, 4, 10, 5, tzinfo=UTC),
        datetime(2026, 12, 4, 10, 15, tzinfo=UTC),
    ]


def test_a_wallet_export_in_sat_with_local_times_uses_the_stated_zone() -> None:
    text = f"receiving address;value_sat;time\n{A0};55000;2026-12-04 11:05\n"

    parsed = read_observations(
        text.encode(), file_name="w.csv", networks=MAINNET, zone="Europe/Oslo"
    )

    [row] = parsed.rows
    assert row.amount_sat == 55_000
    assert row.observed_at == datetime(2026, 12, 4, 10, 5, tzinfo=UTC)


def test_outgoing_lines_are_skipped_and_said_so() -> None:
    text = f"address,amount,date (UTC)\n{A0},-0.001,2026-12-04 10:00\n"

    parsed = read_observations(text.encode(), file_name="w.csv", networks=MAINNET)

    assert parsed.rows == ()
    assert parsed.skipped == ("Row 2: outgoing (-0.001), skipped.",)


def test_every_bad_row_is_named_and_nothing_is_read() -> None:
    text = (
        "address,amount_btc,date,txid\n"
        f"{A0},0.00055,2026-12-04T10:05Z,\n"
        f"{A1},0.000550001,2026-12-04T10:06Z,\n"
        f"{TESTNET},0.001,2026-12-04T10:07Z,\n"
        f"{A0},0.001,2026-12-04 10:08,\n"
        f"{A0},0.001,2026-12-04T10:09Z,abc\n"
        f'{A0},"0,001",04/12/2026,\n'
    )

    with pytest.raises(ImportRefused, match="not even in part: 5 rows") as refused:
        read_observations(text.encode(), file_name="w.csv", networks=MAINNET)

    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "Row 3, amount",
        "Row 4, address",
        "Row 5, time",
        "Row 6, txid",
        "Row 7, amount",
        "Row 7, time",
    ]
    assert "has 9 decimals; bitcoin has 8" in problems[0]
    assert "signet address; the control room runs on mainnet" in problems[1]
    assert "names no time zone; state the zone" in problems[2]
    assert "is not a txid (64 hexadecimal characters)" in problems[3]
    assert "has a comma" in problems[4]


def test_a_file_without_an_amount_column_is_refused_naming_its_headers() -> None:
    with pytest.raises(ImportRefused, match=r"has no amount column.*'Label'"):
        read(f"address,date,Label\n{A0},2026-12-04T10:05Z,x\n")


def test_two_columns_that_could_be_the_amount_are_refused() -> None:
    with pytest.raises(ImportRefused, match="several columns could be the amount"):
        read(f"address,amount,value,date\n{A0},1,2,2026-12-04T10:05Z\n")


def test_whole_numbers_without_a_unit_are_refused_unless_the_unit_is_chosen() -> None:
    text = f"address,amount,date\n{A0},55000,2026-12-04T10:05Z\n"

    with pytest.raises(ImportRefused, match="could be BTC or sat"):
        read(text)
    parsed = read_observations(
        text.encode(), file_name="w.csv", networks=MAINNET, unit=AmountUnit.SAT
    )
    assert parsed.rows[0].amount_sat == 55_000


def test_a_file_too_large_or_too_long_is_refused_before_reading() -> None:
    with pytest.raises(ImportRefused, match="split the file"):
        read_observations(b"x" * (MAX_BYTES + 1), file_name="big.csv", networks=MAINNET)
    rows = "".join(f"{A0},0.001,2026-12-04T10:05Z\n" for _ in range(MAX_ROWS + 1))
    with pytest.raises(ImportRefused, match="Split the file"):
        read(f"address,amount,date\n{rows}")


def test_a_file_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(ImportRefused, match="not UTF-8"):
        read_observations(b"address\xff\xfe", file_name="x.csv", networks=MAINNET)


def test_an_electrum_style_history_export_is_read_by_its_headers() -> None:
    text = (
        "transaction_hash,label,confirmations,value,fiat_value,fee,timestamp,"
        "Address label,Receiving address,Block height\n"
        f"{TXID},shop,3,+0.00120000,80.1,,2026-12-04 11:05:00,,{A0},702349\n"
    )

    parsed = read_observations(
        text.encode(), file_name="electrum.csv", networks=MAINNET, zone="Europe/Oslo"
    )

    [row] = parsed.rows
    assert (row.txid, row.address, row.amount_sat) == (TXID, A0, 120_000)
    assert row.observed_at == datetime(2026, 12, 4, 10, 5, tzinfo=UTC)


def test_a_date_without_a_time_of_day_is_refused() -> None:
    with pytest.raises(ImportRefused, match="gives no time of day"):
        read(f"address,amount_btc,date\n{A0},0.001,2026-12-04\n")
