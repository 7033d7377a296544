"""Sources of spans behind one interface (base.py): files read once or followed, the OTLP/HTTP and OTLP/gRPC
receivers, trace stores, the demo. Each runs on its own thread and delivers span batches to a sink (the store, or
the live index in front of it); `factory.sources_for` makes them from command-line names and options."""
