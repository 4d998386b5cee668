"""The columns of the spreadsheet of files already in progress, as a secretary names them (Vietnamese headers).

Columns of the person (CV facts, sponsors, the declared stage) are described here. Columns of the steps
already taken are keyed by the procedure fact the rule set records for them (`cell_resolution_on`,
`decision_number`, …): which event a column feeds, and as which input, is read from the rule set's
`records`, not written a second time here (models/imports/files_in_progress.py).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "date", "int", "bool", "gender", "grade", "occupation", "member", "stage", "ignore"]


@dataclass(frozen=True)
class Column:
    key: str                     # CandidateIn field, sponsor column, procedure fact, or "stage"
    header: str                  # Vietnamese header, as in the template
    kind: Kind
    required: bool = False
    help: str = ""               # what the column means, for the template's instructions sheet


PERSON: tuple[Column, ...] = (
    Column("row_number", "STT", "ignore", help="Số thứ tự (không bắt buộc)."),
    Column("full_name", "Họ và tên", "text", True, "Họ và tên khai sinh."),
    Column("birth_date", "Ngày sinh", "date", True, "Ngày/tháng/năm sinh, dạng dd/mm/yyyy."),
    Column("gender", "Giới tính", "gender", True, "Nam hoặc Nữ."),
    Column("ethnicity", "Dân tộc", "text", True, "Một trong 54 dân tộc Việt Nam (ví dụ: Kinh, Thái, Mông)."),
    Column("religion", "Tôn giáo", "text", False, "Để trống hoặc ghi “Không” nếu không theo tôn giáo."),
    Column("general_education_grade", "Trình độ học vấn", "grade", True, "Trình độ giáo dục phổ thông, ví dụ 12/12 hoặc 9/12."),
    Column("occupation", "Nghề nghiệp", "occupation", True, "Một trong các nhóm nghề của danh mục (ví dụ: Nông dân, Giáo viên)."),
    Column("youth_union_member", "Đoàn viên", "bool", False, "Có/Không: là đoàn viên Đoàn TNCS Hồ Chí Minh."),
    Column("trade_union_member", "Công đoàn viên", "bool", False, "Có/Không: là đoàn viên công đoàn."),
    Column("cell", "Mã chi bộ", "text", True, "Mã chi bộ trong ketnap (xem trang Đơn vị), ví dụ cb-ban-na-la."),
    Column("listed_on", "Ngày vào danh sách cảm tình Đảng", "date", True,
           "Ngày chi bộ đưa vào danh sách quần chúng cảm tình Đảng (nguồn)."),
    Column("sponsor1_member", "Người giới thiệu 1", "member", False, "Mã số đảng viên của người giới thiệu thứ nhất."),
    Column("sponsor1_since", "Người giới thiệu 1 cùng công tác/sinh sống từ", "date", False,
           "Ngày bắt đầu cùng công tác, học tập hoặc sinh sống với người giới thiệu thứ nhất."),
    Column("sponsor2_member", "Người giới thiệu 2", "member", False, "Mã số đảng viên của người giới thiệu thứ hai."),
    Column("sponsor2_since", "Người giới thiệu 2 cùng công tác/sinh sống từ", "date", False,
           "Ngày bắt đầu cùng công tác, học tập hoặc sinh sống với người giới thiệu thứ hai."),
)

# Steps already taken, keyed by the fact the rule set records (the event and input are found from it).
STEPS: tuple[Column, ...] = (
    Column("awareness_certificate_number", "Số giấy chứng nhận nhận thức về Đảng", "text",
           help="Số giấy chứng nhận bồi dưỡng nhận thức về Đảng."),
    Column("awareness_certificate_on", "Ngày giấy chứng nhận nhận thức về Đảng", "date", help="Ngày cấp giấy chứng nhận."),
    Column("application_on", "Ngày viết đơn", "date", help="Ngày của đơn xin vào Đảng (mẫu 1-KNĐ)."),
    Column("cv_certified_on", "Ngày xác nhận lý lịch", "date", help="Ngày đảng ủy cơ sở xác nhận lý lịch (mẫu 2-KNĐ)."),
    Column("background_verified_on", "Ngày kết luận thẩm tra lý lịch", "date", help="Ngày kết luận thẩm tra lý lịch."),
    Column("opinions_summarised_on", "Ngày tổng hợp ý kiến (5-KNĐ)", "date",
           help="Ngày chi ủy tổng hợp ý kiến nhận xét của đoàn thể và nơi cư trú (mẫu 5-KNĐ)."),
    Column("cell_resolution_on", "Ngày chi bộ xét", "date", help="Ngày chi bộ họp xét, ra nghị quyết đề nghị kết nạp (6-KNĐ)."),
    Column("cell_approve", "Số tán thành (chi bộ)", "int", help="Số đảng viên chính thức tán thành."),
    Column("cell_full_members", "Tổng số đảng viên chính thức (chi bộ)", "int",
           help="Tổng số đảng viên chính thức của chi bộ khi biểu quyết (để trống: lấy theo danh sách đảng viên)."),
    Column("appraisal_on", "Ngày đảng ủy bộ phận thẩm định", "date",
           help="Chỉ với chi bộ trực thuộc đảng ủy bộ phận: ngày báo cáo thẩm định (7-KNĐ)."),
    Column("grassroots_resolution_on", "Ngày đảng ủy cơ sở xét", "date",
           help="Ngày đảng ủy cơ sở ra nghị quyết đề nghị kết nạp (8-KNĐ), nếu chi bộ thuộc đảng ủy cơ sở."),
    Column("grassroots_approve", "Số tán thành (đảng ủy cơ sở)", "int", help="Số cấp ủy viên tán thành."),
    Column("grassroots_committee_members", "Tổng số cấp ủy viên", "int",
           help="Tổng số cấp ủy viên của đảng ủy cơ sở (để trống: lấy theo đơn vị)."),
    Column("decision_on", "Ngày quyết định kết nạp", "date", help="Ngày cấp ủy có thẩm quyền ra quyết định kết nạp (9-KNĐ)."),
    Column("decision_number", "Số quyết định kết nạp", "text", help="Số của quyết định kết nạp."),
    Column("decision_received_on", "Ngày chi bộ nhận quyết định", "date",
           help="Ngày chi bộ nhận quyết định kết nạp (để trống: ngày quyết định)."),
    Column("ceremony_on", "Ngày kết nạp", "date", help="Ngày tổ chức lễ kết nạp (bắt đầu 12 tháng dự bị)."),
    Column("helper_member_id", "Đảng viên giúp đỡ", "member", help="Mã số đảng viên chính thức được phân công giúp đỡ."),
)

STAGE = Column("stage", "Giai đoạn hiện tại", "stage", True,
               "Giai đoạn hiện tại của hồ sơ, đúng một trong các tên ở trang Danh mục.")

COLUMNS: tuple[Column, ...] = (*PERSON, *STEPS, STAGE)
BY_KEY = {c.key: c for c in COLUMNS}


def header_key(text: str) -> str:
    """A header as compared: NFC, case-folded, single spaces (a retyped header still matches)."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


BY_HEADER = {header_key(c.header): c for c in COLUMNS}
