"""`python -m bench.render` (`make bench SECTION=render`): the chat page's cost per delta as a long reply grows.

In headless Chromium (Debian's, as tests/browser drives it), the page's own markdown.js renders a long Markdown
reply (paragraphs, tables, fenced code in three languages, lists: 30,000 characters by default) delta by delta, one
render per delta (the page renders at most once per animation frame, so this is the worst case), each render
followed by a forced layout. Two ways:
  stream   MarkdownStream.update: settled blocks kept, only the open last block rendered again (what the page does)
  full     the whole reply rendered again from the start (what the page did before issue 26)
Prints the median ms per delta over each tenth of the reply and writes bench/render.json. About a minute (most
of it the full re-renders).
"""

import argparse
import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("render.json")

SECTION = (
    "## Part {n}\n\nA paragraph with **bold**, `code` and a [link](https://example.com/{n}) that runs on for a "
    "while, as a model's explanation does, before the table.\n\n"
    "| Option | Default | Meaning |\n|:--|:-:|--:|\n"
    + "".join(f"| `opt{k}` | {k * 3} | what option {k} changes |\n" for k in range(6))
    + "\n```python\n"
    + "".join(f"def step_{k}(x):\n    return x * {k}  # scale\n" for k in range(6))
    + "```\n\n- one point\n- [x] a done task\n- ~~dropped~~ idea\n\n"
)

MEASURE = """async ({text, piece, mode}) => {
  const {MarkdownStream, renderMarkdown} = await import("/markdown.js");
  const parent = document.createElement("div");
  document.getElementById("log").append(parent);
  const stream = new MarkdownStream(parent);
  const times = [];
  for (let end = piece; end < text.length + piece; end += piece) {
    const sofar = text.slice(0, end);
    const start = performance.now();
    if (mode === "stream") stream.update(sofar);
    else parent.replaceChildren(renderMarkdown(sofar));
    parent.offsetHeight; // layout, as the browser must do before the next paint
    times.push(performance.now() - start);
  }
  parent.remove();
  return times;
}"""


class QuietFiles(SimpleHTTPRequestHandler):
    """web/ as static files, as a deployed page is served (the page finds no API: it only needs its modules)."""

    def log_message(self, *_args) -> None:
        pass


def tenths(times: list[float]) -> list[float]:
    size = len(times) // 10
    return [round(sorted(times[i * size : (i + 1) * size])[size // 2], 3) for i in range(10)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__)
    parser.add_argument("--sections", type=int, default=40, help="reply length in sections (default %(default)s)")
    parser.add_argument("--piece", type=int, default=16, help="characters per delta (default %(default)s)")
    args = parser.parse_args(argv)
    text = "".join(SECTION.format(n=n) for n in range(args.sections))

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietFiles, directory=str(ROOT / "web")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            results = {"characters": len(text), "deltas": -(-len(text) // args.piece), "piece": args.piece}
            for mode in ("stream", "full"):
                results[mode] = tenths(page.evaluate(MEASURE, {"text": text, "piece": args.piece, "mode": mode}))
            browser.close()
    finally:
        server.shutdown()

    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{results['characters']:,} characters in {results['deltas']:,} deltas of {args.piece}: median ms per delta")
    print("tenth of the reply " + " ".join(f"{n:>6}" for n in range(1, 11)))
    for mode in ("stream", "full"):
        print(f"{mode:<19}" + " ".join(f"{ms:6.2f}" for ms in results[mode]))


if __name__ == "__main__":
    main()
