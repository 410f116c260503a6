"""Frames as Label Studio counts them, tracked boxes between keyframes, and video results
read and written back in Label Studio's shapes."""

from __future__ import annotations

import copy

import pytest

from labelkit.config import parse_config
from labelkit.media import video as vd
from labelkit.results import regions as rg
from labelkit.results.items import build_result, values_of

CONFIG = parse_config("""<View>
  <Video name="video" value="$video"/>
  <VideoRectangle name="box" toName="video"/>
  <Labels name="tag" toName="video">
    <Label value="Label 1" background="green"/><Label value="Label 2" background="blue"/>
  </Labels>
  <TimelineLabels name="actions" toName="video"><Label value="Run"/><Label value="Walk"/></TimelineLabels>
  <Choices name="seen" toName="video" perRegion="true"><Choice value="Clear"/><Choice value="Blurred"/></Choices>
  <Choices name="genre" toName="video"><Choice value="News"/><Choice value="Sports"/></Choices>
</View>""")

# Label Studio's own example of a tracked box (its frontend's video test data): 24 fps, a
# keyframe on frame 1 and the track turned off on frame 3.
LS_TRACK = {
    "value": {
        "framesCount": 131, "duration": 5.425,
        "sequence": [
            {"frame": 1, "enabled": True, "rotation": 0, "x": 20.54721030042918, "y": 15.665236051502147,
             "width": 58.90557939914163, "height": 68.6695278969957, "time": 0.041666666666666664},
            {"x": 20.54721030042918, "y": 15.665236051502147, "width": 58.90557939914163,
             "height": 68.6695278969957, "rotation": 0, "enabled": False, "frame": 3, "time": 0.125},
        ],
        "labels": ["Label 1"],
    },
    "id": "RRxnu061g3", "from_name": "box", "to_name": "video", "type": "videorectangle", "origin": "manual",
}
LS_RANGE = {
    "value": {"ranges": [{"start": 12, "end": 30}], "timelinelabels": ["Run"]},
    "id": "Tl0000abcd", "from_name": "actions", "to_name": "video", "type": "timelinelabels", "origin": "manual",
}


def test_frame_rate_is_24_unless_the_video_says_otherwise() -> None:
    assert vd.frame_rate({}) == 24
    assert vd.frame_rate({"frameRate": "29.97"}) == pytest.approx(29.97)
    assert vd.frame_rate({"framerate": "30"}) == 30
    assert vd.frame_rate({"frameRate": "fast"}) == 24 and vd.frame_rate({"frameRate": "0"}) == 24


def test_frames_are_counted_from_1_and_a_started_frame_counts() -> None:
    assert vd.frames_count(4.0, 24) == 96
    assert vd.frames_count(5.425, 24) == 131  # Label Studio's example above
    assert vd.frame_at(0, 24) == 1 and vd.frame_at(1 / 24, 24) == 2 and vd.frame_at(3.999, 24) == 96
    assert vd.frame_at(10.0, 24, count=96) == 96


def test_seeking_to_a_frame_shows_that_frame_and_keyframes_store_label_studios_time() -> None:
    for rate in (24, 25, 29.97, 30, 60):
        assert all(vd.frame_at(vd.seek_time(f, rate), rate) == f for f in range(1, 500))
    assert vd.keyframe_time(1, 24) == LS_TRACK["value"]["sequence"][0]["time"]
    assert vd.keyframe_time(3, 24) == LS_TRACK["value"]["sequence"][1]["time"]


def test_a_track_is_on_from_its_first_keyframe_to_the_keyframe_that_turns_it_off() -> None:
    sequence = LS_TRACK["value"]["sequence"]
    assert vd.box_at(sequence, 1)["keyframe"] is True
    assert vd.box_at(sequence, 2)["x"] == pytest.approx(20.54721030042918) and vd.box_at(sequence, 2)["keyframe"] is False
    assert vd.box_at(sequence, 3) is not None  # the off keyframe still shows its box
    assert vd.box_at(sequence, 4) is None
    assert vd.visible_spans(sequence, 131) == [(1, 3)]


def test_boxes_between_keyframes_move_linearly_and_stay_after_the_last() -> None:
    a = vd.keyframe(10, {"x": 10, "y": 20, "width": 30, "height": 40}, 24)
    b = vd.keyframe(20, {"x": 50, "y": 20, "width": 10, "height": 40, "rotation": 90}, 24)
    sequence = [b, a]  # any order
    assert vd.box_at(sequence, 9) is None
    middle = vd.box_at(sequence, 15)
    assert (middle["x"], middle["y"], middle["width"], middle["height"], middle["rotation"]) == pytest.approx((30, 20, 20, 40, 45))
    assert vd.box_at(sequence, 13)["x"] == pytest.approx(22)
    assert vd.box_at(sequence, 80)["x"] == 50 and vd.visible_spans(sequence, 96) == [(10, 96)]


def test_keyframes_are_set_ended_resumed_and_removed() -> None:
    first = vd.set_keyframe([], 10, {"x": 10, "y": 10, "width": 20, "height": 20}, 24)
    moved = vd.set_keyframe(first, 30, {"x": 50, "y": 10, "width": 20, "height": 20}, 24)
    assert [k["frame"] for k in moved] == [10, 30] and moved[1]["time"] == pytest.approx(30 / 24)
    ended = vd.toggle_track(moved, 20, 24)  # off where it is interpolated: a keyframe there, enabled false
    assert [(k["frame"], k["enabled"]) for k in ended] == [(10, True), (20, False), (30, True)]
    assert ended[1]["x"] == pytest.approx(30)
    assert vd.box_at(ended, 25) is None and vd.box_at(ended, 30)["x"] == 50
    assert vd.visible_spans(ended, 96) == [(10, 20), (30, 96)]
    resumed = vd.toggle_track(ended, 20, 24)
    assert [k["enabled"] for k in resumed] == [True, True, True]
    again = vd.set_keyframe(ended, 20, {"x": 1, "y": 1, "width": 5, "height": 5}, 24)  # a moved off keyframe stays off
    assert again[1]["enabled"] is False and again[1]["x"] == 1
    assert [k["frame"] for k in vd.remove_keyframe(moved, 30)] == [10]
    assert vd.remove_keyframe(first, 10) == first  # a track keeps its last keyframe
    assert vd.toggle_track(moved, 5, 24) == moved  # nothing to end before the track starts


def test_timeline_ranges_are_kept_inside_the_video_in_order() -> None:
    assert vd.clamp_range(30, 12, 96) == (12, 30)
    assert vd.clamp_range(0, 200, 96) == (1, 96)


def test_label_studios_video_results_come_back_unchanged() -> None:
    answer = {"id": "RRxnu061g3", "from_name": "seen", "to_name": "video", "type": "choices", "origin": "manual",
              "value": {**{k: v for k, v in LS_TRACK["value"].items() if k != "labels"}, "choices": ["Blurred"]}}
    genre = {"id": "g1", "from_name": "genre", "to_name": "video", "type": "choices", "value": {"choices": ["News"]}}
    result = [copy.deepcopy(LS_TRACK), copy.deepcopy(answer), copy.deepcopy(LS_RANGE), genre]
    found = rg.regions_of(result, CONFIG)
    track, span = found
    assert (track["shape"], track["tool"], track["labels"]) == ("videorectangle", "box", {"tag": ["Label 1"]})
    assert track["attributes"] == {"seen": ["Blurred"]}
    assert (span["shape"], span["tool"], span["labels"]) == ("timeline", "actions", {"actions": ["Run"]})
    items = rg.items_of(CONFIG, found)
    assert items == [LS_TRACK, answer, LS_RANGE]
    values = values_of(result, CONFIG)
    assert values["genre"] == ["News"]
    rebuilt = build_result(CONFIG, values)
    assert [i for i in rebuilt if i["id"] != "g1" and i["from_name"] != "genre"] == [LS_TRACK, answer, LS_RANGE]
    assert [i["value"] for i in rebuilt if i["from_name"] == "genre"] == [{"choices": ["News"]}]


def test_a_track_drawn_here_is_written_as_label_studio_writes_it() -> None:
    sequence = vd.set_keyframe([], 1, {"x": 10, "y": 20, "width": 30, "height": 40}, 24)
    sequence = vd.toggle_track(vd.set_keyframe(sequence, 24, {"x": 40, "y": 20, "width": 30, "height": 40}, 24), 48, 24)
    region = {"id": "abc", "to_name": "video", "item_index": None, "shape": "videorectangle",
              "geometry": {"framesCount": 96, "duration": 4.0, "sequence": sequence}, "tool": "box",
              "labels": {"tag": ["Label 2"]}, "attributes": {}, "origin": "manual"}
    (item,) = rg.items_of(CONFIG, [region])
    assert item["type"] == "videorectangle" and "original_width" not in item
    assert list(item["value"]) == ["framesCount", "duration", "sequence", "labels"]
    assert item["value"]["labels"] == ["Label 2"]
    assert [list(k) for k in item["value"]["sequence"]] == [list(LS_TRACK["value"]["sequence"][0])] * 3
    assert [(k["frame"], k["enabled"]) for k in item["value"]["sequence"]] == [(1, True), (24, True), (48, False)]
    assert rg.describe(region) == "Label 2 · box, 3 keyframes"
