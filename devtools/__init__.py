"""Development helpers that tests, benchmarks and deploy scripts share: child processes (a free
port, waiting until ready, stopping a process group), a real server and a real Prometheus on
127.0.0.1, and reading a data directory's stored traces. Not part of the distribution."""
