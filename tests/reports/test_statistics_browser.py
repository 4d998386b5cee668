"""The statistics page of the generated province in headless Chromium, as a phone and as a printed page.

Photographs go to test-artifacts/screens/ (or $KETNAP_ARTIFACTS/screens/): the whole page on a phone, the
charts alone at desktop width, and the page as printed (A4). The phone checks of tests/web/test_browser.py
apply (weight on 3G, no script, no sideways scrolling, controls big enough to tap). No timing is asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.reports.province import NOW, ROOT, generate, sqlite_province

pytest.importorskip("playwright")
from playwright.sync_api import Browser, expect  # noqa: E402

from tests.web import test_browser as phone_tests  # noqa: E402
from tests.web.test_browser import PHONE, Phone, artifacts, free_port  # noqa: E402

browser = phone_tests.browser   # the one Chromium launch (Debian's, in Vietnamese), shared with the phone tests

PASSWORD = "mat-khau-thong-ke-2026"


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Engine]]:
    """The province in SQLite, an organisation-department account for it, the app on a free port."""
    from ketnap.context import use_clock, use_engine
    from ketnap.settings import get_settings
    from ketnap.web_server import WebServer
    from models.access import Grant
    from models.accounts import NewAccount, create_account
    from tests.reports.province import ACTOR

    monkeypatch.setenv("KETNAP_ORCHESTRATION", "off")
    monkeypatch.setenv("KETNAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KETNAP_SECRET_KEY", "test-secret-key-for-signed-links-0123456789")
    get_settings.cache_clear()
    engine = sqlite_province(sqlite_template, tmp_path, generate())
    create_account(engine, NewAccount("btc.tinh", "Ban Tổ chức Tỉnh ủy", PASSWORD, (Grant("organisation_department", ROOT),)),
                   ACTOR, now=NOW)
    with use_engine(engine), use_clock(NOW):
        web = WebServer("127.0.0.1", free_port()).start()
        try:
            yield web.url, engine
        finally:
            web.stop()
    engine.dispose()
    get_settings.cache_clear()


def test_the_statistics_page_on_a_phone_with_charts_and_print(browser: Browser, site: tuple[str, Engine]) -> None:
    url, _ = site
    shots = artifacts()
    for old in shots.glob("statistics-*.png"):
        old.unlink()
    context = browser.new_context(**PHONE)
    context.set_default_timeout(15_000)
    phone = Phone(context, url, "statistics-phone")
    page = phone.goto("login", f"/units/{ROOT}/statistics?year=2026")
    page.get_by_label("Tên đăng nhập").fill("btc.tinh")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page = phone.click("page", page.get_by_role("button", name="Đăng nhập"))
    assert page.url.endswith(f"/units/{ROOT}/statistics?year=2026"), page.url
    expect(page.locator("h1")).to_have_text("Thống kê kết nạp đảng viên năm 2026")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(4)
    for i in range(4):                                   # every chart is drawn: bars with a size, on the screen
        box = charts.nth(i).locator("svg").bounding_box()
        assert box and box["width"] > 300 and box["height"] > 40
        assert charts.nth(i).locator("rect[fill='#b3261e']").count() >= 2
    expect(page.locator("table[data-table='theo-don-vi-truc-thuoc'] tbody tr")).to_have_count(5)
    page.locator("section.charts").screenshot(path=str(shots / "statistics-charts-phone.png"))

    page.select_option("#year", "2025")
    page = phone.click("year-2025", page.get_by_role("button", name="Xem"))
    expect(page.locator("h1")).to_have_text("Thống kê kết nạp đảng viên năm 2025")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải Excel (.xlsx)").click()
    assert download.value.suggested_filename == f"thong-ke-{ROOT}-2025.xlsx"
    context.close()

    desk = browser.new_context(viewport={"width": 1100, "height": 900}, locale="vi-VN", storage_state=None)
    page = desk.new_page()
    page.goto(f"{url}/login?next=/units/{ROOT}/statistics")
    page.get_by_label("Tên đăng nhập").fill("btc.tinh")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"**/units/{ROOT}/statistics")
    page.locator("section.charts").screenshot(path=str(shots / "statistics-charts.png"))
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden() and page.locator(".downloads").is_hidden()
    page.screenshot(path=str(shots / "statistics-print.png"), full_page=True)
    page.pdf(path=str(shots / "statistics-print.pdf"), format="A4")
    desk.close()
