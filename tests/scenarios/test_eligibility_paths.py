"""Who may be admitted: re-admission after leaving, the Youth Union path of a young candidate."""

from __future__ import annotations

from datetime import date

from tests.scenarios.helpers import (
    add_na_la,
    assert_trail_sound,
    candidate_row,
    codes,
    facts,
    refused,
)
from tests.support import add, walk

READMISSION_FILE = [
    ("nominate_for_course", "2025-09-20", {}),
    ("record_awareness_certificate", "2025-10-20", {"certificate_number": "CN-2025-311"}),
    ("complete_file", "2025-12-01", {"application_on": "2025-11-10", "cv_certified_on": "2025-11-20",
                                     "background_verified_on": "2025-11-25"}),
    ("summarise_opinions", "2025-12-15", {}),
]


def _former_member(org, **prior) -> int:
    return add_na_la(
        org, full_name="Quàng Văn Tiến", birth_date=date(1985, 4, 4),
        prior_membership=prior, readmission_request_on=date(2025, 8, 20), readmission_consent_ref="45-CV/TU",
    )


def test_readmission_waits_36_months(org):
    cid = _former_member(org, left_on=date(2023, 1, 10), leave_reason="resigned_hardship")
    walk(org, cid, READMISSION_FILE)

    # 09/01/2026 is 35 whole months after 10/01/2023; the 36th ends on 10/01/2026.
    result = refused(org, cid, "cell_approves", "2026-01-09", approve=4)
    assert codes(result) == {"readmission.too_soon"}
    (failure,) = result.failures
    assert (failure.details["months_since_leaving"], failure.details["required_months"]) == (35, 36)
    assert "294-QĐ/TW" in failure.cite

    walk(org, cid, [("cell_approves", "2026-01-10", {"approve": 4})])
    row = candidate_row(org, cid)
    assert (row["stage"], row["cell_resolution_on"]) == ("grassroots_review", date(2026, 1, 10))
    assert facts(org, cid)["cell_approve"] == 4
    assert_trail_sound(org, cid, "qd294-2025")

    # Left for corruption: never re-admitted, however long ago.
    excluded = _former_member(org, left_on=date(2020, 1, 10), leave_reason="corruption")
    walk(org, excluded, READMISSION_FILE)
    assert codes(refused(org, excluded, "cell_approves", "2026-01-12", approve=4)) == {"readmission.excluded"}

    # Resigned without hardship: excluded as well.
    resigned = _former_member(org, left_on=date(2020, 1, 10), leave_reason="resigned")
    walk(org, resigned, READMISSION_FILE)
    assert codes(refused(org, resigned, "cell_approves", "2026-01-12", approve=4)) == {"readmission.excluded"}

    # Re-admitted once already: not a second time.
    twice = _former_member(org, left_on=date(2020, 1, 10), leave_reason="resigned_hardship", readmitted_before=True)
    walk(org, twice, READMISSION_FILE)
    assert codes(refused(org, twice, "cell_approves", "2026-01-12", approve=4)) == {"readmission.already_once"}

    for other in (excluded, resigned, twice):
        assert candidate_row(org, other)["stage"] == "cell_review"
        assert_trail_sound(org, other, "qd294-2025")


YOUTH_RESOLUTION = {"kind": "youth_union", "body_name": "Ban Chấp hành Đoàn xã Mường Bú",
                    "resolution_ref": "12-NQ/ĐTN", "resolution_on": date(2026, 4, 20)}
PA_CONG_FILE = [
    ("nominate_for_course", "2025-10-01", {}),
    ("record_awareness_certificate", "2025-11-20", {"certificate_number": "CN-2025-402"}),
]
COMPLETE = {"application_on": "2026-05-02", "cv_certified_on": "2026-05-20", "background_verified_on": "2026-05-25"}


def _young_villager(org, sponsors, youth_union_member=True) -> int:
    # Born 20/01/2006: 20 years old in 2026, of Youth Union age, in bản Pá Công which has a Youth Union.
    cid = add(org, full_name="Lường Thị Hoa", gender="nu", birth_date=date(2006, 1, 20),
              youth_union_member=youth_union_member, cell="cb-ban-pa-cong", residence_village="ban-pa-cong",
              listed_on=date(2025, 9, 15), sponsors=sponsors)
    walk(org, cid, PA_CONG_FILE)
    return cid


def test_youth_union_path(org):
    pc01 = {"member": "PC01", "together_since": date(2020, 1, 1), "relation": "residence"}

    # The Youth Union's resolution plus one full member introduce her.
    cid = _young_villager(org, [YOUTH_RESOLUTION, pc01])
    result = walk(org, cid, [("complete_file", "2026-06-01", COMPLETE)])
    assert result.stage_after == "opinions"
    assert facts(org, cid)["application_on"] == date(2026, 5, 2)

    # One full member without the resolution is not enough.
    without = _young_villager(org, [pc01])
    assert codes(refused(org, without, "complete_file", "2026-06-01", **COMPLETE)) == {
        "sponsor.youth_union_resolution_missing"}

    # The member beside the resolution must be a full member: PC06 is probationary since 15/03/2026.
    probationary = _young_villager(org, [YOUTH_RESOLUTION, {"member": "PC06", "together_since": date(2020, 1, 1)}])
    assert codes(refused(org, probationary, "complete_file", "2026-06-01", **COMPLETE)) == {"sponsor.not_full_member"}

    # Of Youth Union age where the Union exists, she must be a member of it.
    outsider = _young_villager(org, [YOUTH_RESOLUTION, pc01], youth_union_member=False)
    assert codes(refused(org, outsider, "complete_file", "2026-06-01", **COMPLETE)) == {
        "sponsor.youth_union_membership_required"}

    # The cell vote: 5 full members (PC06 is not yet full); PC05, on temporary transfer, is absent.
    walk(org, cid, [("summarise_opinions", "2026-06-10", {})])
    assert codes(refused(org, cid, "cell_approves", "2026-06-16", approve=3)) == {"vote.below_two_thirds"}     # 9 < 10
    assert codes(refused(org, cid, "cell_approves", "2026-06-16", approve=3, excused_absent=2)) == {
        "vote.too_many_excused"}                    # only PC05 may be left out of the count
    walk(org, cid, [("cell_approves", "2026-06-16", {"approve": 3, "excused_absent": 1})])               # 9 >= 8
    f = facts(org, cid)
    assert (f["cell_approve"], f["cell_full_members"], f["cell_excused_absent"]) == (3, 5, 1)
    assert candidate_row(org, cid)["stage"] == "grassroots_review"

    for c in (cid, without, probationary, outsider):
        assert_trail_sound(org, c, "qd294-2025")
