"""The blank spreadsheet for files in progress, in Vietnamese: the header row, an instructions sheet and the lists
(stage labels of the rule set in force, Nam/Nữ, Có/Không, occupations) as drop-downs, so a secretary can fill it in
without guessing the formats. A CSV twin carries the header row only (UTF-8 with BOM, which Excel opens correctly).
"""

from __future__ import annotations

import io
from datetime import date

from models.imports.sheet_columns import COLUMNS
from models.people import OCCUPATIONS
from models.procedure.loader import in_force_on

FORMATS = {"date": "Ngày (dd/mm/yyyy hoặc ô kiểu ngày của Excel)", "int": "Số nguyên", "bool": "Có / Không",
           "gender": "Nam / Nữ", "grade": "Ví dụ 12/12", "occupation": "Chọn trong danh sách", "member": "Mã đảng viên",
           "stage": "Chọn trong danh sách", "text": "Chữ", "ignore": "Số"}


def stage_choices(on: date) -> list[str]:
    """Stage labels a file in progress can be declared at (not the closing stages)."""
    rs = in_force_on(on)
    return [s.label for s in rs.stages if s.kind != "terminal"]


def template_csv() -> bytes:
    return ("\ufeff" + ",".join(f'"{c.header}"' for c in COLUMNS) + "\r\n").encode("utf-8")


def template_xlsx(on: date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "Hồ sơ"
    sheet.append([c.header for c in COLUMNS])
    for i, col in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=i)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if col.required:
            cell.fill = PatternFill("solid", fgColor="FFF2CC")
        sheet.column_dimensions[get_column_letter(i)].width = 14 if col.kind in ("date", "int", "bool") else 22
    sheet.freeze_panes = "C2"

    lists = book.create_sheet("Danh mục")
    choices = {"stage": stage_choices(on), "gender": ["Nam", "Nữ"], "bool": ["Có", "Không"],
               "occupation": list(OCCUPATIONS.values())}
    ranges = {}
    for n, (kind, values) in enumerate(choices.items(), start=1):
        letter = get_column_letter(n)
        lists.cell(row=1, column=n, value={"stage": "Giai đoạn", "gender": "Giới tính", "bool": "Có/Không",
                                           "occupation": "Nghề nghiệp"}[kind]).font = Font(bold=True)
        for r, value in enumerate(values, start=2):
            lists.cell(row=r, column=n, value=value)
        lists.column_dimensions[letter].width = 60 if kind in ("stage", "occupation") else 14
        ranges[kind] = f"'Danh mục'!${letter}$2:${letter}${len(values) + 1}"
    for i, col in enumerate(COLUMNS, start=1):
        if col.kind in ranges:
            rule = DataValidation(type="list", formula1=ranges[col.kind], allow_blank=not col.required,
                                  showErrorMessage=True, errorTitle="Giá trị không hợp lệ",
                                  error="Chọn một giá trị trong danh sách.")
            letter = get_column_letter(i)
            rule.add(f"{letter}2:{letter}1000")
            sheet.add_data_validation(rule)

    guide = book.create_sheet("Hướng dẫn")
    guide.append(["Cột", "Bắt buộc", "Định dạng", "Ý nghĩa"])
    for c in guide[1]:
        c.font = Font(bold=True)
    for col in COLUMNS:
        guide.append([col.header, "Có" if col.required else "", FORMATS[col.kind], col.help])
    guide.append([])
    for line in _notes(on):
        guide.append([line])
    for letter, width in zip("ABCD", (44, 10, 36, 90), strict=True):
        guide.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _notes(on: date) -> list[str]:
    rs = in_force_on(on)
    return [
        "Mỗi dòng là một hồ sơ đang làm trên giấy. Điền ngày của mọi bước đã làm; để trống các bước chưa làm.",
        "ketnap ghi lại từng bước theo đúng ngày đã làm và kiểm tra theo quy định có hiệu lực vào ngày đó "
        f"(hiện hành: {rs.title}). Giai đoạn hiện tại phải khớp với các ngày đã điền.",
        "Nếu một dòng sai quy định, có thể từ chối cả tệp để sửa, hoặc nhập và đánh dấu “chưa xác minh”.",
        "Nhập thử (không ghi) trước để xem kết quả: giai đoạn, thời hạn và ngày đến hạn của từng dòng.",
    ]
