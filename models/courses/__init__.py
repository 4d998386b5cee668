"""Courses: sessions of the awareness course and of the new-member course, the queue, enrolment, the roster.

- A session (lớp) is given by a provider (the political centre) on dates, at a place, for a
  number of learners, and serves the cells under one committee (its area).
- The queue: candidates the cell has nominated for the awareness course (stage
  `awareness_course`), and probationary members without the new-member certificate, who hold no
  seat in a session of that course (enrolled, attended or certified). An absentee is back in the
  queue. First nominated, first served (nomination date, then id).
- `plan_enrolment` gives each nominee, in queue order, the earliest session of the right course
  that has not started, serves their cell and has room, and notifies them and their secretary
  once. Running it again enrols nobody twice; two planners at once never overfill a session
  (the nominee's row and then each session's row are locked, seats counted inside the
  transaction; SQLite serialises writers; the unique (session, candidate) is the backstop).
- The roster records attendance; certificates are recorded in bulk from a CSV file, all or
  nothing, each one as a step of the procedure (`record_awareness_certificate` or
  `record_new_member_certificate`) submitted as a flow run. The certificate date is what the
  60-month guard of the cell's vote and the expiry warning of the deadline sweep read.
"""

from models.courses.certificates import (  # noqa: F401
    CertificateNotApplied,
    CertificateRow,
    read_certificates,
    record_certificates,
    record_certificates_from_file,
)
from models.courses.common import (  # noqa: F401
    AREA_KINDS,
    CERTIFICATE_EVENTS,
    ENROLMENT,
    KIND_LABELS,
    KINDS,
    QUEUE_STAGES,
    REASON,
    SEATED,
    SESSION,
)
from models.courses.enrolment import Enrolment, Nominee, enrol_nominee, nominees, notify_enrolled, plan_enrolment  # noqa: F401
from models.courses.sessions import add_session, list_sessions, record_attendance, roster  # noqa: F401
