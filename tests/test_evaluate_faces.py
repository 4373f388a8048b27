"""evaluate_faces: where the labelled pairs come from, and an honest null without them."""

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from biometrics.engine.evaluation import PairsFileError, find_pairs_file

from .conftest import SHARED

# Two people with four photos each (enough for the 3-photo template metrics) and two
# singletons: small enough to embed in a few seconds.
PHOTOS = [f"deepface_01/{n}.jpg" for n in (1, 2, 3, 4)]
PHOTOS += [f"deepface_12/{n}.jpg" for n in (1, 2, 3, 4)]
PHOTOS += ["AJ_Cook/1.jpg", "Aaron_Peirsol/1.jpg"]


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory) -> Path:
    shared = SHARED / "faces"
    folder = tmp_path_factory.mktemp("faces")
    lines = (shared / "manifest.csv").read_text().splitlines()
    wanted = set(PHOTOS)
    rows = [line for line in lines[1:] if line.split(",", 1)[0] in wanted]
    assert len(rows) == len(PHOTOS)
    (folder / "manifest.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    for path in PHOTOS:
        (folder / path).parent.mkdir(exist_ok=True)
        shutil.copy(shared / path, folder / path)
    return folder


def _run(folder: Path, *args: str) -> tuple[dict, str]:
    out, err = folder / "eval.json", io.StringIO()
    call_command(
        "evaluate_faces", str(folder), "--json", str(out), "--cache", str(folder / "emb.npz"),
        *args, stdout=io.StringIO(), stderr=err,
    )  # fmt: skip
    return json.loads(out.read_text()), err.getvalue()


def test_a_folder_without_pairs_reports_null_and_says_why(small_folder):
    result, err = _run(small_folder)
    assert result["pairs"] == 0
    assert result["pairs_accuracy"] is None
    assert "no pairs*.csv" in result["pairs_note"] and "--pairs" in result["pairs_note"]
    assert "pairs_accuracy: null" in err
    # The other metrics are still measured.
    assert result["genuine_pairs"] > 0 and result["failure_to_acquire"] == 0


def test_pairs_named_with_the_option_are_scored(small_folder, tmp_path):
    pairs = tmp_path / "mine.csv"
    pairs.write_text(
        "path1,path2,same\n"
        "deepface_01/1.jpg,deepface_01/2.jpg,1\n"
        "deepface_12/1.jpg,deepface_12/3.jpg,1\n"
        "deepface_01/1.jpg,deepface_12/1.jpg,0\n"
        "AJ_Cook/1.jpg,Aaron_Peirsol/1.jpg,0\n"
    )
    result, err = _run(small_folder, "--pairs", str(pairs))
    assert result["pairs"] == 4 and result["pairs_file"] == str(pairs)
    assert result["pairs_accuracy"] == 1.0 and result["pairs_note"] is None and not err


def test_a_pairs_file_naming_unknown_images_is_refused(small_folder, tmp_path):
    pairs = tmp_path / "pairs_other.csv"
    pairs.write_text("path1,path2,same\nNobody/1.jpg,AJ_Cook/1.jpg,0\n")
    with pytest.raises(CommandError, match="not in the manifest"):
        _run(small_folder, "--pairs", str(pairs))
    with pytest.raises(CommandError, match="not found"):
        _run(small_folder, "--pairs", str(tmp_path / "missing.csv"))


def test_default_pairs_file_is_the_folders_pairs_csv(tmp_path, shared):
    assert find_pairs_file(shared / "faces").name == "pairs_lfw_view1_devtrain.csv"
    assert find_pairs_file(tmp_path) is None
    (tmp_path / "pairs_b.csv").write_text("path1,path2,same\n")
    assert find_pairs_file(tmp_path).name == "pairs_b.csv"
    (tmp_path / "pairs_a.csv").write_text("path1,path2,same\n")
    with pytest.raises(PairsFileError, match="several pairs files"):
        find_pairs_file(tmp_path)
