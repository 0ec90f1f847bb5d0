"""Dagster assets (thin: the work is in `transforms`)."""

import warnings

import dagster as dg

# Beta/preview parameters used on purpose (backfill policies, partitioned checks).
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
