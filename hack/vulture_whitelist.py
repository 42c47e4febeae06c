"""What vulture (`make lint`, configured in pyproject.toml) would call unused, and who uses it.

Each line uses a name that a framework, a library or the standard library reads or calls by that
name, so vulture, which reads this file as code, sees it used. kopf's handlers, aiohttp's routes,
pytest's fixtures and hooks and pydantic's `model_config` are left out by pyproject.toml's
ignore_decorators and ignore_names instead. Add a line only with the reason it is not dead.
"""

from typing import Any

_: Any = None

# dataclasses.asdict writes every field of AgentEntry into the agent table's JSON (api/agent_table.py)
_.numberSid
_.sipUri
# pydantic: a field of AgentRef, written by users as spec.agentRef.sipUri and read through the body
_.sip_uri
# Jinja2's sandbox reads it to route these operators to call_binop (api/templating.py)
_.intercepted_binops
# openapi-core reads the request it validates through these names (emulator/contract.py)
_.cookie
_.host_url
_.parameters
# kopf reads its settings by name (handlers/settings.py)
_.progress_storage
_.diffbase_storage
_.consistency_timeout
_.server_timeout
_.chunk_size
_.client_timeout
# aiohttp reads it when a request is made (ports/kube/adapter.py: no proxy from the environment)
_._trust_env
# kubernetes_asyncio sends the Lease's fields set on release (ports/kube/leader.py)
_.lease_duration_seconds
_.renew_time
# http.server calls and reads these by name (process/standby.py, tests' webhook and file server)
_.do_GET
_.do_POST
_.log_message
_.allow_reuse_address
_.daemon_threads
_.protocol_version
_.close_connection
# Python calls a module's __getattr__ for a name it lacks (testing/__init__.py: lazy imports)
_.__getattr__
# the context manager protocol's arguments (testing/controlplane.py: ControlPlane.__exit__)
_.exc_type
_.tb
# pytest fixtures a test asks for only for their effect (tests/unit/test_tls_buffers.py,
# tests/smoke/test_real_twilio.py)
_.shrunk
_.real_operator
# tarfile writes a member's modification time from it (testing/images.py: reproducible layers)
_.mtime
# tests/e2e/conftest.py prints the figures the e2e tier stored on pytest's config
_.e2e_figures
