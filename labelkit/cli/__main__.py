"""`python -m labelkit.cli`."""

from labelkit.cli import main

main()
