"""The receiver's default address and request limit, in a module of their own: every command builds its argument
parser with them, and importing the receiver (asyncio, aiohttp) just to print `--help` would slow every start."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
DEFAULT_MAX_BODY = 20 * 1024 * 1024  # the collector's default; the spec recommends up to 64 MiB
DEFAULT_GRPC_PORT = 4317  # OTLP/gRPC's registered port (`--otlp-grpc`)
