"""`revalign playground` in a real browser (the OS's headless Chromium, driven by Selenium).

One story across the demo's people, every step through the page: a rep searches /content and
shares an item; a marketer tags content from a gap with the typeahead; a definition is proposed
in a modal and approved by both heads; the scheduler posts the digest with its chart.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium is not installed (apt-get install -y chromium chromium-driver): browser test skipped",
)


@pytest.fixture(scope="session")
def demo_vectors(embedder):
    """{text_hash: vector} for the demo library, embedded once per session (both backends reuse them)."""
    import json

    from bot.content.demo import DEMO_LIBRARY
    from content_index import ContentDoc, ContentIndex, InMemoryEmbeddingCache

    rows = [json.loads(line) for line in DEMO_LIBRARY.read_text().splitlines() if line.strip()]
    cache = InMemoryEmbeddingCache()
    ContentIndex(embedder, cache=cache).upsert([
        ContentDoc(id=r["id"], title=r["title"], summary=r["summary"], type=r["type"], stage=r["stage"],
                   persona=r["persona"], objections=tuple(r["objections"])) for r in rows])
    return {h: v for (_, h), v in cache._data.items()}


@pytest.fixture
def playground(database_url, embedder, demo_vectors):
    from bot.demo import DEMO_CHANNEL, seed_demo
    from bot.services import Services
    from bot.settings import load_settings
    from revalign_dev.commands import playground_people
    from revalign_dev.local_run import LocalWorkspace, local_settings_overrides
    from revalign_dev.playground import Playground, PlaygroundSlack

    slack = PlaygroundSlack().start()
    settings = load_settings(_env_file=None, DATABASE_URL=database_url, REVALIGN_ALIGNMENT_CHANNEL=DEMO_CHANNEL,
                             **local_settings_overrides(slack))
    services = Services(settings, embedder=embedder)
    started = time.monotonic()
    services.content.cache.put_many(embedder.model_id, demo_vectors)
    seed_demo(services)
    workspace = LocalWorkspace(services, slack).start()
    services.start()
    print(f"demo workspace seeded in {time.monotonic() - started:.1f} s")
    people, channels = playground_people(services)
    page = Playground(workspace, slack, people, channels).serve(0)
    yield page
    page.stop()
    workspace.stop()
    services.close()
    slack.stop()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_MANAGER"] = "false"  # never let Selenium Manager download a browser or driver
    profile = tempfile.mkdtemp(prefix="revalign-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


class Page:
    """The playground page, as a person uses it."""

    def __init__(self, driver, url: str) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        # A reply can replace a message while we look at it: look again.
        self.wait = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))
        driver.get(url)
        self.wait.until(lambda d: d.find_element("id", "who").is_displayed())

    def css(self, selector: str):
        return self.driver.find_elements("css selector", selector)

    def be(self, name: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.driver.find_element("id", "who")).select_by_visible_text(name)

    def open(self, nav_id: str) -> None:
        self.driver.find_element("id", nav_id).click()

    def type(self, text: str) -> None:
        box = self.driver.find_element("id", "text")
        box.clear()
        box.send_keys(text)
        self.driver.find_element("css selector", "#composer button").click()

    def _find(self, contains: str, ephemeral: bool | None):
        for element in reversed(self.css("#messages .msg")):
            classes = element.get_attribute("class")
            if ephemeral is not None and ("ephemeral" in classes) != ephemeral:
                continue
            if contains in element.text:
                return element
        return False

    def message(self, contains: str, *, ephemeral: bool | None = None):
        """The last message whose text contains `contains` (waits for it)."""
        return self.wait.until(lambda _: self._find(contains, ephemeral), f"no message containing {contains!r}")

    def press(self, contains: str, label: str, *, ephemeral: bool | None = None) -> None:
        """Click the button `label` in the last message containing `contains`."""

        def attempt(_):
            message = self._find(contains, ephemeral)
            button = message and next((b for b in message.find_elements("css selector", "button.bk-button")
                                       if b.text.strip() == label), None)
            if not button:
                return False
            button.click()
            return True

        self.wait.until(attempt, f"no {label!r} button in a message containing {contains!r}")

    def modal(self, title: str):
        return self.wait.until(lambda d: next((m for m in self.css("#overlay .modal")
                                              if title in m.find_element("css selector", ".modal-title").text), False),
                               f"no modal titled {title!r}")

    def no_modal(self) -> None:
        self.wait.until(lambda d: not self.css("#overlay .modal"), "the modal stayed open")


def test_the_demo_story_in_a_real_browser(playground, browser, tmp_path):
    page = Page(browser, playground.url)
    assert "local dev/demo tool" in browser.find_element("css selector", ".banner").text

    # A rep searches /content in the prospect's words and shares the best item in the channel.
    page.be("Jordan Kim (rep)")
    page.open("nav-sales")
    page.type("/content we're 2x the price of Vantage & they <insist>")
    results = page.message("Content for", ephemeral=True)
    assert "we're 2x the price of Vantage & they <insist>" in results.text  # sent encoded, decoded once, escaped once
    assert "Only visible to you" in results.text
    first_title = results.find_element("css selector", ".bk-section a").text
    page.press("Content for", "Share in channel", ephemeral=True)
    shared = page.message("Shared by", ephemeral=False)
    assert first_title in shared.text and "@Jordan Kim" in shared.text

    # A marketer opens the gaps, tags content for one from the modal's typeahead (block_suggestion).
    page.be("Priya Patel (marketer)")
    page.open("nav-sales-marketing")
    page.type("/content gaps")
    page.press("Content gaps", "Tag content", ephemeral=True)
    modal = page.modal("Tag an objection")
    objection = modal.find_element("css selector", "[data-input=plain_text_input]").get_attribute("value")
    assert objection
    query = modal.find_element("css selector", ".typeahead-query")
    query.send_keys("security")
    option = page.wait.until(lambda d: next(iter(modal.find_elements("css selector", ".typeahead-options button")), False))
    picked = option.text
    option.click()
    assert [c.get_attribute("data-text") for c in modal.find_elements("css selector", ".chip")] == [picked]
    modal.find_element("css selector", ".modal-submit").click()
    done = page.modal("Tagged")
    assert picked in done.text and objection[:20] in done.text
    done.find_element("css selector", ".modal-close").click()
    page.no_modal()

    # The marketer proposes a change to MQL in the modal; both heads approve it in the channel.
    page.type("/lead-def propose MQL")
    modal = page.modal("Propose: MQL")
    sla = modal.find_element("css selector", "[data-block-id=sla][data-input]")
    sla.clear()
    sla.send_keys("An SDR contacts it within 4 business hours")
    modal.find_element("css selector", "[data-block-id=summary][data-input]").send_keys(
        "Speed-to-lead: inbound MQLs convert twice as often when called the same morning.")
    modal.find_element("css selector", ".modal-submit").click()
    page.no_modal()
    proposal = page.message("proposes a change to MQL", ephemeral=False)
    assert "SLA" in proposal.text and "Speed-to-lead" in proposal.text
    page.be("Morgan Lee (marketing head)")
    page.press("proposes a change to MQL", "Approve", ephemeral=False)
    page.message("Your approval for marketing is recorded", ephemeral=True)
    page.be("Sam Rivera (sales head)")
    page.press("proposes a change to MQL", "Approve", ephemeral=False)
    page.message("is now the shared definition", ephemeral=True)
    page.message("MQL is now v3", ephemeral=False)
    assert "Approved by" in page.message("proposes a change to MQL", ephemeral=False).text

    # The scheduler posts last week's digest: the head finds it, chart included, in the app's DMs.
    page.open("fire-digest")
    page.open("nav-dm")
    page.message("Weekly KPI digest", ephemeral=False)
    chart = page.wait.until(lambda d: next((i for i in page.css("#messages figure.file img")
                                            if d.execute_script("return arguments[0].naturalWidth", i) > 200), False),
                            "the digest's chart did not load")
    assert "KPI trend" in chart.get_attribute("alt")

    # The Home tab renders the app's published view for this head.
    page.open("nav-home")
    page.wait.until(lambda d: "The funnel" in d.find_element("id", "home").text)

    shot = os.environ.get("REVALIGN_PLAYGROUND_SCREENSHOT")
    if shot:  # docs/playground.png is made this way (see README)
        page.be("Jordan Kim (rep)")
        page.open("nav-sales")
        page.message("Shared by", ephemeral=False)
        browser.execute_script("document.getElementById('toast').style.display = 'none';"
                               "const box = document.getElementById('messages'); box.scrollTop = box.scrollHeight;")
        browser.save_screenshot(shot)
