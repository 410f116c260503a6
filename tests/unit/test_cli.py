"""The command line contract of DESIGN.md."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from labelkit.cli import main
from labelkit.db import session_scope
from labelkit.models import Invite, Project, Role, Task, User
from labelkit.settings import get_settings


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("LABELKIT_PASSWORD", "operator password")

    def run(*args: str, ok: bool = True):
        result = CliRunner().invoke(main, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def test_user_create_project_create_list_import_and_invite(cli, tmp_path) -> None:
    cli("user", "create", "boss@example.com", "--admin", "--name", "Boss")
    with session_scope() as s:
        boss = s.exec(select(User)).one()
    assert boss.role == Role.ADMIN and boss.password_hash.startswith("$argon2")

    config = tmp_path / "config.xml"
    config.write_text('<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="A"/></Choices></View>')
    project_id = cli("project", "create", "--title", "Support tickets", "--config", str(config), "--overlap", "2").output.strip()
    assert project_id.isdigit()

    data = tmp_path / "tickets"
    data.mkdir()
    (data / "a.jsonl").write_text('{"text": "one"}\n{"text": "two"}\n')
    (data / "b.txt").write_text("three\n")
    (data / "ignored.md").write_text("not a task file")
    assert "Imported 3 tasks from 2 files" in cli("import", "Support tickets", str(data)).output

    listed = json.loads(cli("project", "list", "--json").output)
    assert [(p["id"], p["title"], p["tasks"], p["overlap"]) for p in listed] == [(int(project_id), "Support tickets", 3, 2)]

    url = cli("invite", "create", "--role", "annotator", "--project", project_id, "--max-uses", "3").output.strip()
    assert url.startswith("http://localhost:8501/invite/") and len(url.rsplit("/", 1)[1]) >= 43
    with session_scope() as s:
        invite = s.exec(select(Invite)).one()
    assert (invite.project_id, invite.max_uses, invite.role) == (int(project_id), 3, "annotator")


def test_a_bad_file_exits_non_zero_and_imports_nothing(cli, tmp_path) -> None:
    cli("demo")
    bad = tmp_path / "bad.csv"
    bad.write_text("text,source\nfine,web\n,web\n")
    result = cli("import", "1", str(bad), ok=False)
    assert result.exit_code != 0 and "bad.csv, line 3: missing key 'text'" in result.output
    with session_scope() as s:
        assert s.exec(select(func.count(Task.id)).where(Task.project_id == 1)).one() == 20


def test_bad_configs_and_missing_things_are_refused_cleanly(cli, tmp_path) -> None:
    cli("user", "create", "boss@example.com", "--admin")
    config = tmp_path / "bad.xml"
    config.write_text("<View><Text name='t' value='$t'/><Choices name='c' toName='nope'><Choice value='A'/></Choices></View>")
    result = cli("project", "create", "--title", "X", "--config", str(config), ok=False)
    assert result.exit_code != 0 and "toName 'nope' points nowhere" in result.output
    assert "no project with id or title" in cli("import", "Nope", str(config), ok=False).output
    assert "no such file" in cli("import", "1", str(tmp_path / "missing.json"), ok=False).output
    assert "Unknown export format" in cli("export", "1", "--format", "XLS", "--out", str(tmp_path / "x"), ok=False).output
    with session_scope() as s:
        assert s.exec(select(Project)).all() == []


def test_commands_need_an_admin_first(cli, tmp_path) -> None:
    result = cli("project", "list", ok=False)
    assert "run `labelkit user create EMAIL --admin` first" in result.output


def test_demo_gives_an_admin_and_two_projects_with_tasks(cli) -> None:
    output = cli("demo").output
    assert "admin@example.com" in output
    cli("demo")  # a second run changes nothing
    with session_scope() as s:
        counts = dict(s.exec(select(Project.title, func.count(Task.id)).join(Task).group_by(Project.title)).all())
        admin = s.exec(select(User)).one()
    assert counts == {"Demo: product review sentiment": 20, "Demo: shapes": 12}
    assert admin.role == Role.ADMIN


def test_user_token_prints_a_working_api_token(cli) -> None:
    cli("user", "create", "boss@example.com", "--admin")
    token = cli("user", "token", "boss@example.com").output.strip()
    from labelkit.auth.sessions import user_for_api_token

    with session_scope() as s:
        assert user_for_api_token(s, token).email == "boss@example.com"


def _check(path, *extra: str):
    return CliRunner().invoke(main, ["config", "check", *extra, str(path)])


def test_config_check_describes_a_config_that_can_be_labeled_here(tmp_path) -> None:
    config = tmp_path / "cars.xml"
    config.write_text("""<View>
  <Header value="Mark every vehicle"/>
  <Image name="photo" value="$image"/>
  <RectangleLabels name="vehicle" toName="photo">
    <Label value="Car"/><Label value="Truck" alias="lorry"/>
  </RectangleLabels>
  <TextArea name="plate" toName="photo" perRegion="true"/>
  <Choices name="weather" toName="photo" required="true"><Choice value="Sunny"/><Choice value="Rain"/></Choices>
  <Relations><Relation value="tows"/></Relations>
</View>""")
    result = _check(config)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "photo: <Image> shows task data $image" in out
    assert "vehicle: <RectangleLabels> (rectanglelabels) on photo: Car, Truck (stored as lorry)" in out
    assert "plate: <TextArea> (textarea, per region) on photo" in out
    assert "weather: <Choices> (choices, required) on photo: Sunny, Rain" in out
    assert "\n  <Relations> (relation): tows\n" in out
    assert "Layout: <View>, <Header>" in out
    assert "every part can be labeled here" in out


def test_config_check_refuses_what_cannot_be_labeled_here_yet(tmp_path) -> None:
    config = tmp_path / "scan.xml"
    config.write_text('<View><Image name="scan" value="$image"/><Cube name="box" toName="scan"/>'
                      '<Labels name="speaker" toName="row"><Label value="Agent"/></Labels><Table name="row" value="$row"/></View>')
    result = _check(config)
    assert result.exit_code == 1
    assert "speaker: <Labels> (labels) on row: Agent" in result.output  # still described
    assert "not supported yet: <Cube>" in result.output
    assert "not supported yet: <Labels> on <Table>" in result.output
    assert "every part can be labeled here" not in result.output


def test_config_check_lists_every_problem_with_its_line(tmp_path) -> None:
    config = tmp_path / "bad.xml"
    config.write_text("<View>\n<Text name='t' value='$t'/>\n<Choices name='c' toName='txt' choice='some'>\n"
                      "<Choice value='A'/></Choices>\n<Ratting name='r' toName='t'/>\n</View>")
    result = _check(config)
    assert result.exit_code == 1
    assert "line 3: <Choices name='c'>: choice must be single, single-radio or multiple, not 'some'" in result.output
    assert "line 3: <Choices name='c'>: toName 'txt' points nowhere (objects: t)" in result.output
    assert "line 5: unknown tag <Ratting> (did you mean <Rating>?)" in result.output


def test_config_check_refuses_files_it_cannot_read_or_parse(tmp_path) -> None:
    missing = _check(tmp_path / "nope.xml")
    assert missing.exit_code == 1 and "Cannot read" in missing.output and "nope.xml" in missing.output
    binary = tmp_path / "photo.xml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    assert _check(binary).exit_code == 1 and "not UTF-8 text" in _check(binary).output
    not_xml = tmp_path / "notes.xml"
    not_xml.write_text("just some notes, not a config")
    result = _check(not_xml)
    assert result.exit_code == 1 and "not well-formed XML: line 1" in result.output


def test_config_check_json_says_what_it_found(tmp_path) -> None:
    good = tmp_path / "good.xml"
    good.write_text('<View><Text name="review" value="$text"/>'
                    '<Rating name="stars" toName="review" maxRating="10"/></View>')
    result = _check(good, "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert (report["valid"], report["supported"], report["problems"], report["unsupported"]) == (True, True, [], [])
    assert report["objects"][0] | {"line": 0} == {
        "name": "review", "tag": "Text", "data_key": "text", "value": "$text", "many": False, "line": 0,
    }
    assert [(c["name"], c["type"], c["to_name"]) for c in report["controls"]] == [("stars", "rating", ["review"])]

    bad = tmp_path / "bad.xml"
    bad.write_text('<View>\n<Text name="review" value="$text"/>\n<Rating name="stars" toName="review" maxRating="x"/></View>')
    result = _check(bad, "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False
    assert report["problems"] == ["line 3: <Rating name='stars'>: maxRating must be a whole number from 1 to 100, not 'x'"]


def test_user_reset_password_prints_a_one_time_link_and_only_an_admin_may(cli) -> None:
    from urllib.parse import parse_qs, urlparse

    from labelkit.auth.reset import reset_password

    cli("user", "create", "boss@example.com", "--admin")
    cli("user", "create", "ann@example.com")
    cli("user", "create", "lead@example.com")
    with session_scope() as s:
        s.exec(select(User).where(User.email == "lead@example.com")).one().role = Role.MANAGER
    refused = cli("user", "reset-password", "boss@example.com", "--as", "lead@example.com", ok=False)
    assert refused.exit_code == 1 and "permission to manage users" in refused.output
    assert "no account for nobody@example.com" in cli("user", "reset-password", "nobody@example.com", ok=False).output

    result = cli("user", "reset-password", "ann@example.com")
    link = result.stdout.strip()
    assert link.startswith("http://localhost:8501/?reset=") and "Works once, until" in result.stderr
    with session_scope() as s:
        reset_password(s, parse_qs(urlparse(link).query)["reset"][0], "a brand new password")


def test_with_smtp_the_cli_mails_reset_and_invite_links_and_says_when_it_could_not(cli, smtp_server, monkeypatch) -> None:
    from tests.smtpserver import link_in
    from tests.support import free_port

    cli("user", "create", "boss@example.com", "--admin")
    cli("user", "create", "ann@example.com")
    result = cli("user", "reset-password", "ann@example.com")
    assert link_in(smtp_server.last_to("ann@example.com")) == result.stdout.strip()
    assert "Mailed to ann@example.com." in result.stderr

    invited = cli("invite", "create", "--role", "annotator", "--email", "new@example.com")
    mailed = smtp_server.last_to("new@example.com")
    assert link_in(mailed) == invited.stdout.strip() and "annotator role" in mailed.get_content()
    cli("invite", "create", "--role", "annotator", "--email", "@example.com")  # a domain: nobody to mail
    assert len(smtp_server.mails) == 2

    monkeypatch.setenv("LABELKIT_SMTP_PORT", str(free_port()))  # the mail server is down
    get_settings.cache_clear()
    failed = cli("user", "reset-password", "ann@example.com", ok=False)
    assert failed.exit_code == 1 and failed.stdout.strip().startswith("http://localhost:8501/?reset=")
    assert "Not mailed: The mail to ann@example.com could not be sent" in failed.stderr
