"""A page loaded in Debian's headless chromium with no network (a fresh network namespace), as a
person opening a report on an air-gapped machine would: the DOM it built, its console messages, and
the charts it holds."""
import re
import shutil
import subprocess
import tempfile
from typing import Dict, List

from tests.e2e.conftest import network_namespace_available

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Attributes and CSS that would make the browser fetch something.
FETCHES = re.compile(r"""(?:\bsrc|\bhref)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I)


def load(path: str) -> subprocess.CompletedProcess:
    assert CHROMIUM, "the report tests need Debian's chromium (`make test` installs it)"
    with tempfile.TemporaryDirectory() as profile:  # its own: tests run two at a time (Makefile)
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                   "--enable-logging=stderr", "--v=0", "--dump-dom", f"file://{path}"]
        if network_namespace_available():
            command = ["unshare", "--net", *command]
        page = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert page.returncode == 0, page.stderr[-2000:]
    return page


def console_messages(page: subprocess.CompletedProcess) -> List[str]:
    """What the page logged to its console (chromium prints each as `CONSOLE(line)`). Messages of
    chromium's own pages (`source: chrome://...`) are not the page's: a busy machine made one of them
    log "Slow network is detected" for a font of chromium's own UI."""
    return [line for line in page.stderr.splitlines()
            if "CONSOLE" in line and "source: chrome://" not in line]


def charts(dom: str) -> Dict[str, int]:
    """Chart id -> how many points its SVG paths draw (vertices of its `d` attributes)."""
    found = {}
    for match in re.finditer(r'<figure class="chart" id="chart-([^"]+)">(.*?)</figure>', dom, re.S):
        paths = re.findall(r'<path [^>]*?\bd="([^"]*)"', match.group(2))
        found[match.group(1)] = sum(len(re.findall(r"[ML]", d)) for d in paths)
    return found
