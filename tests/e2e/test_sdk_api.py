"""A real client of the REST API: label-studio-sdk from PyPI (2.1.2, in the side virtualenv
tests/lsserver.py keeps for Label Studio, so its dependencies never move ours) runs the
calls a typical script makes against a running `labelkit serve`: connect with a token,
create a project with a config, import tasks, list them, annotate, predict, export JSON.
Skipped, saying why, only when PyPI cannot be reached to install it."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from labelkit.models import Annotation, Prediction, Project
from tests import lsserver
from tests.e2e.servers import ADMIN_EMAIL
from tests.support import unavailable

pytestmark = pytest.mark.e2e

CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>"""

SCRIPT = textwrap.dedent('''
    import json, sys
    from label_studio_sdk import LabelStudio

    url, key, config = sys.argv[1:4]
    ls = LabelStudio(base_url=url, api_key=key)
    me = ls.users.whoami()
    project = ls.projects.create(title="From the SDK", label_config=config, maximum_annotations=1)
    imported = ls.projects.import_tasks(id=project.id, request=[{"text": "I loved it"}, {"text": "Dull"}, {"text": "Fine"}])
    tasks = list(ls.tasks.list(project=project.id, page_size=2))  # two pages: the pager walks them
    choice = lambda value: [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}}]
    annotation = ls.annotations.create(id=tasks[0].id, result=choice("Positive"), lead_time=2.5)
    prediction = ls.predictions.create(task=tasks[1].id, result=choice("Negative"), score=0.9, model_version="sdk-v1")
    projects = [p.title for p in ls.projects.list()]
    fetched = ls.projects.get(id=project.id)
    exported = ls.projects.exports.as_json(project.id)
    formats = ls.projects.exports.list_formats(project.id)
    skipped = ls.annotations.create(id=tasks[2].id, was_cancelled=True)
    ls.projects.update(id=project.id, title="From the SDK, renamed")
    print(json.dumps({
        "me": me.email, "project": project.id, "config_controls": list(fetched.get_label_interface().controls and
                                                                         [c.name for c in fetched.get_label_interface().controls]),
        "imported": imported.task_count, "tasks": [t.data for t in tasks], "annotation": annotation.id,
        "annotation_result": annotation.result, "prediction": prediction.id, "projects": projects,
        "task_number": fetched.task_number, "exported": exported, "formats": [f["name"] for f in formats],
        "skipped": skipped.was_cancelled, "renamed": ls.projects.get(id=project.id).title,
    }))
''')


@pytest.fixture(scope="module")
def sdk_python() -> str:
    try:
        return str(lsserver.venv() / "bin" / "python")
    except lsserver.Offline as e:
        unavailable(f"label-studio-sdk could not be installed from PyPI (offline?): {e}")


def test_a_label_studio_sdk_script_works_against_labelkit(server, sdk_python, tmp_path) -> None:
    token = server.admin_token()
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sdk_python, str(script), f"http://127.0.0.1:{server.port}", token, CONFIG],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["me"] == ADMIN_EMAIL and out["imported"] == 3 and out["task_number"] == 3
    assert out["tasks"] == [{"text": "I loved it"}, {"text": "Dull"}, {"text": "Fine"}]
    assert "From the SDK" in out["projects"] and out["config_controls"] == ["sentiment"]
    assert out["annotation_result"][0]["value"] == {"choices": ["Positive"]}
    # The export (LS's default: tasks with annotations) has the annotated task, as Label Studio writes it.
    assert [t["data"]["text"] for t in out["exported"]] == ["I loved it", "Dull", "Fine"]
    first = out["exported"][0]
    assert first["annotations"][0]["result"][0]["value"] == {"choices": ["Positive"]}
    assert out["exported"][1]["predictions"][0]["model_version"] == "sdk-v1"
    assert "JSON" in out["formats"] and out["skipped"] is True and out["renamed"] == "From the SDK, renamed"
    with server.db() as db:
        project = db.get(Project, out["project"])
        assert project.title == "From the SDK, renamed" and project.task_count == 3
        assert db.get(Annotation, out["annotation"]).lead_time == 2.5
        assert db.get(Prediction, out["prediction"]).score == 0.9
