"""manage.py evaluate_faces DIR --json OUT.json [--plot DET.png]: thin wrapper, see engine."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from biometrics.engine.evaluation import evaluate


class Command(BaseCommand):
    help = "Evaluate the face engine on a labelled folder (manifest.csv layout)."

    def add_arguments(self, parser):
        parser.add_argument("dir", type=Path)
        parser.add_argument("--json", type=Path, help="write the metrics here")
        parser.add_argument("--plot", type=Path, help="write the DET curve (PNG) here")
        parser.add_argument("--cache", type=Path, help="embedding cache (.npz) to reuse")

    def handle(self, *args, **opts):
        result = evaluate(opts["dir"], cache=opts["cache"], plot=opts["plot"])
        text = json.dumps(result, indent=2)
        if opts["json"]:
            opts["json"].write_text(text + "\n")
        self.stdout.write(text)
