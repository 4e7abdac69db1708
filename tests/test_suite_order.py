"""How `make test` shares its work between the two pytest-xdist workers (tests/conftest.py): the order the test
files are handed out in, and the session fixtures that one worker builds for both."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import LONG_SETUPS_FIRST, LONGEST_FILES_NEXT, built_once, session_order


def test_long_setups_then_longest_files_then_the_others_in_collection_order():
    others = ["test_a.py", "test_c.py", "test_b.py"]
    shuffled = [others[0], *reversed(LONGEST_FILES_NEXT), others[1], *LONG_SETUPS_FIRST[::-1], others[2]]
    assert session_order(shuffled) == [*LONG_SETUPS_FIRST, *LONGEST_FILES_NEXT, *others]


def test_every_file_the_order_names_exists():
    # A renamed or removed file would silently lose its place in the order.
    names = LONG_SETUPS_FIRST + LONGEST_FILES_NEXT
    assert len(set(names)) == len(names)
    assert [name for name in names if not (Path(__file__).parent / name).is_file()] == []


class WorkerTemporaryRoot:
    """What built_once asks of pytest's tmp_path_factory, for one pytest-xdist worker under a common root."""

    def __init__(self, root: Path, worker: str):
        self.base = root / worker
        self.base.mkdir(parents=True, exist_ok=True)

    def getbasetemp(self) -> Path:
        return self.base

    def mktemp(self, name: str) -> Path:
        path = self.base / name
        path.mkdir()
        return path


def test_a_session_fixture_is_built_by_one_worker_and_reused_by_the_other(tmp_path):
    builds = []

    def build(directory: Path) -> str:
        builds.append(directory)
        directory.mkdir(parents=True)
        (directory / "made").write_text("once")
        return str(directory / "made")

    first = built_once(WorkerTemporaryRoot(tmp_path, "gw0"), "gw0", "thing", build)
    second = built_once(WorkerTemporaryRoot(tmp_path, "gw1"), "gw1", "thing", build)
    assert first == second == str(tmp_path / "thing" / "made") and builds == [tmp_path / "thing"]


def test_a_failed_build_fails_the_other_worker_without_a_second_build(tmp_path):
    builds = []

    def build(directory: Path) -> str:
        builds.append(directory)
        raise RuntimeError("the workflow failed")

    for worker in ("gw0", "gw1"):
        with pytest.raises(AssertionError, match="RuntimeError: the workflow failed"):
            built_once(WorkerTemporaryRoot(tmp_path, worker), worker, "thing", build)
    assert len(builds) == 1


def test_without_workers_the_session_builds_in_its_own_directory(tmp_path):
    built = built_once(WorkerTemporaryRoot(tmp_path, "session"), "master", "thing", lambda directory: str(directory))
    assert built == str(tmp_path / "session" / "thing")
