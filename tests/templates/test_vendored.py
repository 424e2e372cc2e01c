"""web/prism.js is the pinned prismjs, byte for byte: `make vendor` joins the package's own files, and this test
rebuilds that join from node_modules (installed from package-lock.json) so the page cannot drift from the pin."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
PRISM = ROOT / "node_modules" / "prismjs"
HEADER = re.compile(
    r"/\* prismjs (\S+), MIT licence \(prism\.js\.LICENSE\): (core(?: [\w-]+)+)\. Built by make vendor\. \*/\n"
)


def test_web_prism_js_is_the_pinned_packages_files_joined():
    vendored = (ROOT / "web" / "prism.js").read_bytes()
    header = HEADER.match(vendored.decode())
    assert header, "web/prism.js must start with make vendor's header line"
    version, names = header.group(1), header.group(2).split()
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["prismjs"]
    assert version == pinned == json.loads((PRISM / "package.json").read_text())["version"]
    files = b"".join((PRISM / "components" / f"prism-{name}.min.js").read_bytes() + b"\n" for name in names)
    assert vendored == header.group(0).encode() + files
    assert (ROOT / "web" / "prism.js.LICENSE").read_bytes() == (PRISM / "LICENSE").read_bytes()


def test_the_page_loads_the_vendored_highlighter_before_its_modules_and_nothing_from_elsewhere():
    page = (ROOT / "web" / "index.html").read_text()
    sources = re.findall(r'<script[^>]* src="([^"]+)"', page)
    assert sources == ["prism.js", "app.js"]
    assert '<script src="prism.js" defer data-manual>' in page  # no automatic highlighting through innerHTML
