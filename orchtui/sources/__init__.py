"""Live sources: file followers and the OTLP/HTTP receiver. They run on their own threads and deliver span
batches to a sink (the store, or the live index in front of it)."""
