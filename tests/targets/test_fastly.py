"""Fastly: the generated VCL's decision logic and edge dictionary replayed on the shared
case table (tests/targets/evaluators/fastly.py) — every case gets the SPEC decision."""

from __future__ import annotations

import json
from urllib.parse import quote

from cache_rules.targets import CompileOptions, compile_policy
from cache_rules.targets.fastly import DICTIONARY, DICTIONARY_FILE
from tests.cases import load_cases, load_cases_policy
from tests.targets.evaluators import Got, expected
from tests.targets.evaluators.fastly import decide, parse


def _wire(path: str) -> str:
    return quote(path.split("#", 1)[0], safe="/%?=&;:@!$'()*+,~-._")


def _compiled():
    compiled = compile_policy(load_cases_policy(), "fastly", options=CompileOptions(check=False))
    return compiled.files["fastly.vcl"], json.loads(compiled.files[DICTIONARY_FILE])[DICTIONARY]


def test_case_table_exact() -> None:
    vcl_text, table = _compiled()
    vcl = parse(vcl_text)
    assert vcl.depths == [3, 2, 1] and len(vcl.steps) > 60 and len(vcl.hosts) == 9
    wrong = []
    for case in load_cases():
        r = decide(vcl, table, case.site, _wire(case.path), case.content_type, case.at)
        if Got(r.cache, r.ttl, r.rule) != expected(case):
            wrong.append((case.id, r))
    assert not wrong, wrong


def test_pages_are_data_not_code() -> None:
    vcl_text, table = _compiled()
    assert "/index.html" not in vcl_text and "s3|r|p|/index.html|o" in table
    assert all(len(k) <= 256 and len(v) <= 8000 for k, v in table.items())
    for sub in ("#FASTLY recv", "#FASTLY fetch", "#FASTLY deliver"):
        assert sub in vcl_text
