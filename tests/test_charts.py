"""The patient's history: chart geometry, ranges in the patient's time zone, and the page itself."""

import datetime as dt
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from aftercare.localtime import local_day
from aftercare.models import CheckIn
from aftercare.models import utcnow
from aftercare.selfreports import charts
from aftercare.selfreports.instruments import GAD7
from aftercare.selfreports.instruments import PHQ9
from tests.factories import make_admin
from tests.factories import make_checkin
from tests.factories import make_clinician
from tests.factories import make_mood
from tests.factories import make_patient

TODAY = dt.date(2025, 3, 12)
D = dt.timedelta(days=1)


def day(n: int, score: float = 5, *, low=None, high=None, count=1) -> charts.Day:
    """A day `n` days before TODAY whose entries average `score`."""
    low = int(score) if low is None else low
    high = int(score) if high is None else high
    return charts.Day(TODAY - n * D, count, round(score * count), low, high)


def week() -> charts.Window:
    return charts.window("7", TODAY)


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"([\d.]+) ([\d.]+)", d)]


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("asked", "key"),
    [("7", "7"), ("30", "30"), ("all", "all"), (None, "30"), ("", "30"), ("365", "30"), ("ALL", "30"), (["7"], "30")],
)
def test_unknown_ranges_fall_back_to_30_days(asked, key):
    assert charts.parse_range(asked) == key


@pytest.mark.parametrize(
    ("key", "first_day", "start", "days"),
    [
        ("7", None, dt.date(2025, 3, 6), 7),
        ("30", None, dt.date(2025, 2, 11), 30),
        ("30", dt.date(2020, 1, 1), dt.date(2025, 2, 11), 30),  # a fixed range ignores the first entry
        ("all", dt.date(2024, 11, 2), dt.date(2024, 11, 2), 131),  # all: from the first entry
        ("all", TODAY - D, TODAY - 6 * D, 7),  # ...but never narrower than a week
        ("all", None, TODAY - 6 * D, 7),
        ("nonsense", None, dt.date(2025, 2, 11), 30),
    ],
)
def test_window_ends_today_and_starts_by_range(key, first_day, start, days):
    window = charts.window(key, TODAY, first_day)
    assert (window.start, window.end, window.days) == (start, TODAY, days)


@pytest.mark.parametrize(
    ("zone", "now_utc", "key", "local_start", "since", "until"),
    [
        # New York springs forward on 9 March 2025: the week starts at EST midnight, ends at EDT midnight.
        ("America/New_York", dt.datetime(2025, 3, 12, 15), "7", dt.date(2025, 3, 6),
         dt.datetime(2025, 3, 6, 5), dt.datetime(2025, 3, 13, 4)),
        # 22:00 on the 9th in New York is already the 10th in UTC: "today" is the patient's.
        ("America/New_York", dt.datetime(2025, 3, 10, 2), "7", dt.date(2025, 3, 3),
         dt.datetime(2025, 3, 3, 5), dt.datetime(2025, 3, 10, 4)),
        # London falls back on 26 October 2025: 30 days from BST into GMT.
        ("Europe/London", dt.datetime(2025, 11, 10, 9), "30", dt.date(2025, 10, 12),
         dt.datetime(2025, 10, 11, 23), dt.datetime(2025, 11, 11, 0)),
        # Sydney leaves daylight time on 6 April 2025; its local day runs ahead of UTC.
        ("Australia/Sydney", dt.datetime(2025, 4, 9, 20), "7", dt.date(2025, 4, 4),
         dt.datetime(2025, 4, 3, 13), dt.datetime(2025, 4, 10, 14)),
    ],
)  # fmt: skip
def test_window_is_local_days_across_a_dst_change(zone, now_utc, key, local_start, since, until):
    window = charts.window(key, local_day(now_utc, zone))
    assert window.start == local_start
    assert window.utc_bounds(zone) == (since, until)


def test_checkins_either_side_of_local_midnight_fall_on_the_right_side_of_the_window():
    zone = "America/New_York"
    window = charts.window("7", dt.date(2025, 3, 9))  # 3-9 March, DST begins on the last day
    since, until = window.utc_bounds(zone)
    just_inside = dt.datetime(2025, 3, 3, 5, 30)  # 00:30 EST on the 3rd
    just_before = dt.datetime(2025, 3, 3, 4, 30)  # 23:30 EST on the 2nd
    last_minute = dt.datetime(2025, 3, 10, 3, 59)  # 23:59 EDT on the 9th
    assert since <= just_inside < until
    assert not since <= just_before < until
    assert since <= last_minute < until
    scores = charts.local_scores([CheckIn(submitted_at=w, total=3) for w in (just_before, just_inside)], zone)
    assert [when.date() for when, _ in scores] == [dt.date(2025, 3, 2), dt.date(2025, 3, 3)]


# --------------------------------------------------------------------------- mood chart


@pytest.mark.parametrize(("value", "edge"), [(0, "bottom"), (10, "top"), (5, "middle")])
def test_mood_values_scale_to_the_plot_edges(value, edge):
    chart = charts.mood_chart([day(3, value)], week(), markers=[])
    plot = chart.plot
    expected = {"bottom": plot.bottom, "top": plot.top, "middle": (plot.top + plot.bottom) / 2}[edge]
    assert chart.points[0].y == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize(("n", "edge"), [(6, "first"), (0, "last")])
def test_days_sit_at_the_middle_of_their_slot(n, edge):
    chart = charts.mood_chart([day(n)], week(), markers=[])
    plot, slot = chart.plot, chart.plot.width / 7
    expected = plot.left + slot / 2 if edge == "first" else plot.right - slot / 2
    assert chart.points[0].x == pytest.approx(expected, abs=0.05)


def test_gridlines_at_0_5_10_carry_words():
    chart = charts.mood_chart([day(1)], week(), markers=[])
    assert [t.label for t in chart.y_ticks] == ["Very low", "Okay", "Very good"]
    assert chart.grid == [chart.plot.bottom, (chart.plot.top + chart.plot.bottom) / 2, chart.plot.top]


def test_a_day_without_entries_breaks_the_line():
    days = [day(6, 4), day(5, 5), day(4, 6), day(2, 7), day(1, 8)]  # nothing 3 days ago
    chart = charts.mood_chart(days, week(), markers=[])
    assert len(chart.points) == 5
    assert [len(path_points(d)) for d in chart.lines] == [3, 2]
    # No segment spans the missing day: the first ends at day 4, the second starts at day 2.
    assert path_points(chart.lines[0])[-1][0] == chart.points[2].x
    assert path_points(chart.lines[1])[0][0] == chart.points[3].x


def test_a_lone_day_is_a_point_with_a_bar_for_its_range():
    chart = charts.mood_chart([day(5, 5, low=2, high=8, count=3), day(2, 6)], week(), markers=[])
    assert chart.lines == []
    assert len(chart.points) == 2
    assert len(chart.bands) == 1  # the day with one score has no range to show
    ys = [y for _, y in path_points(chart.bands[0])]
    assert min(ys) == charts._Scale(week(), chart.plot, 0, 10).y(8)
    assert max(ys) == charts._Scale(week(), chart.plot, 0, 10).y(2)


def test_the_band_runs_from_each_days_low_to_high():
    days = [day(2, 5, low=3, high=7, count=2), day(1, 6, low=4, high=9, count=2)]
    chart = charts.mood_chart(days, week(), markers=[])
    scale = charts._Scale(week(), chart.plot, 0, 10)
    corners = path_points(chart.bands[0])
    assert [y for _, y in corners] == [scale.y(7), scale.y(9), scale.y(4), scale.y(3)]
    assert chart.bands[0].endswith("Z")


def test_days_outside_the_window_are_left_out():
    chart = charts.mood_chart([day(7), day(6), day(0), day(-1)], week(), markers=[])
    assert len(chart.points) == 2
    assert [row[0] for row in chart.rows] == ["Wed 12 Mar", "Thu 6 Mar"]  # newest first


def test_the_summary_is_one_plain_sentence():
    days = [day(2, 5, low=4, high=6, count=2), day(1, 7, low=6, high=9, count=3)]  # 10 + 21 over 5 entries
    chart = charts.mood_chart(days, charts.window("30", TODAY), markers=[])
    assert chart.summary == "Over the last 30 days your average mood was 6.2, from 4 to 9, on 2 days."
    assert chart.rows == [("Tue 11 Mar", "7.0", "6–9", "3"), ("Mon 10 Mar", "5.0", "4–6", "2")]


def test_all_time_summary_says_since_when():
    first = dt.date(2024, 12, 30)
    chart = charts.mood_chart([charts.Day(first, 1, 3, 3, 3)], charts.window("all", TODAY, first), markers=[])
    assert chart.summary == "Since 30 December 2024, your average mood was 3.0, from 3 to 3, on 1 day."
    assert chart.rows[0][0] == "Mon 30 Dec 2024"  # the window spans two years


@pytest.mark.parametrize(
    ("key", "text"), [("7", "No mood entries in the last 7 days yet."), ("all", "No mood entries yet.")]
)
def test_no_entries_gives_an_empty_chart_and_a_friendly_line(key, text):
    chart = charts.mood_chart([], charts.window(key, TODAY), markers=[])
    assert chart.empty
    assert (chart.summary, chart.lines, chart.bands, chart.rows) == ("", [], [], [])
    assert chart.empty_text == text


@pytest.mark.parametrize("key", ["7", "30", "all"])
def test_date_ticks_are_few_and_inside_the_viewbox(key):
    window = charts.window(key, TODAY, dt.date(2023, 6, 1))
    chart = charts.mood_chart([day(1)], window, markers=[])
    ticks = chart.x_ticks
    assert 2 <= len(ticks) <= charts.MAX_X_TICKS
    assert ticks[0].at == charts._Scale(window, chart.plot, 0, 10).x(window.start)
    assert ticks[-1].at == charts._Scale(window, chart.plot, 0, 10).x(TODAY)
    for tick in ticks:
        half = len(tick.label) * charts.FONT_SIZE * 0.3
        assert half <= tick.label_at <= chart.width - half


@pytest.mark.parametrize(("key", "radius"), [("7", 4), ("30", 3.8), ("all", 2.5)])
def test_points_shrink_as_days_crowd_together(key, radius):
    chart = charts.mood_chart([day(1)], charts.window(key, TODAY, TODAY - 400 * D), markers=[])
    assert chart.point_radius == radius


def test_session_days_are_marked_when_in_the_window():
    sessions = [TODAY - 2 * D, TODAY - 40 * D]
    chart = charts.mood_chart([day(2), day(1)], week(), markers=sessions)
    assert chart.markers == [chart.points[0].x]
    assert chart.description.endswith("Dashed lines mark 1 session day.")
    assert chart.rows[-1][0] == "Mon 10 Mar (session day)"


def test_no_sessions_no_markers():
    chart = charts.mood_chart([day(2)], week(), markers=[])
    assert chart.markers == []
    assert chart.description == chart.summary


# --------------------------------------------------------------------------- PHQ-9 and GAD-7


@pytest.mark.parametrize(
    ("instrument", "ranges"),
    [
        (PHQ9, [(0, 4.5, "minimal"), (4.5, 9.5, "mild"), (9.5, 14.5, "moderate"),
                (14.5, 19.5, "moderately severe"), (19.5, 27, "severe")]),
        (GAD7, [(0, 4.5, "minimal"), (4.5, 9.5, "mild"), (9.5, 14.5, "moderate"), (14.5, 21, "severe")]),
    ],
)  # fmt: skip
def test_severity_bands_follow_the_published_cut_offs(instrument, ranges):
    assert charts.severity_ranges(instrument) == ranges


@pytest.mark.parametrize(
    ("instrument", "total", "band"),
    [(PHQ9, 4, "minimal"), (PHQ9, 5, "mild"), (PHQ9, 10, "moderate"), (PHQ9, 15, "moderately severe"),
     (PHQ9, 20, "severe"), (PHQ9, 27, "severe"), (GAD7, 9, "mild"), (GAD7, 15, "severe"), (GAD7, 0, "minimal")],
)  # fmt: skip
def test_each_score_is_drawn_inside_its_own_shaded_band(instrument, total, band):
    chart = charts.score_chart(instrument, [(dt.datetime(2025, 3, 10, 9), total)], week(), markers=[])
    zone = next(z for z in chart.zones if z.name == band)
    assert zone.css == "chart-severity-" + band.replace(" ", "-")
    assert zone.y <= chart.points[0].y <= zone.y + zone.height
    assert instrument.band(total) == band


@pytest.mark.parametrize(("instrument", "total", "edge"), [(PHQ9, 0, "bottom"), (PHQ9, 27, "top"), (GAD7, 21, "top")])
def test_scores_scale_to_the_plot_edges(instrument, total, edge):
    chart = charts.score_chart(instrument, [(dt.datetime(2025, 3, 10, 9), total)], week(), markers=[])
    assert chart.points[0].y == getattr(chart.plot, edge)


def test_bands_fill_the_plot_from_bottom_to_top():
    chart = charts.score_chart(PHQ9, [], week(), markers=[])
    zones = sorted(chart.zones, key=lambda z: z.y)
    assert zones[0].y == chart.plot.top
    assert zones[-1].y + zones[-1].height == pytest.approx(chart.plot.bottom, abs=0.1)
    for upper, lower in zip(zones, zones[1:], strict=False):
        assert upper.y + upper.height == pytest.approx(lower.y, abs=0.1)
    assert [t.label for t in chart.y_ticks] == ["0", "5", "10", "15", "20", "27"]


def test_scores_are_joined_oldest_to_newest_at_their_local_time():
    scores = [(dt.datetime(2025, 3, 11, 18), 8), (dt.datetime(2025, 3, 7, 9), 14), (dt.datetime(2025, 3, 11, 8), 11)]
    chart = charts.score_chart(PHQ9, scores, week(), markers=[])
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and len(set(xs)) == 3  # two on one day stay apart
    assert len(chart.lines) == 1 and len(path_points(chart.lines[0])) == 3
    assert chart.summary == (
        "Over the last 7 days you completed the PHQ-9 3 times. Your latest score was 8 (mild) on 11 March; "
        "the first was 14 (moderate) on 7 March."
    )
    assert chart.rows[0] == ("Tue 11 Mar", "8 of 27", "mild")


def test_a_single_score_has_no_line():
    chart = charts.score_chart(GAD7, [(dt.datetime(2025, 3, 11, 18), 3)], week(), markers=[])
    assert chart.lines == []
    assert chart.summary == "Over the last 7 days you completed the GAD-7 once: 3 (minimal) on 11 March."


def test_no_scores_is_an_empty_chart():
    chart = charts.score_chart(GAD7, [(dt.datetime(2025, 1, 1, 9), 12)], week(), markers=[])
    assert chart.empty
    assert chart.empty_text == "No GAD-7 questionnaires in the last 7 days yet."
    assert chart.zones  # the bands still describe the scale


# --------------------------------------------------------------------------- the page


def render_svg(app, chart) -> str:
    with app.test_request_context():
        return str(app.jinja_env.get_template("_macros/charts.html").module.chart_svg(chart))


@pytest.mark.parametrize("instrument", [None, PHQ9, GAD7])
def test_charts_render_as_well_formed_svg_with_title_and_desc(app, instrument):
    if instrument is None:
        chart = charts.mood_chart([day(3, 2, low=1, high=4, count=2), day(2, 6)], week(), markers=[])
    else:
        chart = charts.score_chart(instrument, [(dt.datetime(2025, 3, 10, 9), 12)], week(), markers=[])
    svg = ElementTree.fromstring(render_svg(app, chart))
    assert svg.get("viewBox") == f"0 0 {charts.WIDTH} {chart.height}" and svg.get("width") == "100%"
    assert svg.get("role") == "img"
    assert svg.find("title").get("id") == svg.get("aria-labelledby")
    assert svg.find("desc").text == chart.summary
    assert len(svg.findall("circle")) == len(chart.points)
    assert all(el.get("style") is None for el in svg.iter())  # the CSP allows no inline styles


def test_session_days_render_as_dashed_lines(app):
    chart = charts.mood_chart([day(2), day(1)], week(), markers=[TODAY - 2 * D])
    svg = render_svg(app, chart)
    assert svg.count('class="chart-marker"') == 1
    assert "Dashed lines mark 1 session day." in svg


def test_the_templates_never_mark_anything_safe():
    templates = Path(charts.__file__).parents[1] / "templates"
    for name in ("selfreports/history.html", "_macros/charts.html"):
        source = (templates / name).read_text()
        assert "|safe" not in source.replace(" ", "") and "Markup" not in source and "autoescape" not in source


def _ago(days: float) -> str:
    return (utcnow() - dt.timedelta(days=days)).replace(tzinfo=dt.UTC).isoformat()


def log_mood(patient, score, days_ago, note=""):
    return make_mood(patient, score, note, recorded_at=utcnow() - dt.timedelta(days=days_ago))


def log_checkin(patient, instrument, answers, days_ago):
    return make_checkin(patient, instrument, answers, days_ago=days_ago)


@pytest.fixture
def patient(app, auth):
    make_admin()
    patient = make_patient(make_clinician(), timezone="America/New_York")
    assert auth.login(patient).status_code == 302
    return patient


def page(client, query=""):
    response = client.get("/history" + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_history_shows_mood_and_scores_as_charts_with_text(client, patient):
    log_mood(patient, 3, 2.2)
    log_mood(patient, 7, 2.1)
    log_mood(patient, 9, 1)
    log_checkin(patient, "phq9", [2] * 7 + [0, 0], 12)
    log_checkin(patient, "phq9", [1] * 7 + [0, 0], 1)
    log_checkin(patient, "gad7", [1] * 7, 1)
    html = page(client)
    assert "<h1>Your history</h1>" in html
    assert html.count('<svg class="chart"') == 3
    assert html.count('role="img"') == 3
    assert 'aria-labelledby="mood-chart-title"' in html and '<desc id="mood-chart-desc">' in html
    days = len({local_day(utcnow() - dt.timedelta(days=n), patient.timezone) for n in (2.2, 2.1, 1)})
    assert f"your average mood was 6.3, from 3 to 9, on {days} days." in html
    assert "you completed the PHQ-9 2 times" in html
    assert "7 (mild)" in html and "14 (moderate)" in html
    assert "you completed the GAD-7 once: 7 (mild)" in html
    assert html.count("<details") == 3
    assert 'class="chart-severity chart-severity-moderately-severe"' in html


@pytest.mark.parametrize(
    ("query", "current"), [("", "30"), ("?range=7", "7"), ("?range=all", "all"), ("?range=<b>", "30")]
)
def test_the_range_switch_marks_the_current_range(client, patient, query, current):
    html = page(client, query)
    links = re.findall(r'<a href="/history\?range=(\w+)"( aria-current="page")?>', html)
    assert [key for key, _ in links] == ["7", "30", "all"]
    assert [key for key, now in links if now] == [current]
    assert "<b>" not in html


def test_the_range_picks_local_days(client, patient):
    log_mood(patient, 2, 10)
    log_mood(patient, 8, 1)
    assert "on 2 days" in page(client, "?range=30")
    assert "on 1 day." in page(client, "?range=7")
    log_checkin(patient, "gad7", [3] * 7, 45)
    all_time = page(client, "?range=all")
    started = local_day(utcnow() - dt.timedelta(days=45), patient.timezone)
    assert f"Since {started.day} {started:%B %Y}, you completed the GAD-7 once" in all_time
    assert "No GAD-7 questionnaires in the last 30 days yet." in page(client, "?range=30")


def test_a_new_patient_sees_friendly_empty_states(client, patient):
    html = page(client, "?range=7")
    assert "No mood entries in the last 7 days yet." in html
    assert "Log one from Today.</a>" in html
    assert "No PHQ-9 questionnaires in the last 7 days yet." in html
    assert '<svg class="chart"' not in html
    assert 'href="/home"' in html


def test_notes_never_reach_the_page(client, patient):
    log_mood(patient, 4, 1, note='<script>alert("x")</script> <img src=x onerror=alert(1)>')
    html = page(client)
    assert "<script>alert" not in html
    assert "onerror" not in html
    assert "alert(" not in html  # not even escaped: the history draws numbers only


def test_another_patients_entries_stay_out(client, patient):
    other = make_patient()
    log_mood(other, 0, 1)
    log_checkin(other, "phq9", [3] * 9, 1)
    html = page(client)
    assert "No mood entries in the last 30 days yet." in html
    assert "No PHQ-9 questionnaires in the last 30 days yet." in html


def test_staff_cannot_open_a_patients_history(client, auth, app):
    make_admin()
    clinician = make_clinician()
    auth.login(clinician)
    assert client.get("/history").status_code == 403
