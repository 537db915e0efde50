"""-o and report --out: checked before the work, a regular file replaced whole, never a device,
a read-only file or an input; every failure one line and exit 2 (issue 15, "Output files")."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import bundled_dir
from engine import output as out_module
from engine.output import OutputError

from .helpers import run_cli as run

ROOT = Path(__file__).parent.parent
KEY = "india@2022"




@pytest.fixture
def no_work(monkeypatch):
    """Loading the rules fails the test: a refusal must come before any work."""
    from engine.api import Engine

    def load(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(Engine, "load", classmethod(load))


def one_line_error(result, code: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and lines[0].endswith(f"[{code}]"), \
        result.stderr
    return lines[0]


def no_temporary_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def plain_score() -> str:
    result = run("score", KEY)
    assert result.exit_code == 0, result.output
    return result.stdout


# --- what is refused, before the work -------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_a_device_node_is_refused_and_never_replaced(device, no_work):
    """As root, a rename would have put a regular file where the system keeps its device."""
    before = os.lstat(device)
    message = one_line_error(run("score", KEY, "-o", device), "output-not-a-file")
    assert "character device" in message and "'-' is standard output" in message
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev, after.st_mode) == (before.st_ino, before.st_rdev,
                                                            before.st_mode)


def test_report_out_refuses_a_device_node_too(no_work):
    before = os.lstat("/dev/null")
    one_line_error(run("report", "-o", "/dev/null"), "output-not-a-file")
    assert os.lstat("/dev/null").st_ino == before.st_ino


def test_a_fifo_and_a_directory_are_refused(tmp_path: Path, no_work):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "FIFO" in one_line_error(run("batch", "-o", str(fifo)), "output-not-a-file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    one_line_error(run("sensitivity", "-o", str(tmp_path)), "output-is-directory")


def test_dev_stdout_is_refused_with_a_pointer_to_dash(tmp_path: Path):
    """Redirected to a file, /dev/stdout is that file: replacing it would write into a
    file the shell opened, beside the process's own standard output."""
    stdout = tmp_path / "stdout.txt"
    with open(stdout, "w") as fh:
        done = subprocess.run([sys.executable, "-m", "engine.cli", "score", KEY, "-o",
                               "/dev/stdout"], stdout=fh, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert stdout.read_text() == ""
    assert done.stderr.count("\n") == 1 and "write '-' for standard output" in done.stderr


def test_dash_is_standard_output():
    result = run("score", KEY, "-o", "-")
    assert result.exit_code == 0 and result.stdout == plain_score()


def test_a_read_only_file_is_refused_and_left_as_it_is(tmp_path: Path, no_work):
    target = tmp_path / "ro.txt"
    target.write_text("keep me\n")
    target.chmod(0o444)
    message = one_line_error(run("score", KEY, "-o", str(target)), "output-read-only")
    assert "mode 0444" in message
    assert target.read_text() == "keep me\n" and stat.S_IMODE(target.stat().st_mode) == 0o444


def test_a_missing_directory_is_one_line_before_the_work(tmp_path: Path, no_work):
    target = tmp_path / "no" / "such" / "out.json"
    message = one_line_error(run("batch", "--format", "json", "-o", str(target)),
                             "output-no-directory")
    assert "no such directory" in message


def test_a_directory_that_takes_no_files_is_one_line_before_the_work(no_work):
    # /proc exists and is "writable", but no file can be created in it
    result = run("score", KEY, "-o", "/proc/latticework-out.txt")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "Error: /proc/latticework-out.txt: cannot create a file in /proc")


def test_a_read_only_file_system_is_one_line_before_the_work(tmp_path: Path, monkeypatch,
                                                              no_work):
    real = os.statvfs

    class ReadOnly:
        def __init__(self, st):
            self.f_flag = st.f_flag | os.ST_RDONLY

    monkeypatch.setattr(out_module.os, "statvfs", lambda p: ReadOnly(real(p)))
    message = one_line_error(run("score", KEY, "-o", str(tmp_path / "x.txt")),
                             "output-read-only-fs")
    assert "read-only file system" in message


def test_the_profile_being_scored_is_not_overwritten(profiles_copy: Path, no_work):
    """The issue's reproduction: score india@2022 --profiles P -o P/india@2022.yaml."""
    profile = profiles_copy / f"{KEY}.yaml"
    before = profile.read_bytes()
    message = one_line_error(run("score", KEY, "--profiles", str(profiles_copy), "-o",
                                 str(profile)), "output-is-input")
    assert "profiles directory" in message
    assert profile.read_bytes() == before


def test_a_profile_given_by_file_is_not_overwritten_under_another_name(tmp_path: Path, no_work):
    profile = tmp_path / f"{KEY}.yaml"
    profile.write_bytes((bundled_dir("profiles") / f"{KEY}.yaml").read_bytes())
    (tmp_path / "link.yaml").symlink_to(profile)
    message = one_line_error(run("score", str(profile), "-o", str(tmp_path / "link.yaml")),
                             "output-is-input")
    assert "the profile being scored" in message


def test_a_rules_file_is_not_overwritten(rules_copy: Path, tmp_path: Path, no_work):
    model = rules_copy / "model.yaml"
    before = model.read_bytes()
    one_line_error(run("batch", "--rules", str(rules_copy), "-o", str(model)), "output-is-input")
    one_line_error(run("report", "--rules", str(rules_copy), "--output", str(rules_copy / "r.html")),
                   "output-is-input")
    assert model.read_bytes() == before and not (rules_copy / "r.html").exists()


# --- how a file is written ------------------------------------------------------------------


def test_a_symlink_stays_a_symlink_and_its_target_is_updated(tmp_path: Path):
    real = tmp_path / "data" / "ranking.txt"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "ranking.txt"
    link.symlink_to(real)
    assert run("score", KEY, "-o", str(link)).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == plain_score()
    assert no_temporary_files(tmp_path) and no_temporary_files(real.parent)


def test_a_symlink_to_another_file_system_is_written_through(tmp_path: Path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    real = shm / f"latticework-test-{os.getpid()}.txt"
    try:
        real.write_text("old\n")
        link = tmp_path / "link.txt"
        link.symlink_to(real)
        result = run("score", KEY, "-o", str(link))
        assert result.exit_code == 0, result.output
        assert link.is_symlink() and real.read_text() == plain_score()
    finally:
        real.unlink(missing_ok=True)


def test_a_symlink_loop_is_one_line_and_a_dangling_symlink_creates_its_target(tmp_path: Path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert "ELOOP" in one_line_error(run("score", KEY, "-o", str(loop)), "output-symlink-loop")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "made.txt")
    assert run("score", KEY, "-o", str(dangling)).exit_code == 0
    assert dangling.is_symlink() and (tmp_path / "made.txt").read_text() == plain_score()


def test_a_private_file_keeps_its_mode(tmp_path: Path):
    target = tmp_path / "private.json"
    target.write_text("{}\n")
    target.chmod(0o600)
    assert run("batch", "--format", "json", "-o", str(target)).exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().startswith("{\n")


def test_a_new_file_gets_0666_less_the_umask(tmp_path: Path):
    old = os.umask(0o027)
    try:
        assert run("score", KEY, "-o", str(tmp_path / "new.txt")).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


@pytest.mark.parametrize("code, expected", [(errno.EROFS, "output-read-only-fs"),
                                            (errno.ENOSPC, "output-no-space"),
                                            (errno.EXDEV, "output-failed")])
def test_an_os_error_while_writing_is_one_line_and_leaves_nothing(tmp_path: Path, monkeypatch,
                                                                   code, expected):
    target = tmp_path / "out.txt"
    target.write_text("old\n")

    def replace(src, dst):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(out_module.os, "replace", replace)
    message = one_line_error(run("score", KEY, "-o", str(target)), expected)
    assert os.strerror(code) in message and errno.errorcode[code] in message
    assert target.read_text() == "old\n" and no_temporary_files(tmp_path)


def test_a_full_standard_output_is_one_line():
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "engine.cli", "score", KEY], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stderr == ("Error: standard output: cannot write the output: No space left on "
                           "device (ENOSPC) [output-no-space]\n")


# --- signals --------------------------------------------------------------------------------

SLOW_WRITE = textwrap.dedent("""
    import signal, sys
    from engine import output
    target = output.check(sys.argv[1])

    def stalled_fsync(fd):
        print("writing", flush=True)  # the temporary file exists now
        signal.pause()

    output.os.fsync = stalled_fsync
    output.write(target, "new\\n" * 100_000)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_the_write_leaves_no_temporary_file(tmp_path: Path, signum):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITE, str(target)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "writing\n"
        assert not no_temporary_files(tmp_path)  # the window the signal falls in
        child.send_signal(signum)
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    if signum == signal.SIGINT:
        assert child.returncode in (1, -signal.SIGINT) and "KeyboardInterrupt" in err
    else:
        assert child.returncode == -signum, err  # the signal still ends the process
    assert target.read_text() == "old\n" and no_temporary_files(tmp_path)


def test_a_signal_handler_of_the_caller_still_runs_and_nothing_is_written(tmp_path: Path,
                                                                          monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    heard = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: heard.append(signum))
    try:
        def interrupted_fsync(fd):
            os.kill(os.getpid(), signal.SIGTERM)

        monkeypatch.setattr(out_module.os, "fsync", interrupted_fsync)
        with pytest.raises(OutputError) as caught:
            out_module.write(out_module.check(target), "new\n")
        assert signal.getsignal(signal.SIGTERM) is not out_module._raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert heard == [signal.SIGTERM]
    assert caught.value.code == "output-interrupted"
    assert target.read_text() == "old\n" and no_temporary_files(tmp_path)
