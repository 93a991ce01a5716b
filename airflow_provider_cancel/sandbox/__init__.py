"""Local vendor sandbox: real HTTP on 127.0.0.1 speaking the documented vendor APIs.

An independent reading of the vendor docs for demos and end-to-end tests; it
imports nothing from the provider itself (hooks, operators) nor from Airflow.
"""

from airflow_provider_cancel.sandbox.server import SandboxServer

__all__ = ["SandboxServer"]
