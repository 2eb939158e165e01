"""``python -m tongxing`` runs the CLI."""

from tongxing.cli import main

main()
