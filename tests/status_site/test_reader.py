"""Reading a built site back by hash, as a visitor's browser does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from controlroom.errors import PackageCodeError, StatusSiteError
from controlroom.status_site.reader import look_up, preview_html, read_bundle_info
from tests.overview.small_day import NOW
from tests.status_site.conftest import StatusDay


def test_a_code_typed_in_lower_case_with_hyphens_is_found(
    status_day: StatusDay, site: Path
) -> None:
    info = read_bundle_info(site)
    assert info is not None
    code = status_day.codes["TROMSO"]

    answer = look_up(info, code.lower())

    assert answer.code == code
    assert answer.record is not None
    assert (answer.record.status, answer.record.city) == ("picked_up", "Tromsø")
    assert answer.group_file.startswith("p/") and len(answer.group_file) == 9


def test_a_typo_says_typo_and_an_unknown_code_says_not_found(site: Path) -> None:
    info = read_bundle_info(site)
    assert info is not None

    with pytest.raises(PackageCodeError, match="typo"):
        look_up(info, "4KHK-Y80Z-DS7F")
    assert look_up(info, "7KQ2-9XWM-4TCZ").record is None


def test_the_site_is_stale_only_past_its_limit(site: Path) -> None:
    info = read_bundle_info(site)
    assert info is not None

    assert info.generated_at == NOW
    assert not info.is_stale(NOW + timedelta(minutes=30))
    assert info.is_stale(NOW + timedelta(minutes=31))


def test_a_folder_never_built_reads_as_none_and_a_foreign_one_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "other").mkdir()

    assert read_bundle_info(tmp_path / "missing") is None
    with pytest.raises(StatusSiteError, match="does not hold a status site"):
        read_bundle_info(tmp_path / "other")


def test_the_preview_inlines_the_style_and_leaves_out_the_script(site: Path) -> None:
    info = read_bundle_info(site)
    assert info is not None

    page = preview_html(info)

    assert "<style>" in page and "<script" not in page
    assert "Payments are slow" in page
