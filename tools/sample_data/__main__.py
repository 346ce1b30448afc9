"""`python -m tools.sample_data`: run the sample-data command line."""

from tools.sample_data.cli import main

main()
