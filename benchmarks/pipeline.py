"""Per-image pipeline latency: FaceAuth verify path vs the face_recognition 1.3 defaults.

The reference is reproduced with the same dlib calls face_recognition makes: PIL decode,
HOG ``detector(img, 1)`` on the full image, 5-point shape, ``compute_face_descriptor(img,
shape, 1)`` for every face. Both run in the same process on the same images, interleaved.
FaceAuth computes the descriptor with the NumPy port of the same ResNet (engine/resnet.py);
dlib's own forward pass on the same chips is timed beside it as ``dlib_descriptor_ms``.

Usage: python benchmarks/pipeline.py [--shared DIR] [--json OUT] [--frames-per-clip N]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from biometrics.engine import EngineError, extract, verify  # noqa: E402
from biometrics.engine import weights as m  # noqa: E402


def reference_pipeline(data: bytes) -> list[np.ndarray]:
    img = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    out = []
    for rect in m.detector()(img, 1):
        shape = m.shape_predictor_5()(img, rect)
        out.append(np.array(m.face_encoder().compute_face_descriptor(img, shape, 1)))
    return out


def video_frames(video_dir: Path, per_clip: int) -> list[tuple[str, bytes]]:
    frames = []
    for clip in sorted(video_dir.glob("*.mp4")):
        cap = cv2.VideoCapture(str(clip))
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 90
        step = max(1, total // per_clip)
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if i % step == 0:
                ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
                frames.append((clip.stem, buf.tobytes()))
            i += 1
        cap.release()
    return frames


def enrolled_templates(video_dir: Path) -> dict[str, np.ndarray]:
    out = {}
    for still in sorted(video_dir.glob("person_*_still.jpg")):
        person = still.stem.removesuffix("_still")
        out[person] = extract(still.read_bytes(), purpose="enrol").embedding[None, :]
    return out


def run(images: list[tuple[str, bytes]], templates: dict[str, np.ndarray]) -> dict:
    ours, ref, desc, calls, dlib_desc = [], [], [], [], []
    stages: dict[str, list[float]] = {}
    for key, data in images:
        t = time.perf_counter()
        reference_pipeline(data)
        ref.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        try:
            probe = extract(data, purpose="verify", check_quality=False)
            person = next((p for p in templates if key.startswith(p)), None)
            if person is not None:  # a claimed identity: the frame's own person
                verify(probe, templates[person])
            calls.append(probe.descriptor_calls)
            desc.append(probe.timings["descriptor"] / probe.descriptor_calls)
            for stage in ("decode", "detect", "quality", "chip"):
                stages.setdefault(stage, []).append(probe.timings.get(stage, 0.0))
        except EngineError:
            calls.append(0)
        ours.append((time.perf_counter() - t) * 1000)
        if calls[-1]:
            t = time.perf_counter()
            m.face_encoder().compute_face_descriptor(probe.chip, 0)
            dlib_desc.append((time.perf_counter() - t) * 1000)
    faceauth, reference = float(np.median(ours)), float(np.median(ref))
    return {
        "faceauth_ms": round(faceauth, 2),
        "reference_ms": round(reference, 2),
        "ratio": round(reference / faceauth, 3),
        "descriptor_ms": round(float(np.median(desc)), 2) if desc else None,
        "descriptor_calls": round(float(np.mean(calls)), 3),
        "dlib_descriptor_ms": round(float(np.median(dlib_desc)), 2) if dlib_desc else None,
        "non_descriptor_ms": round(faceauth - float(np.median(desc)) * float(np.mean(calls)), 2)
        if desc
        else None,
        "images": len(images),
        # median ms of each non-descriptor stage (quality includes the 5-point landmarks)
        "stages_ms": {k: round(float(np.median(v)), 2) for k, v in stages.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--frames-per-clip", type=int, default=30)
    ap.add_argument("--lfw", type=int, default=40, help="number of LFW images")
    args = ap.parse_args()
    # Load the models before timing anything.
    m.detector(), m.shape_predictor_5(), m.face_encoder(), m.face_descriptor()
    templates = enrolled_templates(args.shared / "video")
    lfw = sorted((args.shared / "faces").glob("[A-Z]*/*.jpg"))[: args.lfw]
    lfw_images = [(p.parent.name, p.read_bytes()) for p in lfw]
    frames = video_frames(args.shared / "video", args.frames_per_clip)
    results = {}
    for name, images in (("lfw_250x250", lfw_images), ("frames_640x480", frames)):
        r = run(images, templates)
        results[name] = r
        print(
            f"{name}: FaceAuth {r['faceauth_ms']:.1f} ms, reference {r['reference_ms']:.1f} ms, "
            f"ratio {r['ratio']:.2f}x, bare descriptor {r['descriptor_ms']} ms "
            f"(dlib's own {r['dlib_descriptor_ms']} ms), "
            f"descriptor calls/image {r['descriptor_calls']}, n={r['images']}; "
            f"other stages {r['stages_ms']}"
        )
    if args.json:
        f = results["frames_640x480"]
        keys = ("faceauth_ms", "reference_ms", "ratio", "descriptor_ms", "descriptor_calls")
        keys += ("dlib_descriptor_ms", "non_descriptor_ms")
        args.json.write_text(json.dumps({k: f[k] for k in keys} | {"detail": results}, indent=2))


if __name__ == "__main__":
    main()
