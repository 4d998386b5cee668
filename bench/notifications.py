"""Benchmark: planning sponsors' reminders at scale, and delivering messages to a real SMTP server.

(a) planning, SQLite: 100,000 active sponsorships (50,000 candidates at active stages, two member
    sponsors each, in 1,000 cells that each meet once a month; every member has a contact), bulk
    inserted with raw SQL. Timed: `models.reminders.plan_sponsor_notes` for every meeting of one
    month (reading cells, sponsorships and recipients, building and inserting 100,000 rows), then
    the same call again (must create 0 rows). Baseline in the same run: sqlite3 directly, one
    `INSERT OR IGNORE` executemany of the same 100,000 rows (taken from the planned table) into a
    table with the same unique key, same pragmas (WAL, synchronous=FULL), then again.
    Target: ≤ 5 s for the plan, 0 new rows on the re-run.
(b) delivery: messages per second through `models.outbox.deliver` (claim, render the Vietnamese
    message with its signed link, send over one SMTP connection, mark sent, append the audit
    event) to an aiosmtpd server on loopback. Baseline in the same run: smtplib sending the same
    number of similar, pre-built messages over one connection to the same server.

Prints absolute figures (noisy on shared machines) and ratios against the baselines.
Usage: python bench/notifications.py [--sponsorships 100000] [--cells 1000] [--messages 1000]
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller  # noqa: E402

from models.audit.chain import GENESIS  # noqa: E402
from models.calendar.working_days import vietnam_calendar  # noqa: E402
from models.database import make_engine, migrate  # noqa: E402
from models.imports.candidates import add_candidates  # noqa: E402
from models.meetings import meetings_between  # noqa: E402
from models.outbox import deliver  # noqa: E402
from models.reminders import plan_sponsor_notes  # noqa: E402
from models.transports import SmtpTransport  # noqa: E402
from tests.support import SECRETARY, candidate, import_demo_org  # noqa: E402

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)          # 09:00 in Hà Nội
MONTH = (date(2026, 12, 1), date(2026, 12, 31))
ACTIVE_STAGES = ("source", "awareness_course", "file_preparation", "opinions", "cell_review", "probation")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Lò", "Cà", "Quàng", "Điêu", "Vì", "Tòng", "Lường")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thanh", "Ngọc")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hương", "Hoa", "Khánh", "Lan", "Mai", "Nga", "Phượng", "Sơn", "Tâm", "Tiến")
MEMBERS_PER_CELL = 10


def name(i: int) -> str:
    return f"{FAMILY[i % len(FAMILY)]} {MIDDLE[(i // 7) % len(MIDDLE)]} {GIVEN[(i // 11) % len(GIVEN)]}"


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# --- (a) planning ---------------------------------------------------------------------------------

def build_population(path: Path, sponsorships: int, cells: int) -> dict[str, int]:
    """Migrate, import the demo commune, then bulk insert cells, members, contacts, candidates, sponsors."""
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    import_demo_org(engine)
    engine.dispose()
    candidates = sponsorships // 2
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")          # building the data set only; the timed parts use the app's pragmas
    conn.execute("BEGIN")
    cell_ids = [f"bench-cb-{c:04d}" for c in range(cells)]
    conn.executemany(
        "INSERT INTO org_unit (id, parent_id, kind, name, authorised_to_admit, has_youth_union, has_trade_union) "
        "VALUES (?, 'xa-muong-bu', 'cell', ?, 0, 0, 0)", [(cid, f"Chi bộ thôn số {c + 1}") for c, cid in enumerate(cell_ids)])
    conn.executemany(
        "INSERT INTO meeting_rule (cell_id, day_of_month, lead_days, missing_alert_after) VALUES (?, ?, 3, 2)",
        [(cid, 1 + c % 28) for c, cid in enumerate(cell_ids)])
    base_member = conn.execute("SELECT coalesce(max(id), 0) FROM member").fetchone()[0] + 1
    members = [(base_member + m, f"BM{m:06d}", name(m + 3), "nam" if m % 2 else "nu", cell_ids[m // MEMBERS_PER_CELL])
               for m in range(cells * MEMBERS_PER_CELL)]
    conn.executemany(
        "INSERT INTO member (id, code, full_name, gender, ethnicity, cell_id, admitted_on, recognised_on, standing) "
        "VALUES (?, ?, ?, ?, 'Thái', ?, '2010-05-19', '2011-05-19', 'active')", members)
    conn.executemany(
        "INSERT INTO recipient (key, kind, member_id, name, email, apprise_urls, channel, active) "
        "VALUES (?, 'member', ?, ?, ?, '[]', 'email', 1)",
        [(f"member:{mid}", mid, full, f"{code.lower()}@bench.example") for mid, code, full, _, _ in members])
    base_cand = conn.execute("SELECT coalesce(max(id), 0) FROM candidate").fetchone()[0] + 1
    created = sqlite_time(NOW)
    rows = []
    for i in range(candidates):
        rows.append((base_cand + i, name(i), "1995-03-04", "nam" if i % 2 else "nu", cell_ids[i % cells],
                     ACTIVE_STAGES[i % len(ACTIVE_STAGES)], GENESIS, created))
    conn.executemany(
        "INSERT INTO candidate (id, full_name, birth_date, gender, ethnicity, general_education_grade, occupation, "
        "youth_union_member, trade_union_member, prior_expunged_conviction, prior_readmitted_before, cell_id, "
        "ruleset_version, stage, version, facts, source_listed_on, audit_seq, audit_head, created_at) "
        "VALUES (?, ?, ?, ?, 'Thái', 12, 'farmer', 0, 0, 0, 0, ?, 'qd294-2025', ?, 1, '{}', '2025-09-15', 0, ?, ?)", rows)
    sponsors = []
    for i in range(candidates):
        cell = i % cells
        first = base_member + cell * MEMBERS_PER_CELL + (i // cells) % MEMBERS_PER_CELL
        second = base_member + cell * MEMBERS_PER_CELL + ((i // cells) + 1) % MEMBERS_PER_CELL
        for mid, since in ((first, "2015-01-01"), (second, "2016-01-01")):
            sponsors.append((base_cand + i, mid, since))
    conn.executemany(
        "INSERT INTO sponsorship (candidate_id, role, kind, member_id, together_since, relation, started_on) "
        "VALUES (?, 'introducer', 'member', ?, ?, 'residence', '2025-09-15')", sponsors)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"cells": cells, "members": len(members), "candidates": candidates, "sponsorships": len(sponsors)}


def plan_domain(path: Path) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{path}")
    calendar = vietnam_calendar()                       # built once per process; not part of planning
    start = time.perf_counter()
    meetings = meetings_between(engine, *MONTH, calendar)
    first = plan_sponsor_notes(engine, meetings, now=NOW)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    again = plan_sponsor_notes(engine, meetings_between(engine, *MONTH, calendar), now=NOW)
    again_s = time.perf_counter() - start
    engine.dispose()
    conn = sqlite3.connect(path)
    stored = conn.execute("SELECT count(*) FROM notification").fetchone()[0]
    rows = conn.execute("SELECT recipient_id, reason, period_key, candidate_id, context, status, attempts, "
                        "next_attempt_at, created_at FROM notification ORDER BY id").fetchall()
    conn.close()
    return {"meetings": len(meetings), "considered": first.considered, "created": first.created,
            "unreachable": first.unreachable, "first_s": first_s, "rerun_created": again.created, "rerun_s": again_s,
            "stored": stored, "rows": rows}


def plan_baseline(path: Path, rows: list[tuple[Any, ...]]) -> tuple[float, int, float, int]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE notification (id INTEGER PRIMARY KEY, recipient_id INTEGER NOT NULL, reason TEXT NOT NULL, "
                 "period_key TEXT NOT NULL, candidate_id INTEGER, context TEXT NOT NULL, status TEXT NOT NULL, "
                 "attempts INTEGER NOT NULL, next_attempt_at TEXT NOT NULL, created_at TEXT NOT NULL, "
                 "CONSTRAINT uq_notification_once UNIQUE (recipient_id, reason, period_key))")
    conn.execute("CREATE INDEX ix_status ON notification (status)")
    conn.execute("CREATE INDEX ix_candidate ON notification (candidate_id)")
    conn.execute("CREATE INDEX ix_recipient ON notification (recipient_id)")
    insert = ("INSERT OR IGNORE INTO notification (recipient_id, reason, period_key, candidate_id, context, status, "
              "attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    results = []
    for _ in range(2):
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.executemany(insert, rows)
        conn.execute("COMMIT")
        results += [time.perf_counter() - start, cur.rowcount]
    conn.close()
    return results[0], results[1], results[2], results[3]


# --- (b) delivery ---------------------------------------------------------------------------------

class Counting:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.count += 1
        return "250 OK"


def similar_messages(n: int, offset: int = 0) -> list[EmailMessage]:
    """What the outbox sends: the sponsor-note text, a link, Vietnamese names, one recipient each."""
    out = []
    for i in range(offset, offset + n):
        cand, sponsor = name(i), name(i + 5)
        msg = EmailMessage()
        msg["From"] = "ketnap <ketnap@localhost>"
        msg["To"] = formataddr((sponsor, f"sponsor{i}@bench.example"))
        msg["Subject"] = f"[ketnap] Nhận xét về {cand} trước buổi sinh hoạt chi bộ 07/12/2026"
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<baseline-{i}@ketnap>"
        msg.set_content(
            f"Kính gửi đồng chí {sponsor},\n\nChi bộ bản Nà La sẽ sinh hoạt vào ngày 7 tháng 12 năm 2026. Đề nghị đồng chí "
            f"gửi nhận xét về {cand} (người đồng chí giới thiệu hoặc được phân công giúp đỡ) trước buổi sinh hoạt, tại "
            f"đường dẫn sau:\n\nhttp://127.0.0.1:8000/n/WzEsMiwiMjAyNi0xMi0wNyIsMTc5NzI2NzYwMF0.{i:027d}\n\n"
            f"Đường dẫn chỉ dùng để gửi nhận xét về {cand} cho buổi sinh hoạt này và hết hạn sau buổi sinh hoạt một tuần. "
            "Nếu không gửi được, đồng chí có thể báo cáo trực tiếp tại buổi sinh hoạt để bí thư chi bộ ghi lại.\n\n"
            "Trân trọng,\nketnap — hệ thống theo dõi công tác phát triển đảng viên\n", charset="utf-8")
        out.append(msg)
    return out


def deliver_baseline(port: int, n: int, *, prebuilt: bool) -> float:
    """smtplib over one connection; `prebuilt`: the messages are composed before the clock starts."""
    messages = similar_messages(n) if prebuilt else []
    start = time.perf_counter()
    conn = smtplib.SMTP("127.0.0.1", port, timeout=30)
    for msg in messages or (similar_messages(1, offset=i)[0] for i in range(n)):
        conn.send_message(msg)
    conn.quit()
    return n / (time.perf_counter() - start)


def deliver_domain(path: Path, port: int, n: int) -> tuple[float, int, int]:
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    import_demo_org(engine)
    items = [(0, candidate(full_name=name(i))) for i in range((n + 1) // 2)]    # NL01 and NL02 sponsor each
    add_candidates(engine, items, SECRETARY, now=NOW)
    planned = plan_sponsor_notes(engine, meetings_between(engine, *MONTH, vietnam_calendar()), now=NOW)
    start = time.perf_counter()
    report = deliver(engine, SmtpTransport("127.0.0.1", port, timeout=30), now=NOW + timedelta(minutes=1),
                     limit=planned.created, at_night=True, secret="bench-secret", public_url="http://127.0.0.1:8000")
    rate = report.sent / (time.perf_counter() - start)
    engine.dispose()
    return rate, report.sent, planned.created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sponsorships", type=int, default=100_000)
    parser.add_argument("--cells", type=int, default=1_000)
    parser.add_argument("--messages", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        population = build_population(Path(tmp) / "plan.db", args.sponsorships, args.cells)
        built_s = time.perf_counter() - start
        domain = plan_domain(Path(tmp) / "plan.db")
        base_s, base_n, base_again_s, base_again_n = plan_baseline(Path(tmp) / "raw.db", domain["rows"])

        handler = Counting()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            raw_rate = deliver_baseline(port, args.messages, prebuilt=True)
            composed_rate = deliver_baseline(port, args.messages, prebuilt=False)
            rate, sent, planned = deliver_domain(Path(tmp) / "deliver.db", port, args.messages)
            received = handler.count
        finally:
            controller.stop()

    print(f"(a) planning sponsors' reminders, SQLite (data built with bulk SQL in {built_s:.1f} s: "
          f"{population['cells']:,} cells, {population['members']:,} members with contacts, "
          f"{population['candidates']:,} candidates, {population['sponsorships']:,} sponsorships)")
    print(f"    raw SQL baseline: INSERT OR IGNORE of the same {len(domain['rows']):,} rows:  {base_s:7.2f} s "
          f"({base_n:,} new); again: {base_again_s:6.2f} s ({base_again_n:,} new)")
    print(f"    plan_sponsor_notes, {domain['meetings']:,} meetings of 12/2026:  {domain['first_s']:7.2f} s "
          f"({domain['created']:,} new of {domain['considered']:,}, {domain['unreachable']} unreachable)  "
          f"= {domain['first_s'] / base_s:.1f} × baseline")
    print(f"    re-run:                                              {domain['rerun_s']:7.2f} s "
          f"({domain['rerun_created']:,} new; table holds {domain['stored']:,})  "
          f"= {domain['rerun_s'] / base_again_s:.1f} × baseline re-run")
    verdict = "met" if domain["first_s"] <= 5 and domain["rerun_created"] == 0 else "NOT met"
    print(f"    target ≤ 5 s and 0 new rows on the re-run: {verdict}")
    print(f"(b) delivery to aiosmtpd on loopback, one SMTP connection, {args.messages:,} messages")
    print(f"    raw smtplib baseline (pre-built similar messages):   {raw_rate:8.0f} messages/s")
    print(f"    raw smtplib, composing each EmailMessage in the loop:   {composed_rate:8.0f} messages/s")
    print(f"    models.outbox.deliver (claim, render, send, mark, audit): {rate:8.0f} messages/s "
          f"({sent:,} sent of {planned:,} planned)  = {rate / raw_rate:.3f} × baseline, "
          f"{rate / composed_rate:.3f} × composing baseline")
    print(f"    the server received {received:,} messages ({2 * args.messages:,} + {sent:,} expected)")


if __name__ == "__main__":
    main()
