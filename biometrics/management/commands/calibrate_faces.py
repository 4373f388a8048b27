"""manage.py calibrate_faces DIR: writes biometrics/engine/calibration.json."""

import json
import re
from pathlib import Path

from django.core.management.base import BaseCommand

from biometrics.engine.evaluation import calibrate
from biometrics.engine.matching import CALIBRATION_FILE


class Command(BaseCommand):
    help = "Calibrate the verify/identify thresholds on a labelled folder."

    def add_arguments(self, parser):
        parser.add_argument("dir", type=Path)
        parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
        parser.add_argument("--cache", type=Path, help="embedding cache (.npz) to reuse")
        parser.add_argument("--verify-fmr", type=float, default=None)
        parser.add_argument("--identify-fpir", type=float, default=None)

    def handle(self, *args, **opts):
        kwargs = {}
        if opts["verify_fmr"] is not None:
            kwargs["verify_target_fmr"] = opts["verify_fmr"]
        if opts["identify_fpir"] is not None:
            kwargs["identify_target_fpir"] = opts["identify_fpir"]
        result = calibrate(opts["dir"], cache=opts["cache"], **kwargs)
        text = json.dumps(result, indent=1)
        # One line per number list keeps the committed file readable and diffable.
        text = re.sub(
            r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m[1].split()) + "]", text
        )
        opts["out"].write_text(text + "\n")
        self.stdout.write(f"{result['empirical_thresholds']} -> {opts['out']}")
