"""Run Debian's wapiti 3.0.4 with its URL exclusions working on Python 3.11.

wapiti 3.0.4 compiles each `-x` pattern with a trailing `(?ms)`, which Python 3.11 refuses
("global flags not at the start of the expression"), so any exclusion stops the scan before it
starts. This puts the flags first and then runs wapiti as `/usr/bin/wapiti` would. Run it with the
Python wapiti is installed for: `/usr/bin/python3 tests/scanners/wapiti_run.py ARGS...`.
"""

import re
import sys

import wapitiCore.net.crawler as crawler
from wapitiCore.main.wapiti import wapiti_main


def wildcard_translate(pattern: str):
    return re.compile("(?ms)" + "".join(".*" if char == "*" else re.escape(char) for char in pattern) + r"\Z")


crawler.wildcard_translate = wildcard_translate
sys.argv[0] = "wapiti"
sys.exit(wapiti_main())
