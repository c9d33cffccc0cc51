"""``python -m app.suppliersim --host 127.1.0.71 --port 8100 --config suppliers.yaml``"""

from __future__ import annotations

import argparse
import sys

import uvicorn
from pydantic import ValidationError

from app.suppliersim.api import create_app
from app.suppliersim.config import SimulatorConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.suppliersim", description="Hotel supplier simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--config", required=True, help="YAML or JSON file (see app/suppliersim/config.py)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    try:
        config = SimulatorConfig.load(args.config)
    except (OSError, ValidationError, ValueError) as exc:
        print(f"suppliersim: bad config {args.config}: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
