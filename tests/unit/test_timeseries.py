"""Time series: what a <TimeSeries> reads from a CSV or from the task's JSON, the errors a
person can act on, and ranges stored in Label Studio's "timeserieslabels" shape."""

from __future__ import annotations

import pytest

from labelkit.config import task_config
from labelkit.config.templates import TEMPLATES
from labelkit.media import timeseries as ts
from labelkit.results import regions as rg
from labelkit.results.items import REGIONS, build_result, values_of
from labelkit.settings import get_settings
from labelkit.storage import local


def series_config(attrs: str, channels: str = '<Channel column="a"/>') -> str:
    return f"""<View>
  <TimeSeriesLabels name="label" toName="ts"><Label value="Run"/><Label value="Walk"/></TimeSeriesLabels>
  <TimeSeries name="ts" value="$csv" {attrs}>{channels}</TimeSeries>
  <Choices name="quality" toName="ts" perRegion="true"><Choice value="Good"/><Choice value="Bad"/></Choices>
</View>"""


def load(attrs: str, csv: str, channels: str = '<Channel column="a"/>') -> ts.Series:
    config = task_config(series_config(attrs, channels), {"csv": csv})
    return ts.load(config.objects["ts"], {"csv": csv})


def test_a_csv_with_a_header_gives_the_time_column_and_each_channel() -> None:
    series = load('timeColumn="t"', "t,a,b\n0.5,1,2\n1.5,3,4\n", '<Channel column="a"/><Channel column="b"/>')
    assert series.time == [0.5, 1.5]
    assert series.values == {"a": [1.0, 3.0], "b": [2.0, 4.0]}
    assert [c.column for c in series.channels] == ["a", "b"] and not series.dates


def test_without_a_time_column_time_is_the_row_number() -> None:
    series = load("", "a\n5\n6\n7\n")
    assert series.time == [0, 1, 2] and series.values["a"] == [5.0, 6.0, 7.0]


def test_a_headless_csv_names_columns_by_number_and_sep_splits_them() -> None:
    series = load('timeColumn="0" sep=";"', "10;1,5;7\n20;2,5;8\n", '<Channel column="2"/>')
    assert series.time == [10, 20] and series.values["2"] == [7.0, 8.0]


def test_a_tab_separated_file_is_read_without_sep() -> None:
    assert load('timeColumn="t"', "t\ta\n1\t2\n").values["a"] == [2.0]


def test_time_format_gives_milliseconds_since_1970_as_label_studio_stores_them() -> None:
    series = load('timeColumn="t" timeFormat="%Y-%m-%d %H:%M:%S.%f"',
                  "t,a\n2020-06-15 20:32:31.951807,1\n2020-06-15 20:32:32.000000,2\n")
    assert series.dates
    assert series.time == [1592253151951.807, 1592253152000]
    assert ts.format_time(series, series.time[1]) == "2020-06-15 20:32:32"


def test_d3_only_directives_and_epoch_formats_parse() -> None:
    assert load('timeColumn="t" timeFormat="%Y-%m-%dT%H:%M:%S.%L"', "t,a\n2021-01-01T00:00:01.250,1\n").time == [
        1609459201250]
    assert load('timeColumn="t" timeFormat="%s"', "t,a\n1609459201,1\n").time == [1609459201000]
    assert load('timeColumn="t" timeFormat="%Q"', "t,a\n1609459201250,1\n").time == [1609459201250]


def test_inline_json_columns_are_read_from_the_task() -> None:
    xml = series_config('valueType="json" timeColumn="day"', '<Channel column="visits"/>')
    data = {"csv": {"day": [1, 2, 3], "visits": [10, None, 30]}}
    series = ts.load(task_config(xml, data).objects["ts"], data)
    assert series.time == [1, 2, 3] and series.values["visits"] == [10.0, None, 30.0]


def test_empty_cells_are_gaps_not_zeros() -> None:
    assert load('timeColumn="t"', "t,a\n1,\n2,NaN\n3,4\n").values["a"] == [None, None, 4.0]


@pytest.mark.parametrize(("attrs", "csv", "message"), [
    ('timeColumn="t"', "t,a\n1,2\n", "column 'b' is not in the CSV (its columns: t, a)"),
    ('timeColumn="t"', "t,b\n1,2\n2,oops\n", "row 3: 'oops' in column 'b' is not a number"),
    ('timeColumn="t"', "t,b\n1,2\n3,2\n2,2\n", "row 4: time 2 comes before the row above it; the time column must be sorted"),
    ('timeColumn="t" timeFormat="%Y-%m-%d"', "t,b\n2020-01-01,2\n01/02/2020,3\n", "row 3: '01/02/2020' does not match timeFormat '%Y-%m-%d'"),
    ('timeColumn="t"', "t,b\n", "the series has no rows"),
    ('timeColumn="t"', "t,b\n,2\n", "row 2: the time column 't' is empty"),
])
def test_bad_data_is_refused_with_a_message_that_says_where(attrs: str, csv: str, message: str) -> None:
    with pytest.raises(ts.TimeSeriesError) as raised:
        load(attrs, csv, '<Channel column="b"/>')
    assert str(raised.value) == message


def test_json_columns_of_different_lengths_are_refused() -> None:
    xml = series_config('valueType="json" timeColumn="t"')
    data = {"csv": {"t": [1, 2, 3], "a": [1, 2]}}
    with pytest.raises(ts.TimeSeriesError, match="not all the same length: t: 3, a: 2"):
        ts.load(task_config(xml, data).objects["ts"], data)


def test_a_value_that_is_neither_a_file_nor_a_url_is_refused() -> None:
    with pytest.raises(ts.TimeSeriesError, match="give an uploaded file"):
        load("", "series.csv")


@pytest.fixture
def uploads(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELKIT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    local.install_samples()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("t", [t for t in TEMPLATES if t.group == "Time series"], ids=lambda t: t.key)
def test_every_gallery_sample_series_loads(uploads, t) -> None:
    config = task_config(t.config, t.sample)
    for obj in config.objects_of("TimeSeries"):
        series = ts.load(obj, t.sample)
        assert len(series.time) > 10 and set(series.values) == {c.column for c in series.channels}


def test_an_uploaded_csv_is_read_from_the_upload_folder(uploads) -> None:
    template = next(t for t in TEMPLATES if t.key == "ts-activity-recognition")
    config = task_config(template.config, template.sample)
    series = ts.load(config.objects["ts"], template.sample)
    assert len(series.time) == 2000 and series.span == (0.0, 39.98)
    assert [c.legend for c in series.channels] == ["X", "Y", "Z"]


def test_a_long_series_is_drawn_from_few_points_that_keep_its_spikes() -> None:
    time = list(range(100_000))
    values: list[float | None] = [0.0] * 100_000
    values[54_321] = 99.0
    x, y = ts.downsample(time, values, points=2000)
    assert len(x) <= 2000 and x == sorted(x) and x[0] == 0 and x[-1] == 99_999
    assert 99.0 in y and x[y.index(99.0)] == 54_321


def test_a_range_snaps_to_times_of_the_data_and_a_click_is_an_instant() -> None:
    series = ts.Series(time=[0, 10, 20, 30], values={"a": [1, 2, 3, 4]})
    assert ts.region_range(series, 22.0, 6.0, instant=False) == {"start": 10, "end": 20, "instant": False}
    assert ts.region_range(series, 14.0, 14.0, instant=True) == {"start": 10, "end": 10, "instant": True}
    assert ts.region_range(series, -5, 99, instant=False) == {"start": 0, "end": 30, "instant": False}


def test_a_labeled_range_with_a_per_region_answer_round_trips_in_label_studio_shape() -> None:
    config = task_config(series_config('timeColumn="t"'), {"csv": "x"})
    region = {"id": "r1", "to_name": "ts", "item_index": None, "shape": "range",
              "geometry": {"start": 1592250751951.8074, "end": 1592251071946.638, "instant": False},
              "tool": "label", "labels": {"label": ["Run"]}, "attributes": {"quality": ["Good"]}, "origin": "manual"}
    items = rg.items_of(config, [region])
    assert items[0] == {"id": "r1", "from_name": "label", "to_name": "ts", "type": "timeserieslabels", "origin": "manual",
                        "value": {"start": 1592250751951.8074, "end": 1592251071946.638, "instant": False,
                                  "timeserieslabels": ["Run"]}}
    assert items[1]["type"] == "choices" and items[1]["id"] == "r1"
    assert items[1]["value"] == {"start": 1592250751951.8074, "end": 1592251071946.638, "instant": False,
                                 "choices": ["Good"]}
    (back,) = rg.regions_of(items, config)
    assert back["shape"] == "range" and back["geometry"] == region["geometry"]
    assert back["labels"] == {"label": ["Run"]} and back["attributes"] == {"quality": ["Good"]}


def test_a_label_studio_export_with_an_instant_reads_back_as_a_range() -> None:
    config = task_config(series_config(""), {"csv": "x"})
    item = {"id": "S1DkU7FSku", "from_name": "label", "to_name": "ts", "type": "timeserieslabels",
            "value": {"start": 12, "end": 12, "instant": True, "timeserieslabels": ["Walk"]}}
    (region,) = values_of([item], config)[REGIONS]
    assert region["shape"] == "range" and region["geometry"] == {"start": 12, "end": 12, "instant": True}
    assert build_result(config, values_of([item], config)) == [item | {"origin": "manual"}]


def test_regions_are_listed_with_times_as_the_data_shows_them() -> None:
    dated = ts.Series(time=[0], values={}, dates=True)
    region = {"labels": {"label": ["Run"]}, "geometry": {"start": 1592250751951.8074, "end": 1592251071946.638,
                                                         "instant": False}}
    assert ts.describe(dated, region) == "Run · 2020-06-15 19:52:31.951 – 19:57:51.946"
    instant = {"labels": {}, "geometry": {"start": 1592250751000, "end": 1592250751000, "instant": True}}
    assert ts.describe(dated, instant) == "no label · @ 2020-06-15 19:52:31"
    numbers = ts.Series(time=[0], values={})
    assert ts.describe(numbers, {"labels": {"l": ["Walk"]}, "geometry": {"start": 2, "end": 7.25}}) == "Walk · 2 – 7.25"


def test_iso_dates_in_an_imported_result_are_read_as_milliseconds() -> None:
    assert ts.as_time("2023-01-10T10:15:00.000Z") == 1673345700000
    assert ts.as_time(12.5) == 12.5 and ts.as_time("soon") is None and ts.as_time(None) is None
