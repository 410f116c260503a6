"""f. Export of big projects (every 10th task annotated) through `labelkit export`: seconds
and peak RSS of the process, per format.

- the text project of the other scenarios (a choice per annotated task): JSON, CSV,
  JSON_MIN, HF_PARQUET, HF_JSONL;
- an image project (Image + RectangleLabels, images given as URLs, a box with
  original_width/original_height on every annotated task, so no image is read): COCO, YOLO, VOC;
- a NER project on the same texts (Labels on Text, two spans per annotated task): CONLL2003, SPACY."""

from __future__ import annotations

from pathlib import Path

from bench.harness import Instance, Measure, Postgres, label_share, write_tasks

TEXT_FORMATS = ("JSON", "CSV", "JSON_MIN", "HF_PARQUET", "HF_JSONL")
IMAGE_FORMATS = ("COCO", "YOLO", "VOC")
NER_FORMATS = ("CONLL2003", "SPACY")

IMAGE_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Car"/>
    <Label value="Person"/>
  </RectangleLabels>
</View>"""
BOX = [{"id": "r1", "from_name": "label", "to_name": "image", "type": "rectanglelabels", "origin": "manual",
        "original_width": 640, "original_height": 480, "image_rotation": 0,
        "value": {"x": 12.5, "y": 20.0, "width": 25.0, "height": 30.0, "rotation": 0, "rectanglelabels": ["Car"]}}]

NER_CONFIG = """<View>
  <Labels name="label" toName="text">
    <Label value="ORG"/>
    <Label value="MISC"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""
# Spans of "Short review number {i}: it works as described." (the text tasks of write_tasks).
SPANS = [{"id": "s1", "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
          "value": {"start": 0, "end": 5, "text": "Short", "labels": ["MISC"]}},
         {"id": "s2", "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
          "value": {"start": 6, "end": 12, "text": "review", "labels": ["ORG"]}}]


def image_task(i: int) -> dict:
    return {"image": f"https://images.example.com/street/photo-{i:07d}.jpg"}  # a URL these exports never fetch


def _project(instance: Instance, title: str, config: str, tasks_file: Path, result: list[dict] | None) -> int:
    """A project of this config with these tasks, every 10th annotated with `result`."""
    config_file = instance.dir / f"{title.lower()}.xml"
    config_file.write_text(config)
    project_id = int(instance.cli("project", "create", "--title", title, "--config", str(config_file)))
    instance.cli("import", str(project_id), str(tasks_file))
    label_share(instance, project_id, every=10, annotator_email=f"filler-{project_id}@example.com", result=result)
    return project_id


def _measure(instance: Instance, project_id: int, fmt: str, scenario: str, size: str, repeat: int) -> list[Measure]:
    seconds = Measure(scenario, instance.backend, size, "s", target="≤ 15 s" if fmt == "JSON" else "")
    memory = Measure(f"{scenario}: peak RSS", instance.backend, size, "MB", target="≤ 300 MB" if fmt == "JSON" else "")
    for _ in range(repeat):
        elapsed, rss_mb = instance.timed_cli(
            "export", str(project_id), "--format", fmt, "--out", str(instance.dir / f"out.{fmt.lower()}")
        )
        seconds.values.append(elapsed)
        memory.values.append(rss_mb)
    if fmt == "JSON":
        seconds.met = seconds.median <= 15
        memory.met = memory.median <= 300
    return [seconds, memory]


def run(backend: str, postgres: Postgres | None, tasks_file: Path, count: int, repeat: int) -> list[Measure]:
    annotated = f"{count // 10:,}"
    measures: list[Measure] = []
    instance = Instance.create(backend, postgres)
    try:
        text = instance.project()
        instance.cli("import", str(text), str(tasks_file))
        label_share(instance, text, every=10)
        size = f"{count:,} tasks, {annotated} annotations"
        for fmt in TEXT_FORMATS:
            measures += _measure(instance, text, fmt, f"f. export to {fmt}", size, repeat)

        images = write_tasks(tasks_file.with_name(f"image-tasks-{count}.jsonl"), count, image_task)
        image = _project(instance, "Images", IMAGE_CONFIG, images, BOX)
        size = f"{count:,} image tasks (URLs), {annotated} with a box"
        for fmt in IMAGE_FORMATS:
            measures += _measure(instance, image, fmt, f"f. export to {fmt} (an image project)", size, repeat)

        ner = _project(instance, "NER", NER_CONFIG, tasks_file, SPANS)
        size = f"{count:,} text tasks, {annotated} with 2 spans"
        for fmt in NER_FORMATS:
            measures += _measure(instance, ner, fmt, f"f. export to {fmt} (a NER project)", size, repeat)
    finally:
        instance.remove()
    return measures
