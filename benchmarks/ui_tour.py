"""Click through the app in Chromium (Playwright) as a new user would and take screenshots of what
issue #19 fixed: the Training tab's loss plot in the tab that started the job, its notice and
phases, the StyleGAN face drawn on load, the mixing rows, the edit defaults, projection's progress,
the U-GAT-IT direction after a sent face, the AC-GAN From / To clicks, the DCGAN code message, the
ranking's scores, each tab's model line.

    python apps/main.py --port 7861 &    # then
    python benchmarks/ui_tour.py --url http://127.0.0.1:7861/ --out screens/

Needs Debian's chromium (apt-get install chromium) and `pip install playwright`.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from playwright.sync_api import sync_playwright


def field(page, label: str):
    """The visible input of a gradio field by its label (a textbox's label wraps its input; other
    inputs carry the label as aria-label)."""
    wrapped = page.locator("label:visible").filter(has_text=re.compile(r"^\s*" + re.escape(label)))
    if wrapped.count():
        return wrapped.first.locator("input, textarea").first
    return page.locator(f"[aria-label='{label}']:visible").first


def tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_timeout(800)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:7861/")
    p.add_argument("--out", default="screens")
    p.add_argument("--parts", default="training,stylegan,ugatit,acgan,dcgan")
    p.add_argument("--train-steps", type=int, default=400)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    parts = set(args.parts.split(","))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(args.url)
        page.wait_for_selector("text=facegan", timeout=60_000)
        page.wait_for_timeout(3000)

        if "dcgan" in parts:
            page.screenshot(path=out / "dcgan-open.png")
            code = field(page, "Code")
            code.fill("xyz")
            code.press("Enter")
            page.wait_for_timeout(2500)
            page.screenshot(path=out / "dcgan-bad-code.png")
            page.get_by_role("tab", name="Ranking by D").click()
            page.get_by_role("button", name="Rank").click()
            page.wait_for_timeout(8000)
            page.screenshot(path=out / "dcgan-ranking.png", full_page=True)

        if "stylegan" in parts:
            tab(page, "StyleGAN studio")
            page.wait_for_timeout(4000)
            page.screenshot(path=out / "stylegan-open.png")
            page.get_by_role("button", name="Mix").click()
            page.wait_for_timeout(6000)
            page.screenshot(path=out / "stylegan-mix-coarse.png", full_page=True)
            for group in ("middle", "fine"):
                box = field(page, "Styles copied")
                box.click()
                page.get_by_role("option", name=group, exact=True).click()
                page.get_by_role("button", name="Mix").click()
                page.wait_for_timeout(6000)
                page.screenshot(path=out / f"stylegan-mix-{group}.png", full_page=True)
            page.get_by_role("tab", name="Edit along a direction").click()
            page.wait_for_timeout(1500)
            page.get_by_role("button", name="Edit + strip").click()
            page.wait_for_timeout(6000)
            page.screenshot(path=out / "stylegan-edit-labelled.png", full_page=True)
            d = field(page, "Direction")
            d.click()
            page.get_by_role("option", name="SeFa 1").click()
            page.wait_for_timeout(1500)
            page.get_by_role("button", name="Edit + strip").click()
            page.wait_for_timeout(6000)
            page.screenshot(path=out / "stylegan-edit-sefa.png", full_page=True)
            page.get_by_role("tab", name="Your picture").click()
            page.wait_for_timeout(1000)
            page.locator("text=Examples").first.scroll_into_view_if_needed()
            page.locator(".gallery-item, button.gallery-item, [data-testid='examples'] button").first.click()
            page.wait_for_timeout(2000)
            t0 = time.time()
            page.get_by_role("button", name="Project").click()
            page.wait_for_timeout(4000)
            page.screenshot(path=out / "stylegan-project-progress.png", full_page=True)
            page.wait_for_selector("text=Its face code", timeout=120_000)
            for _ in range(120):
                if field(page, "Its face code").input_value():
                    break
                page.wait_for_timeout(1000)
            print(f"projection (quick) in the browser: {time.time() - t0:.1f} s")
            page.screenshot(path=out / "stylegan-project-done.png", full_page=True)

        if "ugatit" in parts:
            tab(page, "StyleGAN studio")
            page.get_by_role("button", name="Convert in U-GAT-IT →").click()
            page.wait_for_timeout(5000)
            page.screenshot(path=out / "ugatit-sent.png", full_page=True)

        if "acgan" in parts:
            tab(page, "AC-GAN class grid")
            page.get_by_role("button", name="Make the grid").click()
            page.wait_for_timeout(6000)
            thumbs = page.locator("button.thumbnail-item:visible")
            thumbs.nth(0).click()
            page.wait_for_timeout(2500)
            page.screenshot(path=out / "acgan-first-click.png", full_page=True)
            page.keyboard.press("Escape")  # the gallery's preview of the first face
            page.wait_for_timeout(800)
            thumbs = page.locator("button.thumbnail-item:visible")
            thumbs.nth(3).click(force=True)
            page.wait_for_timeout(2500)
            page.screenshot(path=out / "acgan-from-to.png", full_page=True)

        if "training" in parts:
            tab(page, "Training")
            page.screenshot(path=out / "training-open.png", full_page=True)
            steps = field(page, "Steps")
            steps.fill(str(args.train_steps))
            batch = field(page, "Batch size")
            batch.fill("16")
            page.get_by_role("button", name="▶ Start").click()
            page.wait_for_timeout(1500)
            page.screenshot(path=out / "training-starting.png", full_page=True)
            for i in range(90):
                page.wait_for_timeout(2000)
                text = page.locator("body").inner_text()
                if "step" in text and "running" in text and i > 20:
                    break
            page.screenshot(path=out / "training-plot.png", full_page=True)
            page.get_by_role("button", name="■ Stop").click()
            page.wait_for_timeout(4000)
            page.screenshot(path=out / "training-stopped.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
