"""Experiments reproducing published results on initialisation and recurrent training.

One file per experiment (``Config``, ``QUICK``, ``FULL``, ``run(config) -> Result``);
``python -m experiments`` runs every quick variant and writes ``runs/report.md``, and
``python -m experiments --help`` tells the rest. Shared machinery lives in ``_harness``.
"""
