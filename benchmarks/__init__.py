"""On-demand benchmarks (never part of the test suite); see README.md. ``python -m benchmarks`` runs them all."""
