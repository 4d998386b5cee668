"""The web app in a real headless Chromium, as a phone on a weak 3G connection sees it.

Every page load goes through `Phone.load`, which checks what a commune secretary on a cheap phone
needs: the page (HTML, stylesheet, everything) transfers at most 100 KB with the cache off, its
main heading shows, nothing scrolls sideways, controls are big enough to tap, there is no script
and nothing comes from another site. A full-page screenshot of each step is written to
test-artifacts/screens/ (or $KETNAP_ARTIFACTS/screens/): look at them after changing a page.

The browser is Debian's Chromium (/usr/bin/chromium; Playwright's own download is not used). Without
it these tests are skipped, unless CI is set: then they fail. No timing is asserted.
"""

from __future__ import annotations

import json
import os
import re
import socket
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.web.conftest import DEMO_PASSWORD, SECRETARY_NA_LA, SPONSOR_NL02

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, expect, sync_playwright  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).parents[2]
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
                         "has_touch": True, "locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh"}
MAX_PAGE_BYTES = 100 * 1024
MIN_TAP = 44            # px: the smallest height of a button or field a thumb hits reliably
# WebPageTest's "3G" profile: 1.6 Mbit/s down, 768 kbit/s up, 300 ms round trip (throughputs in bytes/s).
THREE_G = {"offline": False, "latency": 300, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 768_000 / 8,
           "connectionType": "cellular3g"}

CELL = "cb-ban-na-la"
DUNG = 2                                    # Cà Văn Dũng, at stage E: waits for the cell's vote
DUNG_NAME = "Cà Văn Dũng"
NEXT_MEETING = date(2026, 12, 7)            # the cell's next meeting after WEB_NOW
FORM_6_TITLE = "Nghị quyết đề nghị kết nạp đảng viên"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def artifacts() -> Path:
    base = Path(os.environ["KETNAP_ARTIFACTS"]) if os.environ.get("KETNAP_ARTIFACTS") else REPO / "test-artifacts"
    path = base / "screens"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- the browser and the app ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium); in CI this is a failure."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        # the browser's own widgets (date fields as dd/mm/yyyy, file pickers) in Vietnamese, as on a phone set
        # to it; on Linux the UI language comes from the environment and needs Debian's chromium-l10n
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     env={**os.environ, "LANGUAGE": "vi"})
        yield launched
        launched.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(demo: Engine) -> Iterator[str]:
    """The app on a free port, in a thread of this process (so it sees the demo database and the fixed clock)."""
    from ketnap.web_server import WebServer

    web = WebServer("127.0.0.1", free_port()).start()
    try:
        yield web.url
    finally:
        web.stop()


class Phone:
    """One browser tab on a throttled phone; every page load is weighed, checked and photographed."""

    def __init__(self, context: BrowserContext, base_url: str, name: str) -> None:
        self.context, self.base_url, self.name = context, base_url, name
        self.page: Page = context.new_page()
        self.cdp: CDPSession = context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})   # every page weighed as a first visit
        self.cdp.send("Network.emulateNetworkConditions", THREE_G)
        self.urls: dict[str, str] = {}
        self.received: dict[str, int] = {}
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.weights: list[tuple[str, str, int]] = []      # (step, url, bytes) of every page loaded
        self.steps = 0

    def _sent(self, event: dict[str, Any]) -> None:
        rid = event["requestId"]
        self.urls[rid] = event["request"]["url"]
        redirect = event.get("redirectResponse")
        if redirect:                                       # a 303 after a form: its bytes count too
            self.received[rid + "/redirect"] = int(redirect.get("encodedDataLength", 0))

    def _finished(self, event: dict[str, Any]) -> None:
        self.received[event["requestId"]] = self.received.get(event["requestId"], 0) + int(event["encodedDataLength"])

    def load(self, step: str, action: Callable[[], Any], *, navigation: bool = True) -> Page:
        """Run `action` (a goto or a click that loads a page), then check the page it loaded."""
        self.urls.clear()
        self.received.clear()
        if navigation:
            with self.page.expect_navigation(wait_until="load"):
                action()
        else:
            action()
        self.cdp.send("Runtime.evaluate", {"expression": "0"})   # a round trip: every network event before it is in
        self._check(step)
        return self.page

    def goto(self, step: str, path: str) -> Page:
        return self.load(step, lambda: self.page.goto(self.base_url + path, wait_until="load"), navigation=False)

    def click(self, step: str, target: Any) -> Page:
        return self.load(step, target.click)

    def _check(self, step: str) -> None:
        page = self.page
        total = sum(self.received.values())
        loaded = [self.urls.get(rid, rid) for rid in self.received if not rid.endswith("/redirect")]
        self.weights.append((step, page.url, total))
        assert any(u.split("#")[0] == page.url.split("#")[0] for u in loaded), f"{step}: the page itself was not weighed"
        assert any(u.endswith("/static/ketnap.css") for u in loaded), f"{step}: the stylesheet was not weighed"
        assert total <= MAX_PAGE_BYTES, f"{step} ({page.url}) transfers {total} bytes > {MAX_PAGE_BYTES}: {loaded}"
        foreign = [u for u in loaded if not u.startswith((self.base_url + "/", "data:"))]   # data: the date picker's icon
        assert not foreign, f"{step}: requests to other sites {foreign}"
        expect(page.locator("h1")).to_be_visible()
        facts = page.evaluate("""() => ({
            lang: document.documentElement.lang,
            scripts: document.scripts.length,
            scrollWidth: document.scrollingElement.scrollWidth,
            innerWidth: window.innerWidth,
            small: [...document.querySelectorAll(
                    'button:not(.link), a.button, input:not([type=hidden]):not([type=checkbox]), select, textarea')]
                .filter(e => e.getClientRects().length)
                .filter(e => e.getBoundingClientRect().height < MIN_TAP)
                .map(e => e.outerHTML.slice(0, 80)),
        })""".replace("MIN_TAP", str(MIN_TAP)))
        assert facts["lang"] == "vi", f"{step}: <html lang> is {facts['lang']!r}"
        assert facts["scripts"] == 0, f"{step}: the page has scripts"
        width = PHONE["viewport"]["width"]
        assert facts["innerWidth"] == width, f"{step}: the phone zoomed out to {facts['innerWidth']} px"
        assert facts["scrollWidth"] <= width, f"{step}: the page is {facts['scrollWidth']} px wide on a {width} px phone"
        assert not facts["small"], f"{step}: controls smaller than {MIN_TAP} px: {facts['small']}"
        self.steps += 1
        page.screenshot(path=str(artifacts() / f"{self.name}-{self.steps:02d}-{step}.png"), full_page=True)


@pytest.fixture
def phone(browser: Browser, server: str, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Phone]]:
    """Phones on the app: each a fresh browser (no cookies), named for its screenshots."""
    contexts: list[BrowserContext] = []
    phones: list[Phone] = []
    test = request.node.name.removeprefix("test_")
    for old in artifacts().glob(f"{test}-*.*"):        # no stale steps from an earlier run
        old.unlink()

    def open_phone(who: str) -> Phone:
        context = browser.new_context(**PHONE, accept_downloads=True)
        contexts.append(context)
        context.set_default_timeout(15_000)
        phones.append(Phone(context, server, f"{test}-{who}"))
        return phones[-1]

    yield open_phone
    for c in contexts:
        c.close()
    weighed = [f"{w:>7} B  {step:<32} {url}" for p in phones for step, url, w in p.weights]
    (artifacts() / f"{test}-weights.txt").write_text("\n".join(weighed) + "\n")


def log_in(phone: Phone, username: str, *, step: str = "login") -> Page:
    page = phone.page
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    return phone.click(step, page.get_by_role("button", name="Đăng nhập"))


# --- database facts --------------------------------------------------------------------------------

def audit_rows(engine: Engine, candidate_id: int) -> list[dict[str, Any]]:
    from models.tables.audit import AuditEvent

    table = AuditEvent.__table__
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).where(table.c.candidate_id == candidate_id)
                                              .order_by(table.c.seq)).mappings()]


def candidate_row(engine: Engine, candidate_id: int) -> dict[str, Any]:
    from models.tables.candidates import Candidate

    table = Candidate.__table__
    with engine.connect() as conn:
        return dict(conn.execute(select(table).where(table.c.id == candidate_id)).mappings().one())


def documents_of(engine: Engine, candidate_id: int) -> list[dict[str, Any]]:
    from models.tables.documents import Document

    table = Document.__table__
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table.c.id, table.c.form_id, table.c.audit_event_id)
                                              .where(table.c.candidate_id == candidate_id)).mappings()]


# --- the tests -------------------------------------------------------------------------------------

def test_secretary_vote_refused_then_recorded(demo: Engine, phone: Callable[[str], Phone]) -> None:
    """The secretary records the cell's vote: too few approvals are refused with the reason, then it passes."""
    me = phone("secretary")
    page = me.goto("board-needs-login", f"/cells/{CELL}")
    assert "/login?next=" in page.url                       # not logged in: the board asks for a login first
    page = log_in(me, SECRETARY_NA_LA)
    assert page.url == f"{me.base_url}/cells/{CELL}"        # ... and comes back to the board
    expect(page.locator("h1")).to_have_text("Chi bộ bản Nà La")
    dung_link = page.get_by_role("link", name=DUNG_NAME, exact=True).first

    page = me.click("candidate", dung_link)
    expect(page.locator("h1")).to_have_text(DUNG_NAME)
    expect(page.locator(".stage-now")).to_have_text("E Chi bộ xét, đề nghị kết nạp")
    page = me.click("vote-form", page.locator("#actions").get_by_role("link", name="Chi bộ biểu quyết đề nghị kết nạp"))
    expect(page.locator("h1")).to_have_text("Chi bộ biểu quyết đề nghị kết nạp")

    before = candidate_row(demo, DUNG)
    trail_before = audit_rows(demo, DUNG)
    page.locator("#on").fill("2026-11-05")
    page.get_by_label("Số đảng viên chính thức tán thành").fill("2")
    page = me.click("refused", page.get_by_role("button", name="Ghi vào hồ sơ"))

    refusal = page.get_by_role("alert")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("Chưa ghi được: hồ sơ chưa đủ điều kiện.")
    reasons = nfc(refusal.locator(".failures").inner_text())
    assert re.search(r"Chỉ có 2/\d+ đảng viên chính thức tán thành .*cần ít nhất \d+ \(hai phần ba\)", reasons), reasons
    assert "Căn cứ:" in reasons                              # the rule is cited
    assert page.locator("#in_approve").input_value() == "2"  # what was typed is kept to be corrected
    after = candidate_row(demo, DUNG)
    assert (after["stage"], after["version"]) == (before["stage"], before["version"]) == ("cell_review", before["version"])
    new = audit_rows(demo, DUNG)[len(trail_before):]
    assert [(e["kind"], e["event"], e["stage_before"], e["stage_after"]) for e in new] == [
        ("refusal", "cell_approves", "cell_review", "cell_review")]
    assert "hai phần ba" in nfc(new[0]["payload"] + (new[0]["reason"] or ""))
    assert not [d for d in documents_of(demo, DUNG) if d["form_id"] == "6-KNĐ"]

    page.get_by_label("Số đảng viên chính thức tán thành").fill("3")
    page.get_by_label("Số đảng viên chuyển sinh hoạt tạm thời / miễn sinh hoạt vắng mặt").fill("1")
    page = me.click("recorded", page.get_by_role("button", name="Ghi vào hồ sơ"))
    assert re.fullmatch(rf"{re.escape(me.base_url)}/candidates/{DUNG}\?done=\d+", page.url), page.url
    expect(page.get_by_role("status")).to_have_text("Đã ghi bước vào hồ sơ.")
    expect(page.locator(".stage-now")).to_have_text("G Đảng ủy cơ sở xét, đề nghị")
    row = candidate_row(demo, DUNG)
    assert row["stage"] == "grassroots_review" and row["cell_resolution_on"] == date(2026, 11, 5)
    applied = [e for e in audit_rows(demo, DUNG)[len(trail_before) + 1:] if e["kind"] != "read"]   # reads: the page views
    assert [(e["kind"], e["event"], e["stage_before"], e["stage_after"]) for e in applied] == [
        ("transition", "cell_approves", "cell_review", "grassroots_review"),
        ("documents", None, "grassroots_review", "grassroots_review")]      # the forms it rendered, filed
    assert page.url.endswith(f"done={applied[0]['id']}")
    # the file's history shows the refusal, marked as such, with its reason
    refused = page.locator("ol.timeline > li", has_text="bị từ chối")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("Chi bộ biểu quyết đề nghị kết nạp — bị từ chối · 05/11/2026")
    expect(refused).to_contain_text("(hai phần ba)")
    form6 = [d for d in documents_of(demo, DUNG) if d["form_id"] == "6-KNĐ"]
    assert len(form6) == 1 and form6[0]["audit_event_id"] in {e["id"] for e in applied}

    link = page.locator("ul.docs li", has_text="Mẫu 6-KNĐ").get_by_role("link", name="PDF", exact=True)
    expect(link).to_have_attribute("href", f"/candidates/{DUNG}/documents/{form6[0]['id']}.pdf")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".pdf")
    saved = artifacts() / "6-KND-browser.pdf"
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-")
    from pypdf import PdfReader

    text = nfc("\n".join(p.extract_text() or "" for p in PdfReader(saved).pages))
    squeezed = re.sub(r"\s+", " ", text)
    assert DUNG_NAME in squeezed or DUNG_NAME.upper() in squeezed, squeezed[:500]
    assert "6-KNĐ" in squeezed or FORM_6_TITLE.upper() in squeezed.upper(), squeezed[:500]


def test_sponsor_writes_note_from_reminder_link(demo: Engine, phone: Callable[[str], Phone]) -> None:
    """A sponsor opens the link of a reminder (no account), writes a note; it is stored and audited."""
    from ketnap.settings import secret_key
    from models.links import make_token, slot_for
    from models.tables import SponsorNote
    from models.tables.organisation import Member

    members = Member.__table__
    with demo.connect() as conn:
        member_id = conn.execute(select(members.c.id).where(members.c.code == "NL02")).scalar_one()
    token = make_token(secret_key(), slot_for(member_id, DUNG, NEXT_MEETING))

    sponsor = phone("sponsor")
    page = sponsor.goto("note-form", f"/notes/{token}")
    expect(page.locator("h1")).to_have_text("Nhận xét người vào Đảng")
    intro = page.locator("main > p").first
    for expected in ("Cà Thị Hương", DUNG_NAME, "Chi bộ bản Nà La", "ngày 7 tháng 12 năm 2026"):
        expect(intro).to_contain_text(expected)
    note = ("Đồng chí Dũng tích cực tham gia làm đường bê tông nội bản, giúp đỡ hộ nghèo; "
            "chấp hành tốt chủ trương, nghị quyết.\nĐề nghị chi bộ tiếp tục xem xét.")
    # a phone keyboard may send decomposed letters: the stored note is NFC
    page.get_by_label("Nhận xét về tư tưởng, đạo đức").fill(unicodedata.normalize("NFD", note))
    trail_before = audit_rows(demo, DUNG)
    page = sponsor.click("note-sent", page.get_by_role("button", name="Gửi nhận xét"))
    expect(page.get_by_role("status")).to_contain_text("Đã gửi nhận xét. Cảm ơn đồng chí.")
    assert page.get_by_label("Nhận xét về tư tưởng, đạo đức").input_value() == note
    assert not page.context.cookies(), "the link must work without a session"

    notes = SponsorNote.__table__
    with demo.connect() as conn:
        stored = [dict(r) for r in conn.execute(select(notes).where(notes.c.candidate_id == DUNG,
                                                                    notes.c.meeting_on == NEXT_MEETING)).mappings()]
    # a browser submits a textarea's line breaks as CRLF (HTML spec); the letters are stored NFC
    assert [(n["member_id"], n["cell_id"], n["via"], n["text"].replace("\r\n", "\n")) for n in stored] == [
        (member_id, CELL, "link", note)]
    new = audit_rows(demo, DUNG)[len(trail_before):]
    assert [e["kind"] for e in new] == ["note_received"]
    payload = json.loads(new[0]["payload"])
    assert (payload["member_id"], payload["meeting_on"], payload["via"]) == (member_id, "2026-12-07", "link")
    assert new[0]["actor"] == f"member:{member_id}"

    # the sponsor's account then lists the meeting as done (and the note is on the file the sponsor sees)
    page = sponsor.goto("sponsor-login", "/sponsor")
    page = log_in(sponsor, SPONSOR_NL02, step="sponsor-list")
    expect(page.locator(".card", has_text=DUNG_NAME).locator("li", has_text="07/12/2026")).to_contain_text("đã nhận xét")


TOUR = [
    # (account, pages after its home page): what the two flows above do not visit, for every role.
    # Candidate #4 has the longest file (a full member: every step, every form); /admin is the heaviest page.
    (SECRETARY_NA_LA, [f"/cells/{CELL}/meeting?event=cell_approves", "/account"]),
    ("bantochuc", ["/candidates?closed=true", "/candidates/4"]),       # home: the commune's page
    ("vanphong", ["/cells"]),
    (SPONSOR_NL02, [f"/candidates/{DUNG}"]),                           # home: /sponsor
    ("quantri", ["/candidates/999",                                    # home: /admin; then a page not found
                 "/admin/imports", "/admin/calendar?year=2026",          # issue 8's admin pages
                 "/admin/rulesets/dry-run?from_version=qd24-2021&to_version=qd294-2025"]),
]


def test_every_page_is_light_and_usable_on_3g(phone: Callable[[str], Phone]) -> None:
    """Each role's other pages on a throttled 3G phone: ≤ 100 KB each, heading shown, no sideways scroll."""
    for username, paths in TOUR:
        me = phone(username.replace(".", "-"))
        page = me.goto("login", "/login")
        # the throttling is in effect: the page itself sees a 3G connection
        assert page.evaluate("() => navigator.connection.effectiveType") == "3g"
        log_in(me, username, step="home")
        for path in paths:
            page = me.goto(re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-"), path)
            if path == "/candidates/999":
                expect(page.locator("h1")).to_have_text("Không thực hiện được")
                expect(page.get_by_role("alert")).to_contain_text("Không tìm thấy")
            else:
                expect(page.locator("h1")).not_to_have_text("Không thực hiện được")
        assert len(me.weights) == len(paths) + 2          # every page was weighed (and checked)


def test_login_refuses_wrong_password(demo: Engine, phone: Callable[[str], Phone]) -> None:
    from models.accounts import ACCOUNT

    me = phone("stranger")
    page = me.goto("login", "/login")
    page.get_by_label("Tên đăng nhập").fill(SECRETARY_NA_LA)
    page.get_by_label("Mật khẩu").fill("mat-khau-sai")
    page = me.click("wrong-password", page.get_by_role("button", name="Đăng nhập"))
    assert page.url == f"{me.base_url}/login"
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    message = nfc(alert.inner_text())
    assert re.search(r"(mật khẩu|tên đăng nhập).*(không đúng|sai)", message, re.IGNORECASE), message
    assert page.get_by_label("Tên đăng nhập").input_value() == SECRETARY_NA_LA   # kept, the password is not
    assert page.get_by_label("Mật khẩu").input_value() == ""
    assert not [c for c in page.context.cookies() if c["path"] == "/"], "no session after a wrong password"
    with demo.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ACCOUNT)).scalar_one() > 0
