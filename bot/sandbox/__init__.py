"""The training sandbox: the real bot against an embedded Bot API server, and a web page where a person plays
every role (``python -m bot sandbox``, README «Sandbox (training)»)."""
