from __future__ import annotations

from pdman import errors


def test_exit_codes_follow_docker_conventions() -> None:
    assert errors.exit_code_for(errors.ImageNotFound("x")) == 125
    assert errors.exit_code_for(errors.CommandNotExecutableError("x")) == 126
    assert errors.exit_code_for(errors.CommandNotFoundError("x")) == 127
    assert errors.exit_code_for(KeyboardInterrupt()) == 130
    assert errors.exit_code_for(RuntimeError()) == 125


def test_http_statuses_for_the_api_service() -> None:
    assert errors.http_status_for(errors.ContainerNotFound("x")) == 404
    assert errors.http_status_for(errors.ConflictError("x")) == 409
    assert errors.http_status_for(ValueError()) == 500


def test_rendered_error_names_the_problem_and_the_fix() -> None:
    e = errors.VolumeNotFound("no volume with name 'x' found", hint="see `pdman volume ls`")
    assert e.render() == "Error: no volume with name 'x' found\nHint: see `pdman volume ls`"


def test_render_escapes_what_a_terminal_would_obey() -> None:
    # issue #12: messages quote outside data (a registry's platform names, file names)
    from pdman.errors import RegistryError, terminal_safe

    err = RegistryError("no image for linux\x1b]0;title\x07/amd64\r\x9b2J",
                        hint="platforms: \x1b[31mred\ud800\u202e")
    text = err.render()
    assert text == ("Error: no image for linux\\x1b]0;title\\x07/amd64\\x0d\\x9b2J\n"
                    "Hint: platforms: \\x1b[31mred\\ud800\\u202e")
    assert terminal_safe("plain text\n\tindented é") == "plain text\n\tindented é"
    # a file name: no line of its own, undecodable bytes shown as the bytes they were
    assert terminal_safe("a\nD /bin/sh\udcff", keep="") == "a\\x0aD /bin/sh\\xff"
