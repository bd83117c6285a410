from __future__ import annotations

import pytest

from remotetask.errors import InvalidReferenceError
from remotetask.refs import Directive, ServiceRef, parse_directives


def test_site_and_root_references() -> None:
    ref = ServiceRef.parse("site1@TestTaskService1")
    assert (ref.site, ref.name, str(ref)) == ("site1", "TestTaskService1", "site1@TestTaskService1")
    assert ref.thread_name == "remotetasks.site1.TestTaskService1"
    root = ServiceRef.parse("@RootTaskService")
    assert (root.site, root.site_label, root.thread_name) == (
        "",
        "root",
        "remotetasks.RootTaskService",
    )


@pytest.mark.parametrize(
    "text",
    ["", "Service", "a@b@c", "site@", "si te@Svc", "site@Sv/c", "*@Svc", "@*", "x@" + "a" * 101],
)
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(InvalidReferenceError):
        ServiceRef.parse(text)


def test_directives_match_as_the_original() -> None:
    site1 = ServiceRef("site1", "TestTaskService1")
    site2 = ServiceRef("site2", "TestTaskService1")
    root = ServiceRef("", "RootTaskService")
    table = {
        "site1@TestTaskService1": {site1},
        "@RootTaskService": {root},
        "site1@*": {site1},
        "*@*": {site1, site2, root},
        "*@TestTaskService1": {site1, site2},
        "*@Foo": set(),
        "@*": {root},
    }
    for text, expected in table.items():
        directive = Directive.parse(text)
        assert {r for r in (site1, site2, root) if directive.matches(r)} == expected, text


def test_directive_lists_split_on_commas_like_zope_conf() -> None:
    parsed = parse_directives("site1@TestTaskService1, site2@TestTaskService2,@RootTaskService")
    assert [d.text for d in parsed] == [
        "site1@TestTaskService1",
        "site2@TestTaskService2",
        "@RootTaskService",
    ]
    assert [d.text for d in parse_directives(["*@*"])] == ["*@*"]
