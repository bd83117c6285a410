"""The UI's pure parts: roles and sites, field sets, paging URLs, the chart, origins."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers, QueryParams

from remotetask.jobs import ERROR, QUEUED
from remotetask.ui import Principal
from remotetask.ui.common import detail_templates
from remotetask.ui.cron import field_set
from remotetask.ui.overview import CHART_HEIGHT, chart
from remotetask.ui.paging import DEFAULT_SIZE, JobsView
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


def test_field_sets_take_a_star_or_numbers() -> None:
    assert field_set("*") == ()
    assert field_set(" ") == ()
    assert field_set("2, 13") == (2, 13)
    for bad in ("two", "1-5", "1,,2", "-1"):
        with pytest.raises(ValueError, match=bad):
            field_set(bad)


def test_the_jobs_view_reads_and_writes_its_url() -> None:
    view = JobsView.from_query(
        QueryParams("status=error&status=queued&status=bogus&task=echo&order=asc&size=50&after=7")
    )
    assert view == JobsView((ERROR, QUEUED), "echo", False, 50, 7, None)
    assert view.query()["after"] is None
    assert view.query(before=3)["before"] == 3
    assert JobsView.from_query(QueryParams("size=1000000&after=x")).size == DEFAULT_SIZE
    assert JobsView.from_query(QueryParams("after=99999999999999999999")).after is None


def test_the_chart_scales_to_the_busiest_minute() -> None:
    drawn = chart({0: 2, 59: 4}, since=0.0)
    assert (drawn.total, drawn.peak, len(drawn.bars)) == (6, 4, 60)
    assert drawn.bars[59].height == CHART_HEIGHT
    assert drawn.bars[0].height == CHART_HEIGHT // 2
    assert drawn.bars[1].height == 0
    assert drawn.bars[59].label == "00:59 UTC: 4 jobs"
    assert chart({}, since=0.0).peak == 0


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
