"""Organisation, member and candidate imports: every bad row reported with its line, nothing half-written."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.audit.trail import verify
from models.imports.candidates import add_candidates_from_file
from models.imports.organisation import import_organisation
from models.imports.rows import ImportRejected
from models.tables import AuditEvent, Candidate, Member, OrgUnit, Sponsorship
from tests.support import NOW, SECRETARY


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table.__table__)).scalar_one()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_demo_organisation_imports_and_reimporting_updates_in_place(engine, tmp_path):
    from tests.support import import_demo_org

    import_demo_org(engine)
    units, members = _count(engine, OrgUnit), _count(engine, Member)
    assert (units, members) == (16, 28)
    import_demo_org(engine)
    assert (_count(engine, OrgUnit), _count(engine, Member)) == (units, members)
    assert verify(engine).ok


def test_bad_organisation_rows_are_all_reported_with_line_and_rule_and_nothing_is_written(engine, tmp_path):
    path = _write(tmp_path, "org.yaml", """
        units:
          - {id: tinh, kind: province_committee, name: "Đảng bộ tỉnh"}
          - {id: xa, parent: tinh, kind: commune_committee, name: "Đảng bộ xã"}
          - {id: cb-1, parent: tinh, kind: cell, name: "Chi bộ 1"}
          - {id: cb-2, parent: nowhere, kind: cell, name: "Chi bộ 2"}
          - {id: Bad Id, parent: xa, kind: cell, name: "Chi bộ 3"}
          - {id: xa, parent: tinh, kind: commune_committee, name: "Trùng mã"}
        members:
          - {code: M1, full_name: "Lò Văn A", gender: nam, cell: xa, admitted_on: 2010-01-01}
          - {code: M2, full_name: "Lò Văn B", gender: nữ, cell: cb-1, admitted_on: 2010-01-01}
          - {code: M3, full_name: "Lò Văn C", gender: nam, cell: cb-1, admitted_on: 2010-01-01, recognised_on: 2009-01-01}
          - {code: M4, full_name: "Lò Văn D", gender: nam, cell: cb-1, admitted_on: 2010-01-01, ethnicity: Klingon}
    """)
    with pytest.raises(ImportRejected) as caught:
        import_organisation(engine, path, SECRETARY, now=NOW)
    found = {(e.line, e.field) for e in caught.value.errors}
    assert found == {
        (4, "parent"),        # a cell cannot sit directly under a province committee
        (5, "parent"),        # unknown parent
        (6, "id"),            # not a code
        (7, "id"),            # duplicate of line 3
        (9, "cell"),          # a commune committee is not a party cell
        (10, "gender"),       # nam | nu
        (11, "row"),          # recognised before admitted
        (12, "ethnicity"),    # not one of the 54 groups
    }
    rules = {e.line: e.rule for e in caught.value.errors}
    assert "cannot sit under a province_committee" in rules[4]
    assert "first on line 3" in rules[7]
    assert "recognised_on is before admitted_on" in rules[11]
    assert (_count(engine, OrgUnit), _count(engine, Member), _count(engine, AuditEvent)) == (0, 0, 0)


def test_csv_members_report_their_csv_line(engine, tmp_path):
    units = _write(tmp_path, "units.csv", """
        id,parent,kind,name,authorised_to_admit,committee_size
        tinh,,province_committee,Đảng bộ tỉnh Lào Cai,,
        xa-ta-xua,tinh,commune_committee,Đảng bộ xã Tả Xùa,true,13
        cb-thon-1,xa-ta-xua,cell,Chi bộ thôn 1,,
    """)
    summary = import_organisation(engine, units, SECRETARY, now=NOW)
    assert summary.units_created == 3
    members = _write(tmp_path, "members.csv", """
        code;full_name;gender;cell;admitted_on;recognised_on;standing;left_on
        T1;Giàng A Páo;nam;cb-thon-1;2012-05-01;2013-05-01;;
        T2;Sùng Thị Mỷ;nu;cb-thon-1;2018-05-01;2019-05-01;exempted;
        T3;Hờ A Dình;nam;cb-thon-1;2001-01-01;2002-01-01;left;
    """)
    with pytest.raises(ImportRejected) as caught:
        import_organisation(engine, members, SECRETARY, now=NOW)
    assert [(e.line, e.field) for e in caught.value.errors] == [(4, "row")]   # 'left' needs left_on
    assert _count(engine, Member) == 0
    members.write_text(members.read_text(encoding="utf-8").replace("left;\n", "left;2020-03-01\n"), encoding="utf-8")
    summary = import_organisation(engine, members, SECRETARY, now=NOW)
    assert summary.members_created == 3


def test_candidates_file_reports_every_bad_row_and_adds_none(org, tmp_path):
    path = _write(tmp_path, "candidates.yaml", """
        candidates:
          - full_name: "Lò Thị Hoa"
            birth_date: 2003-05-14
            gender: nu
            ethnicity: Thái
            general_education_grade: 12
            occupation: farmer
            cell: cb-ban-pa-cong
            listed_on: 2025-07-15
          - full_name: "Không Tên"
            birth_date: 2003-05-14
            gender: nu
            ethnicity: Thái
            general_education_grade: 14
            occupation: astronaut
            cell: xa-muong-bu
            listed_on: 2025-07-15
            sponsors:
              - {member: NOBODY, together_since: 2020-01-01}
              - {member: PC01}
    """)
    with pytest.raises(ImportRejected) as caught:
        add_candidates_from_file(org, path, SECRETARY, now=NOW)
    errors = {(e.line, e.field) for e in caught.value.errors}
    assert (14, "general_education_grade") in errors
    assert (15, "occupation") in errors
    assert (20, "sponsors.1") in errors            # a member sponsor needs together_since (the sponsor's own line)
    assert (3, "cell") not in errors               # the valid first row is cross-checked too, and is fine
    assert _count(org, Candidate) == 0


def test_candidates_file_cross_checks_cells_and_sponsors(org, tmp_path):
    path = _write(tmp_path, "candidates.yaml", """
        - full_name: "Lò Thị Hoa"
          birth_date: 2003-05-14
          gender: nu
          ethnicity: Thái
          general_education_grade: 12
          occupation: farmer
          cell: xa-muong-bu
          listed_on: 2025-07-15
          sponsors:
            - {member: NOBODY, together_since: 2020-01-01}
    """)
    with pytest.raises(ImportRejected) as caught:
        add_candidates_from_file(org, path, SECRETARY, now=NOW)
    assert {(e.field, e.rule.split(" ")[0]) for e in caught.value.errors} == {("cell", "'xa-muong-bu'"),
                                                                             ("sponsors.0.member", "no")}
    assert _count(org, Candidate) == 0


def test_candidates_from_csv_with_numbered_sponsor_columns(org, tmp_path):
    path = _write(tmp_path, "candidates.csv", """
        full_name,birth_date,gender,ethnicity,general_education_grade,occupation,cell,listed_on,sponsor1_member,sponsor1_since,sponsor2_member,sponsor2_since
        Vì Văn Khánh,1990-11-11,nam,Thái,12,worker,cb-doi-che-1,2025-07-21,DC01,2018-03-01,DC03,2019-06-01
        Lò Văn Pằn,1985-02-02,nam,thai,9,farmer,cb-ban-na-la,2023-03-01,NL01,2015-01-01,NL02,2016-01-01
    """)
    ids = add_candidates_from_file(org, path, SECRETARY, now=NOW)
    assert len(ids) == 2
    with org.connect() as conn:
        rows = conn.execute(select(Candidate.__table__.c.ethnicity, Candidate.__table__.c.ruleset_version,
                                   Candidate.__table__.c.stage).order_by(Candidate.__table__.c.id)).all()
        sponsors = conn.execute(select(func.count()).select_from(Sponsorship.__table__)).scalar_one()
    assert [tuple(r) for r in rows] == [("Thái", "qd294-2025", "source"), ("Thái", "qd24-2021", "source")]
    assert sponsors == 4
    assert verify(org).ok


def test_a_candidate_listed_in_the_future_is_refused(org, tmp_path):
    path = _write(tmp_path, "c.yaml", f"""
        - full_name: "Lò Văn Mai Sau"
          birth_date: 1990-01-01
          gender: nam
          ethnicity: Thái
          general_education_grade: 12
          occupation: farmer
          cell: cb-ban-na-la
          listed_on: {date(2040, 1, 2).isoformat()}
    """)
    with pytest.raises(ImportRejected) as caught:
        add_candidates_from_file(org, path, SECRETARY, now=NOW)
    assert [e.field for e in caught.value.errors] == ["listed_on"]
