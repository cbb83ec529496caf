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
