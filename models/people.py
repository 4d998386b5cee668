"""Vocabularies of the CV facts that rules and statistics use: genders, occupations, ethnic groups…"""

from __future__ import annotations

from models.vietnamese import fold, nfc

GENDERS = {"nam": "Nam", "nu": "Nữ"}

# Occupation categories as published reports break admissions down.
OCCUPATIONS: dict[str, str] = {
    "farmer": "Nông dân",
    "worker": "Công nhân",
    "civil_servant": "Cán bộ, công chức, viên chức",
    "teacher": "Giáo viên",
    "village_cadre": "Cán bộ thôn, bản, tổ dân phố",
    "high_school_student": "Học sinh trung học phổ thông",
    "university_student": "Sinh viên",
    "soldier": "Lực lượng vũ trang",
    "private_enterprise_staff": "Người lao động trong doanh nghiệp tư nhân",
    "foreign_enterprise_staff": "Người lao động trong doanh nghiệp có vốn đầu tư nước ngoài",
    "business_owner": "Chủ doanh nghiệp tư nhân",
    "self_employed": "Lao động tự do",
    "other": "Khác",
}

# Recorded reasons for applying the lower education minimum (Hướng dẫn 01-HD/TW, 06-HD/TW, point 1.2).
EDUCATION_EXEMPTIONS: dict[str, str] = {
    "mountain_area": "Miền núi",
    "border_area": "Biên giới",
    "island_area": "Hải đảo",
    "ethnic_minority_area": "Vùng đồng bào dân tộc thiểu số",
    "extremely_difficult_area": "Vùng có điều kiện kinh tế - xã hội đặc biệt khó khăn",
    "fisherman": "Ngư dân thường xuyên làm việc trên biển, đảo",
    "village_elder": "Già làng, trưởng bản, người có uy tín",
}

LEAVE_REASONS: dict[str, str] = {
    "quit_activities": "Tự ý bỏ sinh hoạt đảng",
    "resigned": "Xin ra khỏi Đảng",
    "resigned_hardship": "Xin ra khỏi Đảng vì hoàn cảnh gia đình đặc biệt khó khăn",
    "struck_off": "Bị xóa tên",
    "expelled": "Bị khai trừ",
    "serious_disunity": "Gây mất đoàn kết nghiêm trọng",
    "corruption": "Tham nhũng",
    "serious_crime": "Vi phạm pháp luật nghiêm trọng",
    "population_policy": "Vi phạm chính sách dân số và kế hoạch hóa gia đình",
}

# The 54 ethnic groups of Viet Nam (Danh mục các dân tộc Việt Nam, Tổng cục Thống kê).
ETHNIC_GROUPS: tuple[str, ...] = (
    "Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "Mông", "Dao", "Gia Rai", "Ê Đê", "Ba Na",
    "Sán Chay", "Chăm", "Cơ Ho", "Xơ Đăng", "Sán Dìu", "Hrê", "Ra Glai", "Mnông", "Thổ", "Xtiêng",
    "Khơ Mú", "Bru - Vân Kiều", "Cơ Tu", "Giáy", "Tà Ôi", "Mạ", "Giẻ - Triêng", "Co", "Chơ Ro",
    "Xinh Mun", "Hà Nhì", "Chu Ru", "Lào", "La Chí", "Kháng", "Phù Lá", "La Hủ", "La Ha", "Pà Thẻn",
    "Lự", "Ngái", "Chứt", "Lô Lô", "Mảng", "Cơ Lao", "Bố Y", "Cống", "Si La", "Pu Péo", "Rơ Măm",
    "Brâu", "Ơ Đu",
)
_ALIASES = {"h'mông": "Mông", "hmông": "Mông", "h mông": "Mông", "ê-đê": "Ê Đê", "khơ-mú": "Khơ Mú",
            "xtiêng": "Xtiêng", "stiêng": "Xtiêng", "bru vân kiều": "Bru - Vân Kiều", "gia-rai": "Gia Rai"}
def _key(text: str) -> str:
    """Folded, with hyphens and runs of spaces treated alike: 'Giẻ-Triêng' = 'Giẻ - Triêng' = 'gie trieng'."""
    return " ".join(fold(nfc(text)).replace("-", " ").split())


_BY_KEY = {_key(name): name for name in ETHNIC_GROUPS} | {_key(k): v for k, v in _ALIASES.items()}


def ethnic_group(text: str) -> str | None:
    """The official name of an ethnic group from a spelling a secretary might type, or None."""
    return _BY_KEY.get(_key(text))


def is_ethnic_minority(name: str) -> bool:
    return name != "Kinh"
