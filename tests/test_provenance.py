"""Results files record the commit and a correct dirty flag (sdegen_jax.provenance)."""

import subprocess

from sdegen_jax.provenance import code_version, git_state, run_metadata


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "results").mkdir()
    (repo / "pkg" / "code.py").write_text("x = 1\n")
    (repo / "results" / "r.json").write_text("{}\n")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "init")
    return repo


def test_clean_checkout_from_a_subdirectory(tmp_path):
    repo = _repo(tmp_path)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    state = git_state(repo / "pkg")  # pathspecs resolve from the top level, not from pkg/
    assert state["commit"] == head and len(head) == 40
    assert state["dirty"] is False and state["dirty_files"] == []


def test_modified_and_untracked_code_is_dirty(tmp_path):
    repo = _repo(tmp_path)
    (repo / "pkg" / "code.py").write_text("x = 2\n")
    state = git_state(repo / "pkg")
    assert state["dirty"] is True and state["dirty_files"] == ["pkg/code.py"]
    (repo / "pkg" / "code.py").write_text("x = 1\n")
    (repo / "new.py").write_text("y = 0\n")
    assert git_state(repo)["dirty_files"] == ["new.py"]


def test_results_written_by_a_run_do_not_make_it_dirty(tmp_path):
    repo = _repo(tmp_path)
    (repo / "results" / "r.json").write_text('{"w1": 0.01}\n')
    (repo / "results" / "new.png").write_bytes(b"png")
    assert git_state(repo)["dirty"] is False


def test_outside_git_everything_is_none(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None, "dirty_files": None, "toplevel": None}


def test_run_metadata_records_command_and_git():
    meta = run_metadata("python -m experiments.x --quick")
    assert meta["command"] == "python -m experiments.x --quick"
    assert set(meta["git"]) == {"commit", "dirty", "dirty_files", "toplevel"}
    assert meta["versions"]["jax"] and meta["devices"]


def test_code_version_follows_the_directory_and_nothing_else(tmp_path):
    repo = _repo(tmp_path)
    clean = code_version(repo / "pkg")
    assert clean is not None and clean.endswith("+da39a3ee")  # sha1 of the empty diff
    (repo / "results" / "r.json").write_text('{"w1": 0.5}\n')  # outside pkg/: same code
    (repo / "other.py").write_text("z = 0\n")
    assert code_version(repo / "pkg") == clean
    (repo / "pkg" / "code.py").write_text("x = 2\n")  # uncommitted change in pkg/
    edited = code_version(repo / "pkg")
    assert edited != clean and edited.split("+")[0] == clean.split("+")[0]
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "x = 2")
    committed = code_version(repo / "pkg")  # a new tree, an empty diff again
    assert committed.split("+")[0] != clean.split("+")[0] and committed.endswith("+da39a3ee")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert code_version(outside) is None
