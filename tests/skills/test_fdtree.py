"""Trees through directory descriptors: a link on the way is never followed,
and a tree of any depth is removed without recursion."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sagents.skills import fdtree


def fd(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def test_open_dir_refuses_a_symlink_on_the_way(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    root = fd(tmp_path)
    try:
        with pytest.raises(OSError):
            os.close(fdtree.open_dir(root, "link/"))
        with pytest.raises(OSError):
            os.close(fdtree.open_dir(root, "link/new", create=True))
        assert not (tmp_path / "real" / "new").exists()
    finally:
        os.close(root)


def test_remove_tree_handles_any_depth_and_never_follows_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    top = tmp_path / "top"
    top.mkdir()
    fd_ = fd(top)
    try:
        for _ in range(3000):  # far past Python's recursion limit and PATH_MAX
            os.mkdir("d", dir_fd=fd_)
            os.symlink(str(outside), "link", dir_fd=fd_)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd_)
            os.close(fd_)
            fd_ = child
        os.close(fd_)
        fdtree.remove_tree(top)
        assert not top.exists()
        assert (outside / "keep.txt").read_text() == "keep"
        fdtree.remove_tree(top)  # gone already: fine
    finally:
        # Whatever happened, leave no deep tree: pytest's own clean-up of old
        # temporary folders would fail on it with RecursionError.
        subprocess.run(["rm", "-rf", str(top)], check=True)
