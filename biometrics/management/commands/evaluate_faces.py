"""manage.py evaluate_faces DIR [--pairs FILE] --json OUT.json [--plot DET.png]: thin wrapper,
see engine."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from biometrics.engine.evaluation import PairsFileError, evaluate


class Command(BaseCommand):
    help = "Evaluate the face engine on a labelled folder (manifest.csv layout)."

    def add_arguments(self, parser):
        parser.add_argument("dir", type=Path)
        parser.add_argument(
            "--pairs",
            type=Path,
            help="labelled pairs CSV (path1,path2,same); default: the folder's pairs*.csv",
        )
        parser.add_argument("--json", type=Path, help="write the metrics here")
        parser.add_argument("--plot", type=Path, help="write the DET curve (PNG) here")
        parser.add_argument("--cache", type=Path, help="embedding cache (.npz) to reuse")

    def handle(self, *args, **opts):
        if not (opts["dir"] / "manifest.csv").is_file():
            raise CommandError(f"{opts['dir']} has no manifest.csv")
        if opts["pairs"] and not opts["pairs"].is_file():
            raise CommandError(f"pairs file not found: {opts['pairs']}")
        try:
            result = evaluate(
                opts["dir"], cache=opts["cache"], plot=opts["plot"], pairs_file=opts["pairs"]
            )
        except PairsFileError as exc:
            raise CommandError(str(exc)) from exc
        if result["pairs_note"]:
            self.stderr.write(f"pairs_accuracy: null ({result['pairs_note']})")
        text = json.dumps(result, indent=2)
        if opts["json"]:
            opts["json"].write_text(text + "\n")
        self.stdout.write(text)
