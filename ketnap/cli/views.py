"""Human-readable output of the CLI (domain words in Vietnamese), and the small queries behind lists."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer
from sqlalchemy import Engine, select

from models.database import reading
from models.organisation import KIND_LABELS, PARTY_CELLS, Tree, Unit
from models.procedure.engine import Accepted, Refused
from models.procedure.loader import get_ruleset
from models.snapshot import CANDIDATE, UNIT, unit_facts
from models.transitions import TransitionResult
from models.vietnamese import date_short, fold, name_sort_key


def _d(value: Any) -> str:
    if isinstance(value, date):
        return date_short(value)
    return "—" if value in (None, "") else str(value)


def print_init(result: dict[str, Any]) -> None:
    typer.echo(f"database ready: {result['database']}")
    demo = result.get("demo")
    if demo:
        org = demo["organisation"]
        typer.echo(f"demo organisation: {org['units_created'] + org['units_updated']} units, "
                   f"{org['members_created'] + org['members_updated']} members")
        if demo.get("skipped"):
            typer.echo(f"demo candidates: {demo['skipped']}")
        for c in demo["candidates"]:
            typer.echo(f"  #{c['id']:<3} {c['full_name']:<22} {c['stage']}")
        if demo.get("accounts"):
            typer.echo(f"demo accounts created: {', '.join(demo['accounts'])} (see `ketnap serve` for the password)")


def org_tree(engine: Engine, root: str | None, today: date) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        rows = conn.execute(select(UNIT)).mappings().all()
        tree = Tree(Unit(**dict(r)) for r in rows)
        if root is not None and root not in tree.units:
            raise LookupError(f"no unit {root!r}")
        roots = [root] if root else sorted(u.id for u in tree.units.values() if u.parent_id is None)
        children: dict[str | None, list[Unit]] = {}
        for u in tree.units.values():
            children.setdefault(u.parent_id, []).append(u)
        out: list[dict[str, Any]] = []

        def walk(uid: str, depth: int) -> None:
            u = tree.units[uid]
            item: dict[str, Any] = {"id": u.id, "name": u.name, "kind": u.kind, "depth": depth, "parent": u.parent_id}
            if u.kind in PARTY_CELLS:
                facts = unit_facts(conn, u.id, today, tree)
                item["full_members"] = facts.full_members
                item["competent_body"] = tree.competent_body(u.id).describe(tree.units)
            if u.covered_by_cell_id:
                item["covered_by_cell"] = u.covered_by_cell_id
            out.append(item)
            for child in sorted(children.get(uid, []), key=lambda c: (c.kind in ("village", "residential_group"), fold(c.name))):
                walk(child.id, depth + 1)

        for r in roots:
            walk(r, 0)
        return out


def print_tree(items: list[dict[str, Any]]) -> None:
    for it in items:
        extra = ""
        if "full_members" in it:
            extra = f"  [{it['full_members']} đảng viên chính thức; quyết định kết nạp: {it['competent_body']}]"
        elif it["kind"] in ("village", "residential_group"):
            extra = f"  [chi bộ: {it['covered_by_cell']}]" if it.get("covered_by_cell") else "  [chưa có đảng viên]"
        typer.echo(f"{'  ' * it['depth']}{it['name']} ({it['id']}, {KIND_LABELS[it['kind']].lower()}){extra}")


def candidate_rows(engine: Engine, cell: str | None, stage: str | None) -> list[dict[str, Any]]:
    query = select(CANDIDATE.c.id, CANDIDATE.c.full_name, CANDIDATE.c.cell_id, CANDIDATE.c.stage,
                   CANDIDATE.c.ruleset_version, CANDIDATE.c.version)
    if cell:
        query = query.where(CANDIDATE.c.cell_id == cell)
    if stage:
        query = query.where(CANDIDATE.c.stage == stage)
    with reading(engine) as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        r["stage_label"] = get_ruleset(r["ruleset_version"]).stage(r["stage"]).label
    return sorted(rows, key=lambda r: name_sort_key(r["full_name"]))


def print_candidates(rows: list[dict[str, Any]]) -> None:
    if not rows:
        typer.echo("(no candidates)")
    for r in rows:
        typer.echo(f"#{r['id']:<4} {r['full_name']:<24} {r['cell_id']:<18} {r['stage']:<30} {r['stage_label']}")


def print_casefile(c: dict[str, Any]) -> None:
    cv = c["cv"]
    typer.echo(f"#{c['id']} {c['full_name']}  (phiên bản {c['version']}, quy trình {c['ruleset']['version']})")
    if (c.get("imported") or {}).get("label"):
        typer.echo(f"  {c['imported']['label'].upper()}")
    typer.echo(f"  Sinh ngày {_d(cv['birth_date'])}, {cv['gender']}, dân tộc {cv['ethnicity']}, "
               f"tôn giáo {cv['religion'] or 'không'}, học vấn {cv['general_education']}"
               + (f" (vận dụng: {cv['education_exemption']})" if cv["education_exemption"] else ""))
    typer.echo(f"  Nghề nghiệp: {cv['occupation']}; đoàn viên: {'có' if cv['youth_union_member'] else 'không'}; "
               f"công đoàn: {'có' if cv['trade_union_member'] else 'không'}"
               + ("; kết nạp lại" if cv["readmission"] else ""))
    typer.echo(f"  {c['cell']['name']}; cấp có thẩm quyền: {c['competent_body']}")
    st = c["stage"]
    typer.echo(f"  Giai đoạn: {st['letter'] + '. ' if st['letter'] else ''}{st['label']} ({st['id']})")
    if c["sponsors"]:
        typer.echo("  Giới thiệu:")
        for s in c["sponsors"]:
            who = s["member"] or s["body"]
            since = f", cùng công tác/cư trú từ {_d(s['together_since'])}" if s["together_since"] else ""
            res = f", nghị quyết {s['resolution']} ngày {_d(s['resolution_on'])}" if s["resolution"] else ""
            typer.echo(f"    - {who} ({s['kind']}){since}{res}")
    open_deadlines = [d for d in c["deadlines"] if d["status"] == "open"]
    if open_deadlines:
        typer.echo("  Thời hạn:")
        for d in open_deadlines:
            state = ""
            if "working_days_left" in d:
                left = d["working_days_left"]
                state = f" — QUÁ HẠN {-left} ngày làm việc" if d["overdue"] else f" — còn {left} ngày làm việc"
            typer.echo(f"    - {d['label']}: đến {_d(d['due_on'])}{state}")
    if c["next_steps"]:
        typer.echo("  Bước tiếp theo:")
        for s in c["next_steps"]:
            needs = [k for k, v in s["inputs"].items() if v["required"]]
            typer.echo(f"    - {s['event']}: {s['label']}" + (f"  (--set {' '.join(n + '=…' for n in needs)})" if needs else ""))
    typer.echo("  Lịch sử:")
    print_timeline(c["timeline"], indent="    ")


def print_timeline(events: list[dict[str, Any]], indent: str = "") -> None:
    for e in events:
        what = e["label"] or e["event"] or e["kind"]
        if e["kind"] == "refusal":
            what = f"TỪ CHỐI {e['event']}: " + "; ".join(e["failures"])
        elif e["kind"] == "read":
            what = "xem hồ sơ"
        elif e["kind"] == "transition":
            what = f"{what} → {e['stage_after']}"
            if e.get("before_ketnap"):
                what += "  (trước khi dùng ketnap, nhập từ hồ sơ giấy)"
            if e.get("unverified"):
                what += "  CHƯA XÁC MINH: " + "; ".join(e["unverified"])
        typer.echo(f"{indent}{e['seq']:>3}. {_d(e['effective_on'])}  {what}  [{e['actor']}, {e['role']}]")


def print_result(r: TransitionResult) -> None:
    if r.applied:
        replay = " (replayed: this key was used before, nothing changed)" if r.replayed else ""
        typer.echo(f"#{r.candidate_id}: {r.event} applied, {r.stage_before} → {r.stage_after} "
                   f"(version {r.version}, audit event {r.audit_event_id}){replay}")
        for d in r.deadlines:
            typer.echo(f"  deadline {d['clock']}: {d['change']}, due {d['due_on']}")
        if r.forms:
            typer.echo(f"  forms: {', '.join(r.forms)}")
        return
    typer.echo(f"#{r.candidate_id}: {r.event} refused (audit event {r.audit_event_id}); {len(r.failures)} reason(s):")
    for f in r.failures:
        typer.echo(f"  ✗ [{f.code}] {f.message}")
        typer.echo(f"      căn cứ: {f.cite}")


def print_submitted(submitted: Any) -> None:
    print_result(submitted.result)
    if submitted.orchestration == "flow_run":
        typer.echo(f"  flow run: {submitted.flow_run_id}")
    else:
        typer.echo("  recorded; Prefect did not answer, so this step will be linked to a flow run when it is back "
                   f"(request {submitted.request_id})")


def print_history(data: dict[str, Any]) -> None:
    if data["prefect"] != "ok":
        typer.echo("(Prefect did not answer: flow runs are not shown)")
    for e in data["events"]:
        what = e["label"] or e["event"] or e["kind"]
        run = e["flow_run"]
        run_text = ""
        if run:
            duration = f", {run['duration_s']:.2f}s" if run.get("duration_s") is not None else ""
            start = f", {run['start']:%d/%m/%Y %H:%M:%S}" if run.get("start") else ""
            run_text = f"  ⟵ flow run {run['id'][:8]} {run['state']}{start}{duration}"
        typer.echo(f"{e['seq']:>3}. {_d(e['effective_on'])}  {e['kind']:<11} {what}{run_text}")
    if data["other_flow_runs"]:
        typer.echo("flow runs for this candidate with no audit event:")
        for r in data["other_flow_runs"]:
            typer.echo(f"  {r['id'][:8]} {r['name']} {r['state']}")


def preview_dict(decision: Accepted | Refused) -> dict[str, Any]:
    if isinstance(decision, Refused):
        return {"would": "refuse", "event": decision.event, "failures": [f.as_dict() for f in decision.failures]}
    return {"would": "apply", "event": decision.event, "stage_before": decision.stage_before,
            "stage_after": decision.stage_after, "records": dict(decision.records),
            "deadlines": [{"clock": c.clock, "due_on": c.due_on} for c in decision.clocks_started]}


def print_preview(data: dict[str, Any]) -> None:
    if data["would"] == "apply":
        typer.echo(f"dry run: {data['event']} would apply, {data['stage_before']} → {data['stage_after']}")
        for d in data["deadlines"]:
            typer.echo(f"  would open {d['clock']}, due {_d(d['due_on'])}")
    else:
        typer.echo(f"dry run: {data['event']} would be refused:")
        for f in data["failures"]:
            typer.echo(f"  ✗ [{f['code']}] {f['message']}")


def print_dossier(data: dict[str, Any]) -> None:
    for item in data["checklist"]:
        note = f"  ({item['note']})" if item["note"] else ""
        typer.echo(f"  {item['status_label']:<10} {item['form_id']:<7} {item['title']}{note}")
    for s in data["skipped"]:
        typer.echo(f"  not rendered: {s['form']} — missing {', '.join(s['missing'])}")
    typer.echo(f"wrote {len(data['written'])} files")


def print_verification(data: dict[str, Any]) -> None:
    if data["ok"]:
        typer.echo(f"audit trail intact: {data['events']} events in {data['chains']} chains")
        return
    b = data["first_break"]
    typer.echo(f"AUDIT TRAIL BROKEN: {len(data['breaks'])} chain(s); first broken event: "
               f"id {b['event_id']} (chain {b['chain']}, seq {b['seq']}): {b['problem']}")


def print_days_off(data: dict[str, Any]) -> None:
    for d in data["days_off"]:
        typer.echo(f"{_d(d['date'])}  {d['name']}")
    for d in data["working_saturdays"]:
        typer.echo(f"{_d(d)}  làm bù (ngày làm việc)")
