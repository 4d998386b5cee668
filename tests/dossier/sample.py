"""A complete file as the forms see it (the shape `models.dossier.data.gather` returns), with every fact known.

It goes further than any one real file so that every template renders: it has both union
resolutions, an intermediate committee and a grassroots committee. Tests that need a gap copy
it and remove what they need missing.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any


def _unit(uid: str, name: str, kind: str, label: str, committee: str, size: int | None = None) -> dict[str, Any]:
    return {"id": uid, "name": name, "name_upper": name.upper(), "kind": kind, "kind_label": label,
            "committee": committee, "committee_upper": committee.upper(), "committee_size": size}


SAMPLE: dict[str, Any] = {
    "candidate_id": 7,
    "ruleset": {"version": "qd294-2025", "title": "Quy định 294-QĐ/TW và Hướng dẫn 06-HD/TW"},
    "stage": "full_member",
    "person": {
        "full_name": "Vì Thị Ngọc Ánh", "full_name_upper": "VÌ THỊ NGỌC ÁNH", "gender": "Nữ",
        "birth_date": date(1998, 3, 9), "ethnicity": "Thái", "religion": "không", "education": "12/12",
        "education_exemption": None, "qualification": "Cao đẳng chế biến chè", "occupation": "Công nhân",
        "residence": "Bản Nà La", "work_unit": "Công ty Cổ phần Chè Mường Bú",
        "youth_union_member": True, "trade_union_member": True, "readmission": False, "prior_left_on": None,
    },
    "org": {
        "cell": _unit("cb-doi-che-1", "Chi bộ Đội chè số 1", "cell", "Chi bộ", "Chi bộ Đội chè số 1"),
        "cell_superior": _unit("dbbp-san-xuat", "Đảng bộ bộ phận Khối sản xuất", "intermediate_committee",
                               "Đảng bộ bộ phận", "Đảng ủy bộ phận Khối sản xuất"),
        "grassroots": _unit("cty-che-muong-bu", "Đảng bộ Công ty Cổ phần Chè Mường Bú", "grassroots_committee",
                            "Đảng bộ cơ sở", "Đảng ủy Công ty Cổ phần Chè Mường Bú", 9),
        "grassroots_superior": _unit("xa-muong-bu", "Đảng bộ xã Mường Bú", "commune_committee",
                                     "Đảng bộ xã, phường, đặc khu", "Đảng ủy xã Mường Bú", 15),
        "intermediate": _unit("dbbp-san-xuat", "Đảng bộ bộ phận Khối sản xuất", "intermediate_committee",
                              "Đảng bộ bộ phận", "Đảng ủy bộ phận Khối sản xuất"),
        "competent": _unit("xa-muong-bu", "Đảng bộ xã Mường Bú", "commune_committee",
                           "Đảng bộ xã, phường, đặc khu", "Đảng ủy xã Mường Bú", 15),
        "competent_superior": _unit("son-la", "Đảng bộ tỉnh Sơn La", "province_committee",
                                    "Đảng bộ tỉnh, thành phố", "Tỉnh ủy Sơn La"),
        "competent_standing": True,
        "competent_body": "Ban Thường vụ Đảng ủy xã Mường Bú",
        "place": "Mường Bú",
    },
    "facts": {
        "source_listed_on": date(2024, 8, 5), "course_nominated_on": date(2024, 9, 2),
        "awareness_certificate_number": "CN-2024-0315", "awareness_certificate_on": date(2024, 11, 8),
        "application_on": date(2025, 2, 10), "cv_certified_on": date(2025, 3, 3),
        "background_verified_on": date(2025, 3, 10), "opinions_summarised_on": date(2025, 3, 24),
        "cell_resolution_on": date(2025, 4, 7), "cell_approve": 4, "cell_full_members": 4, "cell_excused_absent": 0,
        "appraisal_on": date(2025, 4, 14), "grassroots_resolution_on": date(2025, 4, 21), "grassroots_approve": 8,
        "grassroots_committee_members": 9, "decision_number": "318-QĐ/ĐU", "decision_on": date(2025, 5, 12),
        "decision_received_on": date(2025, 5, 14), "ceremony_on": date(2025, 5, 19), "helper_member_id": 26,
        "probation_ends_on": date(2026, 5, 19), "new_member_certificate_number": "BD-2025-208",
        "new_member_certificate_on": date(2025, 10, 24), "self_review_on": date(2026, 5, 19),
        "helper_review_on": date(2026, 5, 20), "recognition_opinions_on": date(2026, 5, 22),
        "recognition_cell_resolution_on": date(2026, 5, 25), "recognition_cell_approve": 4,
        "recognition_cell_full_members": 4, "recognition_cell_excused_absent": 0,
        "recognition_appraisal_on": date(2026, 6, 1), "recognition_grassroots_resolution_on": date(2026, 6, 8),
        "recognition_grassroots_approve": 9, "recognition_grassroots_committee_members": 9,
        "recognition_decision_number": "512-QĐ/ĐU",
        "recognition_decision_on": date(2026, 6, 22), "recognised_on": date(2026, 5, 19), "closed_on": date(2026, 6, 22),
    },
    "sponsors": [
        {"name": "Lò Văn Chiến", "admitted_on": date(2004, 1, 10), "recognised_on": date(2005, 1, 10),
         "cell": "Chi bộ Đội chè số 1", "together_since": date(2018, 3, 1), "relation": "công tác"},
        {"name": "Quàng Văn Đại", "admitted_on": date(2016, 10, 10), "recognised_on": date(2017, 10, 10),
         "cell": "Chi bộ Đội chè số 1", "together_since": date(2019, 6, 1), "relation": "công tác"},
    ],
    "union": [
        {"kind": "youth_union", "body_name": "Ban Chấp hành Đoàn Công ty Cổ phần Chè Mường Bú",
         "resolution_ref": "07-NQ/ĐTN", "resolution_on": date(2025, 1, 20)},
        {"kind": "trade_union", "body_name": "Ban Chấp hành Công đoàn Công ty Cổ phần Chè Mường Bú",
         "resolution_ref": "02-NQ/CĐ", "resolution_on": date(2025, 1, 22)},
    ],
    "helper": {"name": "Tòng Thị Nhung", "admitted_on": date(2012, 8, 8), "recognised_on": date(2013, 8, 8)},
}


def sample(**changes: Any) -> dict[str, Any]:
    """A deep copy of SAMPLE; `facts={...}` etc. merge into the copy's sections."""
    data = copy.deepcopy(SAMPLE)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return data
