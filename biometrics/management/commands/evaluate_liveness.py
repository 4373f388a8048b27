"""manage.py evaluate_liveness DIR --json OUT.json [--backend NAME]: thin wrapper, see engine."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from biometrics.engine import liveness


class Command(BaseCommand):
    help = (
        "Run the server-side liveness decision (blink challenge), burst and streamed, on every "
        "live/attack clip of a folder with manifest.csv (layout of shared/video) and on "
        "hand-held photo attacks made from its stills, and report APCER/BPCER."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", type=Path)
        parser.add_argument("--json", type=Path, help="write the metrics here")
        parser.add_argument(
            "--backend",
            choices=liveness.BACKENDS,
            help="default: settings.FACEAUTH_LIVENESS_BACKEND, else the engine's default",
        )
        parser.add_argument("--challenge", choices=liveness.CHALLENGES, default="blink")
        parser.add_argument(
            "--photo-attacks",
            type=int,
            default=4,
            help="hand-held photo attacks per still (engine.attacks); 0 for none",
        )

    def handle(self, *args, **opts):
        if not (opts["dir"] / "manifest.csv").is_file():
            raise CommandError(f"{opts['dir']} has no manifest.csv")
        backend = (
            opts["backend"]
            or getattr(settings, "FACEAUTH_LIVENESS_BACKEND", None)
            or liveness.DEFAULT_BACKEND
        )
        result = liveness.evaluate_dir(
            opts["dir"],
            backend,
            challenge=opts["challenge"],
            photo_attacks=opts["photo_attacks"],
        )
        if opts["json"]:
            opts["json"].write_text(json.dumps(result, indent=2) + "\n")
        summary = {k: v for k, v in result.items() if k not in ("per_clip", "models")}
        summary["per_clip"] = [
            {k: c[k] for k in ("file", "role", "mode", "decision", "reason")}
            for c in result["per_clip"]
        ]
        self.stdout.write(json.dumps(summary, indent=2))
