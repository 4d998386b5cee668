"""What every part of the courses uses: tables, kinds, the statuses that hold a seat."""

from __future__ import annotations

from models.tables import CourseEnrolment, CourseSession, Recipient

SESSION = CourseSession.__table__
ENROLMENT = CourseEnrolment.__table__
RECIPIENT = Recipient.__table__

KINDS = ("awareness", "new_member")
KIND_LABELS = {"awareness": "lớp bồi dưỡng nhận thức về Đảng",
               "new_member": "lớp bồi dưỡng lý luận chính trị cho đảng viên mới"}
# Committees whose cells a session may serve (not a cell, a grassroots cell or a village).
AREA_KINDS = frozenset({"province_committee", "commune_committee", "agency_committee", "grassroots_committee",
                        "intermediate_committee"})
SEATED = ("enrolled", "attended", "certified")      # hold a seat, and keep the candidate out of the queue
QUEUE_STAGES = {"awareness": ("awareness_course",), "new_member": ("probation", "recognition_review")}
CERTIFICATE_EVENTS = {"awareness": "record_awareness_certificate", "new_member": "record_new_member_certificate"}
REASON = "course_enrolled"
