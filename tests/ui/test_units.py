"""The UI's pure parts: roles, field sets, paging URLs and cursors, the chart, inputs."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers, QueryParams

from remotetask.auth import REQUIRED_ROLE, Action, Role
from remotetask.failures import normalise
from remotetask.jobs import ERROR, QUEUED
from remotetask.ui import Principal
from remotetask.ui.filters import ago, count, detail_templates, duration
from remotetask.ui.inputs import parse_json, schema_fields
from remotetask.ui.overview import CHART_HEIGHT, TOP, chart
from remotetask.ui.paging import DEFAULT_SIZE, MAX_SIZE, Cursor, JobsView, parse_cursor
from remotetask.ui.security import same_origin


def test_roles_are_ordered_and_sites_are_patterns() -> None:
    operator = Principal("o", "operate", ("site*", ""))
    assert operator.allows("read")
    assert operator.allows("operate")
    assert not operator.allows("admin")
    assert operator.sees("site1")
    assert operator.sees("")
    assert not operator.sees("other")
    assert Principal("a", "admin", ("*",)).sees("")
    with pytest.raises(ValueError, match="unknown role"):
        Principal("x", "root", ("*",))


def test_the_role_table_names_every_action_once() -> None:
    assert set(REQUIRED_ROLE) == set(Action)
    submit = Principal("s", "submit", ("*",))
    assert submit.may(Action.ADD_JOB)
    assert submit.may(Action.START_JOB)
    assert not submit.may(Action.ADD_CRON)  # cron jobs need admin, in the UI as in the API
    assert REQUIRED_ROLE[Action.CHANGE_CRON] == Role.ADMIN


def test_the_jobs_view_reads_and_writes_its_url() -> None:
    view = JobsView.from_query(
        QueryParams(
            "status=error&status=queued&status=bogus&task=echo&order=asc&size=50&after=7&q=mov"
        )
    )
    assert view == JobsView((ERROR, QUEUED), "echo", "mov", "id", False, 50, "7", None)
    assert view.query()["after"] is None
    assert view.query(before="3")["before"] == "3"
    assert JobsView.from_query(QueryParams(f"size={MAX_SIZE + 1}")).size == DEFAULT_SIZE
    assert JobsView.from_query(QueryParams("size=333")).size == 333
    assert JobsView.from_query(QueryParams("size=²")).size == DEFAULT_SIZE
    assert JobsView.from_query(QueryParams("sort=ended")).sorted_by("ended")["order"] == "asc"


def test_cursors_carry_the_sort_value_and_refuse_what_the_server_never_wrote() -> None:
    assert parse_cursor("12", "id") == Cursor(12)
    assert parse_cursor("12:convert", "task") == Cursor(12, "convert")
    assert parse_cursor("12:1700000000.5", "ended") == Cursor(12, 1700000000.5)
    assert parse_cursor("12", "ended") == Cursor(12, None)  # among the jobs that never ended
    for bad in ("x", "99999999999999999999", "12:nan", "12:1e300", "\uff11\uff12"):
        assert parse_cursor(bad, "ended") is None


def test_the_chart_stacks_errors_on_completed_jobs() -> None:
    drawn = chart({0: (2, 0), 59: (3, 1)}, since=0.0)
    assert (drawn.total, drawn.failed, drawn.peak, len(drawn.bars)) == (6, 1, 4, 60)
    top = drawn.bars[59]
    assert top.done_height + top.failed_height == CHART_HEIGHT - TOP
    assert drawn.bars[1].done_height == 0
    assert drawn.bars[59].label == "00:59 UTC: 3 completed, 1 errored"
    assert [label for _, label in drawn.ticks] == ["00:00", "00:15", "00:30", "00:45"]


def test_words_for_times_and_counts() -> None:
    assert duration(0.25) == "250 ms"
    assert duration(14400) == "4 h"
    assert duration(3 * 86400 + 3600) == "3 d 1 h"
    assert ago(100.0, 160.0) == "1 min ago"
    assert ago(200.0, 160.0) == "in 40 s"
    assert count(10_000) == "10,000+"
    assert count(9_999) == "9,999"


def test_error_messages_are_grouped_without_their_particulars() -> None:
    assert normalise("cannot open '/data/a.mov' after 3 tries") == normalise(
        "cannot open '/data/b.mov' after 12 tries"
    )
    assert normalise("job 12 timed out") == "job <n> timed out"
    assert normalise(None) == ""


def test_json_inputs_are_strict() -> None:
    assert parse_json('{"a": [1, 2]}') == {"a": [1, 2]}
    assert parse_json("  ") is None
    for bad in ("NaN", '{"a": Infinity}', '{"a": 1, "a": 2}', "[" * 40 + "]" * 40, "{"):
        with pytest.raises(ValueError, match=r"\w"):
            parse_json(bad)


def test_a_form_is_built_from_an_object_schema() -> None:
    fields = schema_fields(
        {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "description": "a path"},
                "speed": {"type": "integer", "default": 2},
                "mode": {"enum": ["fast", "slow"]},
                "tags": {"type": "array"},
            },
        }
    )
    assert fields is not None
    assert [(f.name, f.kind, f.required) for f in fields] == [
        ("file", "text", True),
        ("speed", "integer", False),
        ("mode", "choice", False),
        ("tags", "json", False),
    ]
    assert schema_fields({"type": "array"}) is None
    assert schema_fields(None) is None


def test_only_our_own_origin_may_post() -> None:
    host = {"host": "ui.example:8080"}
    assert same_origin(Headers(host))
    assert same_origin(Headers({**host, "origin": "https://ui.example:8080"}))
    assert not same_origin(Headers({**host, "origin": "https://evil.example"}))
    assert not same_origin(Headers({**host, "origin": "null"}))
    assert same_origin(Headers({**host, "referer": "http://ui.example:8080/ui/x"}))
    assert not same_origin(Headers({**host, "referer": "http://evil.example/ui.example:8080"}))


def test_only_plain_task_names_pick_a_detail_template() -> None:
    assert detail_templates("convert") == ["convert_detail.html", "detail.html"]
    assert detail_templates("../secret") == ["detail.html"]
