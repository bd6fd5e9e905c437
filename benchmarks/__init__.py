"""Benchmarks of spacesync against s5cmd, rclone and the aws CLI on a local SeaweedFS.

Run with ``scripts/bench`` (or ``python -m benchmarks``); see ``benchmarks/README.md``.
"""
